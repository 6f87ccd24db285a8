"""``lic encode|decode DIR -o OUT --ray``: the batch job of :mod:`lic.io.batch`, one Ray task per file.

The guarantees are the local batch's, because the work per file is the same function
(:func:`lic.io.batch.process_file`, through :func:`~lic.io.batch.process_in_worker`):
outputs that exist, are complete and were made with the same settings are kept,
each output is written to a temporary file beside it and renamed, a failing file is
reported with its reason while the others go on. Every worker process loads the model
once and keeps it; when encoding, each task carries the digest of the driver's weights
and a worker whose weights differ refuses. A task whose worker dies is run again by Ray
(up to :data:`RETRIES` times); past that the file is listed as failed and a re-run
codes it.

Inputs and outputs are paths, read and written by the workers: on a cluster the folders
must be on storage that every node mounts at the same path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from lic.distributed.runtime import absolute, cluster_cpus, import_ray, run_tasks, task_failure
from lic.io.batch import BatchJob, BatchSummary, FileOutcome, process_in_worker

RETRIES = 3
"""Times Ray runs a file's task again after its worker process died."""


def run_batch_on_ray(job: BatchJob, pairs: list[tuple[Path, Path]], digest: bytes | None = None,
                     progress: Callable[[int], None] = lambda n: None) -> BatchSummary:
    """Processes every pair as a Ray task on the connected runtime; ``progress(1)`` per file.

    ``digest``: when encoding, the weights digest every worker's model must have.
    """
    ray = import_ray()
    summary = BatchSummary()
    job = replace(job, weights=absolute(job.weights))  # workers do not run in the driver's folder
    task = ray.remote(process_in_worker).options(num_cpus=1, num_gpus=1 if job.device.startswith("cuda") else 0,
                                                 max_retries=RETRIES, retry_exceptions=False)

    def submit(pair: tuple[Path, Path]):  # noqa: ANN202 - a Ray object reference
        source, target = pair
        return task.remote(job, source.absolute(), target.absolute(), digest)

    def done(pair: tuple[Path, Path], result: FileOutcome | BaseException) -> None:
        source = pair[0]
        if isinstance(result, BaseException):
            result = FileOutcome(source, "failed", error=task_failure(result))
        summary.add(replace(result, source=source, error=result.error.replace(str(source.absolute()), str(source))))
        progress(1)

    run_tasks(pairs, submit, done, in_flight=4 * cluster_cpus())
    return summary
