"""``lic eval ... --ray``: RD points with one Ray task per (image, quality).

Each task runs :func:`lic.eval.rd.measure_image` (the single-machine measurement) in a
worker that loads the model once, checks its weights digest against the driver's, and
codes through a file in its own temporary folder. The driver averages the measurements
per quality in the same order as :func:`lic.eval.rd.evaluate`, so the results file has
the same content; the times and peak memory are those of the workers.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from lic.codec.refine import RefineConfig
from lic.distributed.runtime import absolute, cluster_cpus, import_ray, run_tasks, task_failure
from lic.errors import LicError
from lic.eval.points import ImageMeasurement, RDTable
from lic.eval.results import RDResults
from lic.models.weights import LoadedModel

if TYPE_CHECKING:
    from lic.codec.overfit_fit import FitConfig

Point = tuple[int, int]
"""(quality index, image index)."""

_MODELS: dict[tuple[str, str, str], LoadedModel] = {}


def _worker_model(name: str, weights: Path | None, device: str, digest: bytes) -> LoadedModel:
    """The model of this worker process, loaded on first use, refused unless its digest is ``digest``."""
    from lic.models.weights import check_digest, load_model

    key = (name, str(weights or ""), device)
    if key not in _MODELS:
        _MODELS[key] = load_model(name, weights, device)
    check_digest(_MODELS[key], digest)
    return _MODELS[key]


def _measure(name: str, weights: Path | None, device: str, digest: bytes, path: Path, quality: float,
             refine: RefineConfig | None, fit: FitConfig | None) -> tuple[ImageMeasurement, str] | str:
    """One point, in a worker: the measurement and the worker's machine, or the reason it failed.

    With ``fit``, the image is coded by the overfit mode's fit (``model`` is the overfit codec).
    """
    from lic.codec.overfit import encode_overfit
    from lic.eval.rd import device_of, measure_image
    from lic.hardware import machine_description

    try:
        model = _worker_model(name, weights, device, digest)
        encoder = None if fit is None else (lambda pixels, q: encode_overfit(pixels, model, q, fit))
        with tempfile.TemporaryDirectory(prefix="lic-eval-") as tmp:
            measurement = measure_image(model, path, quality, Path(tmp), refine, encoder)
        return measurement, machine_description(device_of(model))
    except LicError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - sent back to the driver as one line
        return f"{type(exc).__name__}: {exc}"


def evaluate_on_ray(model: LoadedModel, weights: Path | None, device: str, images: list[Path],
                    qualities: list[float], progress: Callable[[str], None] = lambda line: None,
                    advance: Callable[[int], None] = lambda n: None,
                    refine: RefineConfig | None = None, fit: FitConfig | None = None,
                    name: str | None = None) -> RDResults:
    """:func:`lic.eval.rd.evaluate` as Ray tasks on the connected runtime.

    ``model`` is the driver's copy (its name and digest define the job; the workers load
    ``weights`` on ``device`` and must reach the same digest). ``fit`` codes every point with
    the overfit mode (one fit per task, each on one CPU); ``name`` names the results. ``progress`` gets each
    quality's summary line, in quality order, as soon as its points are in; ``advance(1)``
    is called per point. The first failing point stops the evaluation with its reason.
    """
    from lic.eval.rd import rd_results

    ray = import_ray()
    if not images:
        raise LicError("no images to evaluate")
    task = ray.remote(_measure).options(num_cpus=1, num_gpus=1 if device.startswith("cuda") else 0)
    measurements: dict[Point, ImageMeasurement] = {}
    machines: set[str] = set()
    table = RDTable()

    def submit(point: Point):  # noqa: ANN202 - a Ray object reference
        q, i = point
        return task.remote(model.name, absolute(weights), device, model.digest, images[i].absolute(), qualities[q],
                           refine, fit)

    def done(point: Point, result: tuple[ImageMeasurement, str] | str | BaseException) -> None:
        if isinstance(result, BaseException):
            result = f"{images[point[1]]}: {task_failure(result)}"
        if isinstance(result, str):  # stops the evaluation (run_tasks cancels the other points)
            raise LicError(result.replace(str(images[point[1]].absolute()), str(images[point[1]])))
        measurements[point], machine = result
        machines.add(machine)
        advance(1)
        while len(table.results["bpp"]) < len(qualities):  # report finished qualities, in order
            q = len(table.results["bpp"])
            if any((q, i) not in measurements for i in range(len(images))):
                break
            progress(table.add(qualities[q], [measurements[q, i] for i in range(len(images))],
                               [path.name for path in images]))

    points = [(q, i) for q in range(len(qualities)) for i in range(len(images))]
    run_tasks(points, submit, done, in_flight=4 * cluster_cpus())
    return rd_results(model, len(images), table, refine, "; ".join(sorted(machines)), name)
