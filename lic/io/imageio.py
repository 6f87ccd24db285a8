"""Reading images into arrays lic can code, and writing them (through :class:`lic.io.output.OutputFile`)."""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from lic.errors import LicError, UnsupportedInputError
from lic.format.header import ColourFormat
from lic.io.output import OutputFile, is_stdio
from lic.limits import MAX_INPUT_BYTES, check_size

_HIGH_DEPTH_MODES = {"I", "F", "I;16", "I;16B", "I;16L", "I;16N"}

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".ppm", ".pgm", ".pnm", ".bmp", ".tif", ".tiff", ".gif"}
"""File extensions treated as images when a folder is given."""


def list_images(folder: Path) -> list[Path]:
    """Image files directly inside ``folder``, sorted."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def from_pil(image: Image.Image) -> tuple[np.ndarray, ColourFormat]:
    """An 8-bit ``HxWx3`` (RGB) or ``HxW`` (grayscale) array from a PIL image.

    Palette, CMYK, YCbCr and other 8-bit modes are converted to RGB; an alpha
    channel is dropped when fully opaque and refused otherwise; 16-bit and float
    images are refused.
    """
    check_size(*image.size)
    mode = image.mode
    if mode in _HIGH_DEPTH_MODES:
        raise UnsupportedInputError(f"{mode} images (more than 8 bits per sample) are not supported")
    if mode == "P":
        mode = "RGBA" if "transparency" in image.info else "RGB"
        image = image.convert(mode)
    if mode in ("PA", "RGBa", "La"):
        image = image.convert("RGBA" if mode != "La" else "LA")
        mode = image.mode
    if mode in ("RGBA", "LA"):
        alpha = np.asarray(image.getchannel("A"))
        if alpha.min() < 255:
            raise UnsupportedInputError("images with transparency are not supported; flatten the alpha channel first")
        mode = "RGB" if mode == "RGBA" else "L"
        image = image.convert(mode)
    if mode in ("1", "L"):
        return np.asarray(image.convert("L")), ColourFormat.GRAY
    return np.asarray(image.convert("RGB")), ColourFormat.RGB


def read_image(path: str | Path) -> tuple[np.ndarray, ColourFormat]:
    """Reads any still 8-bit image Pillow opens (``-``: standard input; EXIF orientation applied).

    Refused: more than 8 bits per sample (Pillow would silently truncate 16-bit RGB),
    several frames (animations, multi-page files), and what :func:`from_pil` refuses.
    """
    source = io.BytesIO(read_stdin("an image")) if is_stdio(path) else path
    try:
        with _pillow_limit(), Image.open(source) as image:
            check_size(*image.size)
            if _stored_above_8_bits(image):
                raise UnsupportedInputError(f"{path}: {image.mode} image with more than 8 bits per sample; "
                                            "lic codes 8-bit images (convert it first)")
            frames = getattr(image, "n_frames", 1)
            if frames > 1:
                raise UnsupportedInputError(f"{path}: {frames} frames (an animation or a multi-page file); lic "
                                            "encodes one still image (for a video, give its frames as a folder "
                                            "with --video)")
            image.load()
            return from_pil(ImageOps.exif_transpose(image))
    except FileNotFoundError:
        raise LicError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise LicError(f"{path}: is a directory") from None
    except PermissionError:
        raise LicError(f"{path}: permission denied") from None
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise UnsupportedInputError(f"{path}: not an image lic can read") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise UnsupportedInputError(f"{path}: damaged or unsupported image ({exc})") from None


_SAMPLES_ABOVE_8_BITS = re.compile(r";(16[BLN]|32)")


def _stored_above_8_bits(image: Image.Image) -> bool:
    """True when the file stores more than 8 bits per sample (read before ``load``, from the raw modes)."""
    if image.mode in _HIGH_DEPTH_MODES:
        return True
    for tile in image.tile:
        args = tile[3]
        raw_mode = args[0] if isinstance(args, tuple) and args else args
        if isinstance(raw_mode, str) and _SAMPLES_ABOVE_8_BITS.search(raw_mode):
            return True
    return False


@contextmanager
def _pillow_limit() -> Iterator[None]:
    """Hands the decompression-bomb guard to lic's :func:`check_size` (Pillow's stops at 179 Mpixel).

    ``Image.open`` reads only the header; :func:`read_image` checks the size before ``load``.
    """
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def write_bytes_atomic(path: str | Path, data: bytes, force: bool = False) -> None:
    """Writes ``data`` to ``path`` (``-``: standard output) completely or not at all; see :class:`OutputFile`."""
    OutputFile(path, force).write(lambda file: file.write(data))


def image_format(path: str | Path) -> str:
    """The Pillow format that writes ``path``, from its extension (PNG for standard output, ``-``)."""
    if is_stdio(path):
        return "PNG"
    fmt = Image.registered_extensions().get(Path(path).suffix.lower())
    if fmt is None or fmt not in Image.SAVE:
        raise LicError(f"{path}: unknown image format {Path(path).suffix!r} (use .png)")
    return fmt


def save_image(file: BinaryIO, pixels: np.ndarray, fmt: str) -> None:
    """Saves an ``HxW`` or ``HxWx3`` uint8 array to an open file in Pillow format ``fmt``."""
    Image.fromarray(pixels).save(file, format=fmt)


def write_image(path: str | Path, pixels: np.ndarray, force: bool = False) -> None:
    """Saves an ``HxW`` or ``HxWx3`` uint8 array in the format of ``path``'s extension (see :class:`OutputFile`)."""
    fmt = image_format(path)
    OutputFile(path, force).write(lambda file: save_image(file, pixels, fmt))


def read_stdin(what: str) -> bytes:
    """All of standard input (refused above :data:`MAX_INPUT_BYTES`, and when it is a terminal)."""
    if sys.stdin is None or sys.stdin.isatty():
        raise LicError(f"input '-' reads {what} from standard input, which is a terminal")
    data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise LicError(f"standard input: more than {MAX_INPUT_BYTES:,} bytes")
    return data
