"""Size limits of lic's streams and inputs, in one place (bitstream-spec.md and README's limits).

Format limits are part of the bitstream: a decoder refuses a header beyond them. Input
limits bound what the encoder and decoder allocate for hostile or absurd inputs.
"""

from __future__ import annotations

import os

from lic.errors import LicError, UnsupportedInputError

# --- format (bitstream-spec.md) ---
MAX_SIDE = 65535
"""Largest image or frame side in pixels."""
MAX_LANES = 64
"""Most coder lanes of one tile or frame packet."""
MAX_NAME = 64
"""Longest model name in a header."""
MIN_TILE = 256
"""Smallest tile side in pixels (tile sides are multiples of :data:`lic.format.geometry.TILE_ALIGN`)."""
MAX_FRAMES = 1 << 20
"""Most frames of one video stream."""
MAX_PIECE_PIXELS = 1 << 23
"""Most padded pixels of one piece (an untiled picture, a tile or a video frame) that lic
codes or decodes: the synthesis of a piece holds all of it in memory (about 3.4 GB at this size)."""

# --- encoder choices ---
TILE_THRESHOLD = 1 << 23
"""Padded pixels above which an image is tiled (a 3840x2160 frame is still one piece)."""
MAX_TILES = 2048
"""Most tiles an encoder accepts to make."""

# --- inputs ---
DEFAULT_PIXEL_LIMIT = 1 << 28
"""Largest image lic reads, codes or decodes by default (268 Mpixel, e.g. 16384x16384).

Like Pillow's decompression-bomb guard: a stream or image claiming more is refused
before any pixel memory is allocated. Images above :data:`TILE_THRESHOLD`
are coded in tiles, so memory stays bounded up to this limit. Change it with
:func:`set_pixel_limit`, the ``LIC_MAX_PIXELS`` environment variable or ``--max-pixels``.
"""
MAX_INPUT_BYTES = 1 << 30
"""Largest input read from standard input (``-``)."""
MAX_STREAM_BYTES = 1 << 30
"""Larger ``.lic`` files are refused unread: far above any stream of a 2^24-pixel image."""

_pixel_limit: int | None = None


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
