"""Tile geometry: how lic codes images too large for one pass (bitstream-spec.md section 3.2).

An image above :data:`TILE_THRESHOLD` padded pixels is cut into square tiles (row-major,
sides multiples of 64). Each tile's latent is entropy-coded on its own (own hyper-latent,
own coder lanes), so tiles decode independently and in parallel. Seams are avoided by
context across tile borders that costs no bits: the analysis transform of a tile sees
:data:`MARGIN` pixels of the neighbouring image, and the synthesis of a tile sees
``MARGIN / 16`` latent rows and columns of the neighbouring (decoded) tiles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lic.codec.container import MIN_TILE, TILE_ALIGN, tile_grid
from lic.errors import UnsupportedInputError

TILE_THRESHOLD = 1 << 23
"""Padded pixels above which an image is tiled (a 3840x2160 frame is still one piece)."""
DEFAULT_TILE_SIZE = 2048
MARGIN = 128
"""Pixels of context on each side of a tile for its analysis and synthesis."""
MAX_TILES = 2048


@dataclass(frozen=True)
class Box:
    """A rectangle ``[top, bottom) x [left, right)``."""

    top: int
    left: int
    bottom: int
    right: int

    @property
    def height(self) -> int:
        """Rows in the box."""
        return self.bottom - self.top

    @property
    def width(self) -> int:
        """Columns in the box."""
        return self.right - self.left

    def grown(self, margin: int, height: int, width: int) -> "Box":
        """The box with ``margin`` more on each side, clipped to ``height x width``."""
        return Box(max(0, self.top - margin), max(0, self.left - margin),
                   min(height, self.bottom + margin), min(width, self.right + margin))

    def scaled(self, stride: int) -> "Box":
        """The box on a grid ``stride`` times coarser (all sides must be multiples of it)."""
        return Box(self.top // stride, self.left // stride, self.bottom // stride, self.right // stride)

    def within(self, outer: "Box") -> tuple[slice, slice]:
        """Row and column slices that select this box inside an array covering ``outer``."""
        return (slice(self.top - outer.top, self.bottom - outer.top),
                slice(self.left - outer.left, self.right - outer.left))


def tiles_of(width: int, height: int, tile_size: int) -> list[Box]:
    """The tiles of an image, row-major, on its padded grid (see :func:`tile_grid`)."""
    return [Box(*box) for box in tile_grid(width, height, tile_size)]


def padded_size(width: int, height: int) -> tuple[int, int]:
    """``(height, width)`` rounded up to multiples of 64."""
    return -(-height // TILE_ALIGN) * TILE_ALIGN, -(-width // TILE_ALIGN) * TILE_ALIGN


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
    return requested


def crop_pixels(pixels: np.ndarray, box: Box) -> np.ndarray:
    """``pixels[box]``, extended past the image's right and bottom edges by edge replication."""
    rows = np.minimum(np.arange(box.top, box.bottom), pixels.shape[0] - 1)
    cols = np.minimum(np.arange(box.left, box.right), pixels.shape[1] - 1)
    return pixels[rows[:, None], cols[None, :]]
