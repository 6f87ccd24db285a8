"""Batch jobs: encode or decode whole folders with parallel workers, resumably.

Every input gets one output under the output folder (same relative path, new
extension). Inputs whose outputs would collide (``photo.png`` and ``photo.jpg``) keep
their extension in the output name (``photo.png.lic``, ``photo.jpg.lic``); this is
decided before any coding. An output that already exists is kept when it is complete
and was made with the same settings (a ``.lic`` whose checksums pass, made by the same
model and weights at the same quality, or within the ``bpp`` target; an image Pillow
can read), so an interrupted job can simply be run again; ``force`` recodes every file.
A failing input is reported and never stops the others.

:func:`process_file` is the per-file job: (input, output, settings) -> :class:`FileOutcome`.
Stopping a parallel run (an exception or a signal in the caller) terminates and joins
the worker processes; each removes its temporary file on the way out.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from lic.codec.job_processes import starting_processes
from lic.errors import LicError
from lic.format.container import read_image_stream
from lic.io import cleanup
from lic.io.imageio import IMAGE_SUFFIXES
from lic.limits import set_pixel_limit


@dataclass(frozen=True)
class BatchJob:
    """What every file of a batch is coded with (``force``: recode outputs that already exist)."""

    mode: str  # "encode" or "decode"
    model: str
    weights: Path | None
    quality: float | None
    bpp: float | None
    device: str = "cpu"
    refine: int = 0
    pixel_limit: int | None = None
    force: bool = False
    tile_size: int | None = None


@dataclass(frozen=True)
class FileOutcome:
    """What became of one input: ``done``, ``skipped`` (a matching output existed) or ``failed``."""

    source: Path
    status: str
    bytes_in: int = 0
    bytes_out: int = 0
    pixels: int = 0
    error: str = ""


@dataclass
class BatchSummary:
    """Totals of a batch run."""

    done: int = 0
    skipped: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    pixels: int = 0
    failed: list[tuple[Path, str]] = field(default_factory=list)

    def add(self, outcome: FileOutcome) -> None:
        """Counts one file."""
        if outcome.status == "failed":
            self.failed.append((outcome.source, outcome.error))
        elif outcome.status == "skipped":
            self.skipped += 1
        else:
            self.done += 1
            self.bytes_in += outcome.bytes_in
            self.bytes_out += outcome.bytes_out
            self.pixels += outcome.pixels


def plan(source: Path, target: Path, mode: str) -> list[tuple[Path, Path]]:
    """``(input, output)`` pairs for every image (encode) or ``.lic`` (decode) below ``source``.

    Inputs that would share an output keep their extension in its name; raises
    :class:`LicError` if outputs still collide.
    """
    suffixes = IMAGE_SUFFIXES if mode == "encode" else {".lic"}
    new_suffix = ".lic" if mode == "encode" else ".png"
    inputs = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
    outputs = [(target / p.relative_to(source)).with_suffix(new_suffix) for p in inputs]
    shared = Counter(outputs)
    pairs = [(p, o if shared[o] == 1 else o.with_name(p.name + new_suffix)) for p, o in zip(inputs, outputs)]
    still = [o for o, n in Counter(o for _, o in pairs).items() if n > 1]
    if still:
        raise LicError(f"several inputs would be written to {still[0]}; rename them")
    return pairs


def renamed(pairs: list[tuple[Path, Path]]) -> list[tuple[Path, Path]]:
    """The pairs whose output keeps the input's extension (to avoid a collision)."""
    return [(s, t) for s, t in pairs if t.stem == s.name]


_WORKER_MODEL = None
_WORKER_ERROR: str | None = None


def _init_worker(job: BatchJob) -> None:
    global _WORKER_MODEL
    set_pixel_limit(job.pixel_limit)
    if job.mode == "encode":
        from lic.models.weights import load_model

        _WORKER_MODEL = load_model(job.model, job.weights, job.device)


def _model_for(job: BatchJob, data: bytes | None):  # noqa: ANN202
    global _WORKER_MODEL
    if job.mode == "decode":
        from lic.format.container import read_image_header
        from lic.models.weights import load_model

        name = read_image_header(data).model
        if _WORKER_MODEL is None or _WORKER_MODEL.name != name:
            _WORKER_MODEL = load_model(name, job.weights, job.device)
    return _WORKER_MODEL


def output_is_current(job: BatchJob, target: Path) -> bool:
    """True for an existing, complete output made with ``job``'s settings (so a resumed run keeps it)."""
    if not target.is_file():
        return False
    try:
        if job.mode == "decode":
            with Image.open(target) as image:
                image.load()
            return True
        data = target.read_bytes()
        header, _ = read_image_stream(data)
    except (LicError, OSError, SyntaxError, ValueError):
        return False
    from lic.codec.pictures import check_quality

    model = _model_for(job, None)
    if (header.model, header.digest) != (model.name, model.digest):
        return False
    if job.bpp is not None:
        return len(data) * 8 / (header.width * header.height) <= job.bpp
    try:
        return header.quality == check_quality(model, model.default_quality if job.quality is None else job.quality)
    except LicError:
        return False


