"""Size limits of lic's streams and inputs, in one place (bitstream-spec.md and README's limits).

Format limits are part of the bitstream: a decoder refuses a header beyond them. Input
limits bound what the encoder and decoder allocate for hostile or absurd inputs.
"""

from __future__ import annotations

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
:func:`lic.codec.imageio.set_pixel_limit`, the ``LIC_MAX_PIXELS`` environment variable or ``--max-pixels``.
"""
MAX_INPUT_BYTES = 1 << 30
"""Largest input read from standard input (``-``)."""
MAX_STREAM_BYTES = 1 << 30
"""Larger ``.lic`` files are refused unread: far above any stream of a 2^24-pixel image."""
