"""Reading and writing video through PyAV: files (mp4, mkv, mov, webm, y4m, avi) and
folders of PNG frames, as RGB uint8 frames."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from lic.codec.imageio import check_size, default_permissions, from_pil
from lic.errors import LicError, UnsupportedInputError

VIDEO_SUFFIXES = {".mp4", ".mkv", ".mov", ".webm", ".y4m", ".avi", ".m4v"}
"""File extensions read as video."""
OUTPUT_SUFFIXES = {".y4m", ".mkv", ".mp4"}
DEFAULT_FPS = Fraction(25)


def is_video_path(path: Path) -> bool:
    """True for a file lic reads as video (by extension)."""
    return path.suffix.lower() in VIDEO_SUFFIXES


@dataclass(frozen=True)
class VideoInfo:
    """Size and timing of a clip."""

    width: int
    height: int
    fps: Fraction
    variable_rate: bool = False


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
                with Image.open(file) as image:
                    pixels, _ = from_pil(image.convert("RGB"))
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

    def decoded() -> Iterator[np.ndarray]:
        try:
            for frame in container.decode(stream):
                yield frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as exc:
            raise UnsupportedInputError(f"{path}: damaged video ({exc.__class__.__name__})") from None
        finally:
            container.close()

    return VideoInfo(width, height, Fraction(rate), variable), decoded()


class FrameWriter:
    """Writes RGB frames to a video file or a PNG folder, atomically on :meth:`close`.

    * ``.y4m``: raw YUV 4:2:0 (4:4:4 for odd sizes), BT.601 limited range;
    * ``.mkv``: FFV1, lossless RGB (bit-exact frames);
    * ``.mp4``: H.264 (libx264, CRF 12), for viewing;
    * a path without extension: a new folder of PNG frames ``000000.png, ...`` (bit-exact).

    Frames go to a temporary file (or folder) beside the target, renamed into place on
    :meth:`close`; :meth:`abort` removes it. With ``keep_partial`` a failure still
    commits the frames written so far (used to keep the good frames of a damaged stream).
    """

    def __init__(self, path: Path, info: VideoInfo, force: bool = False) -> None:
        self.path = Path(path)
        self.info = info
        self.count = 0
        suffix = self.path.suffix.lower()
        if suffix and suffix not in OUTPUT_SUFFIXES:
            raise LicError(f"{self.path}: unsupported video output (use .y4m, .mkv, .mp4 or a folder name)")
        if self.path.exists() and not force:
            raise LicError(f"{self.path} exists (use --force to overwrite)")
        parent = self.path.parent if str(self.path.parent) else Path(".")
        if not parent.is_dir():
            raise LicError(f"{parent}: no such directory")
        self.folder = not suffix
        if self.folder:
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=parent))
            default_permissions(self.tmp, directory=True)
            return
        fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=suffix, dir=parent)
        os.close(fd)
        self.tmp = Path(name)
        default_permissions(self.tmp)
        import av

        format_name = {".y4m": "yuv4mpegpipe", ".mkv": "matroska", ".mp4": "mp4"}[suffix]
        self.container = av.open(str(self.tmp), "w", format=format_name)
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
        """Finishes the file and renames it into place."""
        if not self.folder:
            for packet in self.stream.encode(None):
                self.container.mux(packet)
            self.container.close()
        if self.folder and self.path.exists():
            shutil.rmtree(self.path) if self.path.is_dir() else self.path.unlink()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        """Drops everything written."""
        if not self.folder:
            try:
                self.container.close()
            except Exception:  # noqa: BLE001 - the file is discarded anyway
                pass
            self.tmp.unlink(missing_ok=True)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

