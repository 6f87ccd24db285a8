"""Reading and writing video through PyAV: files (mp4, mkv, mov, webm, y4m, avi) and
folders of PNG frames, as RGB uint8 frames."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from lic.codec.video_info import VideoInfo
from lic.errors import LicError, UnsupportedInputError
from lic.format.header import ColourFormat
from lic.io import cleanup
from lic.io.imageio import read_image
from lic.io.output import OutputFile, is_stdio
from lic.limits import check_size

VIDEO_SUFFIXES = {".mp4", ".mkv", ".mov", ".webm", ".y4m", ".avi", ".m4v"}
"""File extensions read as video."""
OUTPUT_SUFFIXES = {".y4m", ".mkv", ".mp4"}
DEFAULT_FPS = Fraction(25)


def is_video_path(path: Path) -> bool:
    """True for a file lic reads as video (by extension)."""
    return path.suffix.lower() in VIDEO_SUFFIXES


def _frame_files(folder: Path) -> list[Path]:
    frames = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".png")
    if not frames:
        raise UnsupportedInputError(f"{folder}: no PNG frames")
    return frames


def open_video(path: Path, fps: Fraction | None = None) -> tuple[VideoInfo, Iterator[np.ndarray]]:
    """The clip's size and rate, and an iterator over its frames (``HxWx3`` RGB uint8).

    ``path`` is a video file or a folder of PNG frames (sorted by name; ``fps``
    defaults to 25 there). A variable frame rate is reported in ``VideoInfo`` and
    coded at the clip's average rate.
    """
    path = Path(path)
    if not path.exists():
        raise LicError(f"{path}: no such file or directory")
    if path.is_dir():
        files = _frame_files(path)
        with Image.open(files[0]) as first:
            width, height = first.size
        check_size(width, height)

        def frames() -> Iterator[np.ndarray]:
            for file in files:
                pixels, colour = read_image(file)  # transparency and 16-bit samples refused, as for stills
                if colour == ColourFormat.GRAY:
                    pixels = np.repeat(pixels[:, :, None], 3, axis=2)
                if pixels.shape[:2] != (height, width):
                    raise UnsupportedInputError(f"{file.name}: frame size differs from the first frame")
                yield pixels

        return VideoInfo(width, height, fps or DEFAULT_FPS), frames()
    import av

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise UnsupportedInputError(f"{path}: not a readable video ({exc.__class__.__name__})") from None
    if not container.streams.video:
        container.close()
        raise UnsupportedInputError(f"{path}: no video stream")
    stream = container.streams.video[0]
    width, height = stream.codec_context.width, stream.codec_context.height
    try:
        check_size(width, height)
    except UnsupportedInputError:
        container.close()
        raise
    rate = fps or stream.average_rate or stream.guessed_rate or DEFAULT_FPS
    variable = bool(stream.average_rate and stream.guessed_rate and stream.average_rate != stream.guessed_rate)
    if not variable and container.format.name.startswith(("matroska", "webm")):
        measured = _measured_variable_rate(path)  # Matroska states a rate its timestamps need not keep
        if measured is not None:
            variable, rate = True, fps or measured

    def decoded() -> Iterator[np.ndarray]:
        try:
            for frame in container.decode(stream):
                yield frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as exc:
            raise UnsupportedInputError(f"{path}: damaged video ({exc.__class__.__name__})") from None
        finally:
            container.close()

    return VideoInfo(width, height, Fraction(rate), variable), decoded()


def _measured_variable_rate(path: Path) -> Fraction | None:
    """The average rate of a clip whose frame timestamps are unevenly spaced (``None`` if even).

    Reads the packets' timestamps only (no decoding). Steps may differ by one tick (a
    millisecond time base rounds 29.97 fps to 33 and 34 ms) and still count as even.
    """
    import av

    try:
        with av.open(str(path)) as probe:
            stream = probe.streams.video[0]
            stamps = sorted(p.pts for p in probe.demux(stream) if p.pts is not None)
            time_base = stream.time_base
    except av.error.FFmpegError:
        return None  # the decoding pass reports the damage
    steps = [b - a for a, b in zip(stamps, stamps[1:])]
    if len(steps) < 2 or max(steps) - min(steps) <= 1 or time_base is None:
        return None
    return (Fraction(len(steps)) / ((stamps[-1] - stamps[0]) * time_base)).limit_denominator(1001)


FRAME_NAME = re.compile(r"^[0-9]{6,}\.png$")
"""The names of the frame files lic writes into a folder: ``000000.png``, ``000001.png``, ..."""


class FrameWriter:
    """Writes RGB frames to a video file, standard output or a folder of PNG frames, completely or not at all.

    * ``.y4m`` (and ``-``, standard output): raw YUV 4:2:0 (4:4:4 for odd sizes), BT.601 limited range;
    * ``.mkv``: FFV1, lossless RGB (bit-exact frames);
    * ``.mp4``: H.264 (libx264, CRF 12), for viewing;
    * a path without extension: a folder of PNG frames ``000000.png, ...`` (bit-exact).

    A file goes through :class:`OutputFile` (temporary file renamed into place on
    :meth:`close`). Frames for a folder are written into a fresh hidden temporary
    folder; :meth:`close` renames it into place, or, for an existing folder, moves the
    frame files into it and removes the frame files of an earlier, longer video. An
    existing folder must be empty or (with ``force``) hold nothing but lic's frame
    files: a folder with any other entry is refused, so no file lic did not write is
    ever touched. :meth:`abort` drops everything written.
    """

    def __init__(self, path: str | Path, info: VideoInfo, force: bool = False) -> None:
        self.path = Path(path)
        self.info = info
        self.count = 0
        suffix = ".y4m" if is_stdio(path) else self.path.suffix.lower()
        if suffix and suffix not in OUTPUT_SUFFIXES:
            raise LicError(f"{self.path}: unsupported video output (use .y4m, .mkv, .mp4 or a folder name)")
        self.folder = not suffix
        if self.folder:
            self._prepare_folder(force)
            return
        import av

        self.output = OutputFile(path, force, suffix)
        format_name = {".y4m": "yuv4mpegpipe", ".mkv": "matroska", ".mp4": "mp4"}[suffix]
        self.container = av.open(self.output.open(), "w", format=format_name)
        odd = info.width % 2 or info.height % 2
        if suffix == ".y4m":
            self.stream = self.container.add_stream("rawvideo", rate=info.fps)
            self.stream.pix_fmt = "yuv444p" if odd else "yuv420p"
        elif suffix == ".mkv":
            self.stream = self.container.add_stream("ffv1", rate=info.fps)
            self.stream.pix_fmt = "bgr0"
        else:
            self.stream = self.container.add_stream("libx264", rate=info.fps, options={"crf": "12"})
            self.stream.pix_fmt = "yuv444p" if odd else "yuv420p"
        self.stream.width, self.stream.height = info.width, info.height

    def _prepare_folder(self, force: bool) -> None:
        if self.path.exists() or self.path.is_symlink():
            if not self.path.is_dir():
                raise LicError(f"{self.path} exists and is not a folder")
            entries = list(self.path.iterdir())
            foreign = [e.name for e in entries if not (FRAME_NAME.match(e.name) and e.is_file() and not e.is_symlink())]
            if foreign:
                raise LicError(f"{self.path} holds files lic did not write ({', '.join(sorted(foreign)[:3])}"
                               f"{', ...' if len(foreign) > 3 else ''}); give a new or empty folder")
            if entries and not force:
                raise LicError(f"{self.path} holds frames (use --force to replace them)")
            self.existing = True
            self.tmp = cleanup.temporary_folder(self.path, "frames")  # inside: same file system, no other place needed
            return
        parent = self.path.parent if str(self.path.parent) else Path(".")
        if not parent.is_dir():
            raise LicError(f"{parent}: no such directory")
        self.existing = False
        try:
            self.tmp = cleanup.temporary_folder(parent, self.path.name)
        except OSError as exc:
            raise LicError(f"{self.path}: cannot write in {parent} ({exc.strerror})") from None

    def write(self, pixels: np.ndarray) -> None:
        """Appends one ``HxWx3`` RGB uint8 frame."""
        if self.folder:
            Image.fromarray(pixels).save(self.tmp / f"{self.count:06d}.png")
        else:
            import av

            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
            frame.pts = self.count
            for packet in self.stream.encode(frame):
                self.container.mux(packet)
        self.count += 1

    def close(self) -> None:
        """Finishes the file (or folder) and puts it in place."""
        if not self.folder:
            for packet in self.stream.encode(None):
                self.container.mux(packet)
            self.container.close()
            self.output.commit()
            return
        with cleanup.signals_held():
            if not self.existing:
                os.replace(self.tmp, self.path)
            else:
                for frame in self.tmp.iterdir():
                    os.replace(frame, self.path / frame.name)
                written = {f"{i:06d}.png" for i in range(self.count)}
                for old in self.path.iterdir():
                    if FRAME_NAME.match(old.name) and old.name not in written:
                        old.unlink()
                self.tmp.rmdir()
            cleanup.settle(self.tmp)

    def abort(self) -> None:
        """Drops everything written."""
        if self.folder:
            cleanup.remove(self.tmp)
            return
        try:
            self.container.close()
        except Exception:  # noqa: BLE001 - the file is discarded anyway
            pass
        self.output.discard()
