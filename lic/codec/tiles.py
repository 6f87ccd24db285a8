"""Tile geometry: how lic codes images too large for one pass (bitstream-spec.md section 3.2).

An image above :data:`TILE_THRESHOLD` padded pixels is cut into square tiles (row-major,
sides multiples of 64). Each tile's latent is entropy-coded on its own (own hyper-latent,
own coder lanes), so tiles decode independently and in parallel. Seams are avoided by
context across tile borders that costs no bits: the analysis transform of a tile sees
:data:`MARGIN` pixels of the neighbouring image, and the synthesis of a tile sees
``MARGIN / 16`` latent rows and columns of the neighbouring (decoded) tiles.
"""

from __future__ import annotations

import numpy as np

from lic.errors import UnsupportedInputError
from lic.format.geometry import TILE_ALIGN, Box, padded_size
from lic.limits import MAX_PIECE_PIXELS, MAX_TILES, MIN_TILE, TILE_THRESHOLD

DEFAULT_TILE_SIZE = 2048
MARGIN = 128
"""Pixels of context on each side of a tile for its analysis and synthesis."""


def check_piece_size(width: int, height: int, tile_size: int) -> None:
    """Refuses a layout whose largest piece exceeds :data:`~lic.limits.MAX_PIECE_PIXELS` padded pixels,
    so that coding and decoding memory stay bounded whatever a header says (spec section 3.2)."""
    padded_h, padded_w = padded_size(width, height)
    piece_h, piece_w = (min(tile_size, padded_h), min(tile_size, padded_w)) if tile_size else (padded_h, padded_w)
    if piece_h * piece_w > MAX_PIECE_PIXELS:
        what = f"tiles of {tile_size}" if tile_size else "one piece"
        raise UnsupportedInputError(f"a {width}x{height} picture in {what} exceeds lic's {MAX_PIECE_PIXELS:,}-pixel "
                                    "limit per piece (decoder memory); code it in smaller tiles (--tile-size 2048)")


def choose_tile_size(width: int, height: int, requested: int | None = None) -> int:
    """The tile size to code an image with: ``requested``, or automatic (0 = one piece).

    Raises:
        UnsupportedInputError: a requested size that is not 0 or a multiple of 64 of at
            least 256, or that makes more than :data:`MAX_TILES` tiles.
    """
    padded_h, padded_w = padded_size(width, height)
    if requested is None:
        return DEFAULT_TILE_SIZE if padded_h * padded_w > TILE_THRESHOLD else 0
    if requested and (requested % TILE_ALIGN or requested < MIN_TILE):
        raise UnsupportedInputError(f"tile size must be 0 or a multiple of {TILE_ALIGN} of at least {MIN_TILE}, "
                                    f"not {requested}")
    if requested and -(-padded_h // requested) * -(-padded_w // requested) > MAX_TILES:
        raise UnsupportedInputError(f"tile size {requested} makes more than {MAX_TILES} tiles; use larger tiles")
    check_piece_size(width, height, requested)
    return requested


def crop_pixels(pixels: np.ndarray, box: Box) -> np.ndarray:
    """``pixels[box]``, extended past the image's right and bottom edges by edge replication."""
    rows = np.minimum(np.arange(box.top, box.bottom), pixels.shape[0] - 1)
    cols = np.minimum(np.arange(box.left, box.right), pixels.shape[1] - 1)
    return pixels[rows[:, None], cols[None, :]]
