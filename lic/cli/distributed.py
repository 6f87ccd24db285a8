"""``--ray [ADDRESS]`` of ``lic encode``, ``lic decode`` and ``lic eval``: the same jobs as Ray tasks."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from lic.cli.common import whole_number
from lic.errors import LicError

if TYPE_CHECKING:
    from lic.io.batch import BatchJob, BatchSummary

BatchRunner = Callable[[list[tuple[Path, Path]], Callable[[int], None]], "BatchSummary"]

RAY_WORKERS = "with --ray and no ADDRESS, the CPUs of the local Ray runtime (default: all cores)"


def ray_option(parser: argparse.ArgumentParser, workers_help: str) -> None:
    """``--ray [ADDRESS]`` and ``-j/--workers N`` (``workers_help`` says what N means without Ray)."""
    parser.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                        help="run as Ray tasks (pip install 'lic[ray]'): without ADDRESS on a local Ray runtime, "
                             "with 'auto' or HOST:PORT on a running cluster (see docs/distributed.md); "
                             "put it after the inputs")
    parser.add_argument("-j", "--workers", type=whole_number(1, 256), default=None,
                        help=f"{workers_help}; {RAY_WORKERS}")


def check_ray_input(args: argparse.Namespace, folder: bool) -> None:
    """Before any work: refuses ``--ray`` for anything but a folder input, or when Ray is not installed."""
    if args.ray is None:
        return
    if not folder:
        raise LicError("--ray is for folder inputs (a folder of images, or of .lic files to decode)")
    from lic.distributed.runtime import import_ray

    import_ray()


@contextmanager
def batch_runner(job: BatchJob, workers: int | None, address: str | None) -> Iterator[BatchRunner]:
    """Codes a batch locally with ``workers`` processes (``address`` ``None``) or as Ray tasks."""
    from lic.io.batch import run_batch

    if address is None:
        yield lambda pairs, progress: run_batch(job, pairs, workers or 1, progress)
        return
    from lic.distributed.folders import run_batch_on_ray
    from lic.distributed.runtime import ray_session

    with ray_session(address, workers):
        digest = None
        if job.mode == "encode":
            from lic.models.weights import load_model

            digest = load_model(job.model, job.weights, "cpu").digest
        yield lambda pairs, progress: run_batch_on_ray(job, pairs, digest, progress)


def eval_on_ray(args: argparse.Namespace, model, images: list[Path], qualities: list[float],  # noqa: ANN001,ANN201
                fit=None, name: str | None = None):  # noqa: ANN001
    """``lic eval --ray``: the RD results of ``model`` (the driver's copy), one bar over the points.

    ``fit`` (a :class:`~lic.codec.overfit_fit.FitConfig`) codes each point with the overfit mode.
    """
    from tqdm import tqdm

    from lic.codec.refine import RefineConfig
    from lic.distributed.rd import evaluate_on_ray
    from lic.distributed.runtime import ray_session

    with ray_session(args.ray, args.workers), \
            tqdm(total=len(images) * len(qualities), unit="point", desc="eval", file=sys.stderr) as bar:
        return evaluate_on_ray(model, args.weights, args.device, images, qualities,
                               progress=lambda line: bar.write(line, file=sys.stdout), advance=bar.update,
                               refine=RefineConfig(args.refine), fit=fit, name=name)
