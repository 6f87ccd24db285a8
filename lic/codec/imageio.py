"""Reading images into arrays lic can code, and writing files atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from lic.codec.container import MAX_SIDE, ColourFormat
from lic.errors import LicError, UnsupportedInputError

DEFAULT_PIXEL_LIMIT = 1 << 28
"""Largest image lic reads, codes or decodes by default (268 Mpixel, e.g. 16384x16384).

Like Pillow's decompression-bomb guard: a stream or image claiming more is refused
before any pixel memory is allocated. Images above :data:`lic.codec.tiles.TILE_THRESHOLD`
are coded in tiles, so memory stays bounded up to this limit. Change it with
:func:`set_pixel_limit`, the ``LIC_MAX_PIXELS`` environment variable or ``--max-pixels``.
"""

_pixel_limit: int | None = None

_HIGH_DEPTH_MODES = {"I", "F", "I;16", "I;16B", "I;16L", "I;16N"}

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".ppm", ".pgm", ".pnm", ".bmp", ".tif", ".tiff", ".gif"}
"""File extensions treated as images when a folder is given."""


def list_images(folder: Path) -> list[Path]:
    """Image files directly inside ``folder``, sorted."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def pixel_limit() -> int:
    """The current pixel limit: :func:`set_pixel_limit`, else ``LIC_MAX_PIXELS``, else the default."""
    if _pixel_limit is not None:
        return _pixel_limit
    value = os.environ.get("LIC_MAX_PIXELS")
    if value is None:
        return DEFAULT_PIXEL_LIMIT
    try:
        limit = int(value)
    except ValueError:
        raise LicError(f"LIC_MAX_PIXELS must be a whole number of pixels, not {value!r}") from None
    if limit < 1:
        raise LicError(f"LIC_MAX_PIXELS must be positive, not {value!r}")
    return limit


def set_pixel_limit(limit: int | None) -> None:
    """Sets the largest number of pixels lic handles (``None``: back to the environment/default)."""
    global _pixel_limit
    if limit is not None and limit < 1:
        raise LicError(f"the pixel limit must be positive, not {limit}")
    _pixel_limit = limit


def check_size(width: int, height: int) -> None:
    """Refuses sizes lic does not code, before any pixel is allocated."""
    if width < 1 or height < 1 or width > MAX_SIDE or height > MAX_SIDE:
        raise UnsupportedInputError(f"image size {width}x{height} is outside 1..{MAX_SIDE} per side")
    limit = pixel_limit()
    if width * height > limit:
        raise UnsupportedInputError(f"image of {width}x{height} pixels exceeds the limit of {limit:,} pixels "
                                    "(raise it with --max-pixels or LIC_MAX_PIXELS)")


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


def read_image(path: Path) -> tuple[np.ndarray, ColourFormat]:
    """Reads any image Pillow opens (EXIF orientation applied); see :func:`from_pil`."""
    try:
        with _pillow_limit(), Image.open(path) as image:
            check_size(*image.size)
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


def default_permissions(path: Path, directory: bool = False) -> None:
    """Gives a temporary file (or folder) the permissions a normally created one would have."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if directory else 0o666) & ~umask)


def write_atomic(path: Path, write: Callable[[Path], None], force: bool = False) -> None:
    """Runs ``write(tmp)`` on a temporary file beside ``path``, then renames it into place.

    Refuses to replace an existing ``path`` unless ``force``; never leaves a partial file.
    """
    path = Path(path)
    if path.exists() and not force:
        raise LicError(f"{path} exists (use --force to overwrite)")
    if path.is_dir():
        raise LicError(f"{path} is a directory")
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise LicError(f"{directory}: no such directory")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    os.close(fd)
    tmp = Path(tmp_name)
    default_permissions(tmp)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: Path, data: bytes, force: bool = False) -> None:
    """Writes ``data`` to ``path`` atomically (see :func:`write_atomic`)."""
    write_atomic(path, lambda tmp: tmp.write_bytes(data), force)


def image_format(path: Path) -> str:
    """The Pillow format that writes ``path``, from its extension."""
    fmt = Image.registered_extensions().get(Path(path).suffix.lower())
    if fmt is None or fmt not in Image.SAVE:
        raise LicError(f"{path}: unknown image format {Path(path).suffix!r} (use .png)")
    return fmt


def write_image(path: Path, pixels: np.ndarray, force: bool = False) -> None:
    """Saves an ``HxW`` or ``HxWx3`` uint8 array in the format of ``path``'s extension."""
    fmt = image_format(path)
    image = Image.fromarray(pixels)
    write_atomic(path, lambda tmp: image.save(tmp, format=fmt), force)
