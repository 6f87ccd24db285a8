"""Image geometry of the format: padding to whole blocks and the tile grid (bitstream-spec.md 3.2).

Every coded picture is padded (by edge replication) to multiples of :data:`TILE_ALIGN`, the
total downsampling of lic's transforms, so the latents have whole samples; tiles are cut on
that padded grid. ``tests/test_format.py`` checks every registered model's downsampling
divides :data:`TILE_ALIGN`.
"""

from __future__ import annotations

from dataclasses import dataclass

TILE_ALIGN = 64
"""Padding and tile-side granularity in pixels: ``ElicModel.downsampling``."""


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

    def grown(self, margin: int, height: int, width: int) -> Box:
        """The box with ``margin`` more on each side, clipped to ``height x width``."""
        return Box(max(0, self.top - margin), max(0, self.left - margin),
                   min(height, self.bottom + margin), min(width, self.right + margin))

    def scaled(self, stride: int) -> Box:
        """The box on a grid ``stride`` times coarser (all sides must be multiples of it)."""
        return Box(self.top // stride, self.left // stride, self.bottom // stride, self.right // stride)

    def within(self, outer: Box) -> tuple[slice, slice]:
        """Row and column slices that select this box inside an array covering ``outer``."""
        return (slice(self.top - outer.top, self.bottom - outer.top),
                slice(self.left - outer.left, self.right - outer.left))


def padded_size(width: int, height: int) -> tuple[int, int]:
    """``(height, width)`` rounded up to multiples of :data:`TILE_ALIGN`."""
    return -(-height // TILE_ALIGN) * TILE_ALIGN, -(-width // TILE_ALIGN) * TILE_ALIGN


def tiles_of(width: int, height: int, tile_size: int) -> list[Box]:
    """Tiles in row-major order on the padded image; ``tile_size`` 0 gives one tile covering it."""
    padded_h, padded_w = padded_size(width, height)
    side_h, side_w = (tile_size, tile_size) if tile_size else (padded_h, padded_w)
    return [Box(top, left, min(top + side_h, padded_h), min(left + side_w, padded_w))
            for top in range(0, padded_h, side_h) for left in range(0, padded_w, side_w)]


def tile_count(width: int, height: int, tile_size: int) -> int:
    """Number of tiles of :func:`tiles_of` without listing them."""
    if not tile_size:
        return 1
    return -(-height // tile_size) * -(-width // tile_size)
