"""Batch jobs: encode or decode whole folders with parallel workers, resumably.

Every input gets one output under the output folder (same relative path, new
extension). An output that already exists and is valid (a ``.lic`` whose checksums
pass, an image Pillow can read) is skipped, so an interrupted job can simply be run
again. A failing input is reported and never stops the others.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from lic.codec.container import read_image_stream
from lic.errors import LicError
from lic.codec.imageio import IMAGE_SUFFIXES, set_pixel_limit


@dataclass(frozen=True)
class BatchJob:
    """What every file of a batch is coded with."""

    mode: str  # "encode" or "decode"
    model: str
    weights: Path | None
    quality: float | None
    bpp: float | None
    device: str = "cpu"
    refine: int = 0
    pixel_limit: int | None = None


@dataclass
class BatchSummary:
    """Totals of a batch run."""

    done: int = 0
    skipped: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    pixels: int = 0
    failed: list[tuple[Path, str]] = field(default_factory=list)



def plan(source: Path, target: Path, mode: str) -> list[tuple[Path, Path]]:
    """``(input, output)`` pairs for every image (encode) or ``.lic`` (decode) below ``source``."""
    suffixes = IMAGE_SUFFIXES if mode == "encode" else {".lic"}
    new_suffix = ".lic" if mode == "encode" else ".png"
    inputs = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
    return [(p, (target / p.relative_to(source)).with_suffix(new_suffix)) for p in inputs]


def output_is_valid(path: Path, mode: str) -> bool:
    """True for an existing, complete output (so a resumed run skips it)."""
    if not path.is_file():
        return False
    try:
        if mode == "encode":
            read_image_stream(path.read_bytes())
        else:
            with Image.open(path) as image:
                image.load()
        return True
    except (LicError, OSError, SyntaxError, ValueError):
        return False


_WORKER_MODEL = None


def _init_worker(job: BatchJob) -> None:
    global _WORKER_MODEL
    set_pixel_limit(job.pixel_limit)
    if job.mode == "encode":
        from lic.models.weights import load_model

        _WORKER_MODEL = load_model(job.model, job.weights, job.device)


def _model_for(job: BatchJob, data: bytes | None):  # noqa: ANN202
    global _WORKER_MODEL
    if job.mode == "decode":
        from lic.codec.container import read_image_header
        from lic.models.weights import load_model

        name = read_image_header(data).model
        if _WORKER_MODEL is None or _WORKER_MODEL.name != name:
            _WORKER_MODEL = load_model(name, job.weights, job.device)
    return _WORKER_MODEL


def code_one(job: BatchJob, source: Path, target: Path) -> tuple[int, int, int]:
    """Codes one file; returns ``(bytes in, bytes out, pixels)``. Raises on failure."""
    from lic.codec.image import decode_image, encode_image_at
    from lic.codec.refine import RefineConfig
    from lic.codec.imageio import read_image, write_bytes_atomic, write_image

    target.parent.mkdir(parents=True, exist_ok=True)
    if job.mode == "encode":
        pixels, _ = read_image(source)
        model = _model_for(job, None)
        encoded = encode_image_at(pixels, model, job.quality, job.bpp, RefineConfig(job.refine))
        write_bytes_atomic(target, encoded.data, force=True)
        return source.stat().st_size, len(encoded.data), pixels.shape[0] * pixels.shape[1]
    data = source.read_bytes()
    pixels, header = decode_image(data, _model_for(job, data))
    write_image(target, pixels, force=True)
    return len(data), target.stat().st_size, header.width * header.height


def _safe_code_one(job: BatchJob, source: Path, target: Path) -> tuple[int, int, int] | str:
    try:
        return code_one(job, source, target)
    except LicError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - reported per file, the batch goes on
        return f"{type(exc).__name__}: {exc}"


def run_batch(job: BatchJob, pairs: list[tuple[Path, Path]], workers: int,
              progress: Callable[[int], None] = lambda n: None) -> BatchSummary:
    """Codes every pair not already done, with ``workers`` processes; ``progress(1)`` per file."""
    summary = BatchSummary()
    todo = []
    for source, target in pairs:
        if output_is_valid(target, job.mode):
            summary.skipped += 1
            progress(1)
        else:
            todo.append((source, target))

    def record(source: Path, outcome: tuple[int, int, int] | str) -> None:
        if isinstance(outcome, str):
            summary.failed.append((source, outcome))
        else:
            summary.done += 1
            summary.bytes_in += outcome[0]
            summary.bytes_out += outcome[1]
            summary.pixels += outcome[2]
        progress(1)

    if workers <= 1 or len(todo) <= 1:
        _init_worker(job)
        for source, target in todo:
            record(source, _safe_code_one(job, source, target))
        return summary
    # "spawn": forking a process that already runs torch's thread pools can deadlock.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(job,)) as pool:
        futures = {pool.submit(_safe_code_one, job, s, t): s for s, t in todo}
        for future in as_completed(futures):
            record(futures[future], future.result())
    return summary


def print_summary(summary: BatchSummary, mode: str) -> None:
    """Totals on stdout (mean bpp of the files written, when encoding); one line per failure on stderr."""
    total = summary.done + summary.skipped + len(summary.failed)
    rate = f", mean {summary.bytes_out * 8 / summary.pixels:.4f} bpp" if mode == "encode" and summary.pixels else ""
    print(f"{total} files: {summary.done} {mode}d, {summary.skipped} already done, {len(summary.failed)} failed; "
          f"{summary.bytes_in:,} bytes in, {summary.bytes_out:,} bytes out{rate}")
    for path, reason in summary.failed:
        where = "" if reason.startswith(str(path)) else f"{path}: "
        print(f"lic: failed: {where}{reason}", file=sys.stderr)