def code_one(job: BatchJob, source: Path, target: Path) -> tuple[int, int, int]:
    """Codes one file; returns ``(bytes in, bytes out, pixels)``. Raises on failure."""
    from lic.codec.image import decode_image, encode_image_at
    from lic.codec.refine import RefineConfig
    from lic.io.imageio import read_image, write_bytes_atomic, write_image

    target.parent.mkdir(parents=True, exist_ok=True)
    if job.mode == "encode":
        pixels, _ = read_image(source)
        model = _model_for(job, None)
        encoded = encode_image_at(pixels, model, job.quality, job.bpp, RefineConfig(job.refine), job.tile_size)
        write_bytes_atomic(target, encoded.data, force=True)
        return source.stat().st_size, len(encoded.data), pixels.shape[0] * pixels.shape[1]
    data = source.read_bytes()
    pixels, header = decode_image(data, _model_for(job, data))
    write_image(target, pixels, force=True)
    return len(data), target.stat().st_size, header.width * header.height


def process_file(job: BatchJob, source: Path, target: Path) -> FileOutcome:
    """The per-file job: keeps a current output (unless ``job.force``), else codes; never raises for a bad file."""
    try:
        if not job.force and output_is_current(job, target):
            return FileOutcome(source, "skipped")
        return FileOutcome(source, "done", *code_one(job, source, target))
    except Exception as exc:  # noqa: BLE001 - reported per file, the batch goes on
        return FileOutcome(source, "failed", error=_reason(exc))


def _reason(exc: Exception) -> str:
    return str(exc) if isinstance(exc, LicError) else f"{type(exc).__name__}: {exc}"


def _init_worker_process(job: BatchJob) -> None:
    """A pool worker: the parent alone decides on Ctrl-C; SIGTERM/SIGHUP remove the temporary file and exit."""
    global _WORKER_ERROR
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for stop in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, _exit_cleanly)
    try:
        _init_worker(job)
    except Exception as exc:  # noqa: BLE001 - reported with every file (a pool restarts a worker whose start fails)
        _WORKER_ERROR = _reason(exc)


def _exit_cleanly(signum: int, frame: object) -> None:
    cleanup.remove_all()
    os._exit(128 + signum)


def _process_task(task: tuple[BatchJob, Path, Path]) -> FileOutcome:
    if _WORKER_ERROR is not None:
        return FileOutcome(task[1], "failed", error=_WORKER_ERROR)
    return process_file(*task)


_WORKER_JOB: BatchJob | None = None


def process_in_worker(job: BatchJob, source: Path, target: Path, digest: bytes | None = None) -> FileOutcome:
    """:func:`process_file` in a long-lived worker process that serves whatever jobs it is sent (a Ray worker).

    The job's model is loaded on the first file and kept for the next ones. With
    ``digest`` (encoding), a worker whose weights have another digest refuses every
    file instead of writing streams the job did not ask for.
    """
    global _WORKER_JOB
    try:
        if _WORKER_JOB != job:
            _init_worker(job)
            _WORKER_JOB = job
        if digest is not None and job.mode == "encode":
            from lic.models.weights import check_digest

            check_digest(_WORKER_MODEL, digest)
    except Exception as exc:  # noqa: BLE001 - reported per file, like a coding failure
        return FileOutcome(source, "failed", error=_reason(exc))
    return process_file(job, source, target)


def run_batch(job: BatchJob, pairs: list[tuple[Path, Path]], workers: int,
              progress: Callable[[int], None] = lambda n: None) -> BatchSummary:
    """Processes every pair with ``workers`` processes; ``progress(1)`` per file."""
    summary = BatchSummary()
    if workers <= 1 or len(pairs) <= 1:
        _init_worker(job)
        for source, target in pairs:
            summary.add(process_file(job, source, target))
            progress(1)
        return summary
    pool = None
    try:
        with starting_processes():  # a stop while the workers start is put off until the pool is known
            # "spawn": forking a process that already runs torch's thread pools can deadlock.
            pool = multiprocessing.get_context("spawn").Pool(workers, initializer=_init_worker_process,
                                                            initargs=(job,))
        for outcome in pool.imap_unordered(_process_task, [(job, s, t) for s, t in pairs]):
            summary.add(outcome)
            progress(1)
        pool.close()
    except BaseException:
        if pool is not None:
            pool.terminate()  # SIGTERM to every worker: each drops its in-flight file and exits
        raise
    finally:
        if pool is not None:
            pool.join()
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
