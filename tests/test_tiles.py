"""Tile geometry (lic/codec/tiles.py): tiles cover the padded image exactly, on the model's grid."""

from __future__ import annotations

import numpy as np
import pytest

from lic.codec.tiles import DEFAULT_TILE_SIZE, MARGIN, choose_tile_size, crop_pixels
from lic.errors import UnsupportedInputError
from lic.format.geometry import TILE_ALIGN, Box, padded_size, tile_count, tiles_of
from lic.limits import MAX_TILES, TILE_THRESHOLD
from lic.models.elic import ElicModel


@pytest.mark.parametrize(("width", "height", "tile_size"),
                         [(1, 1, 0), (64, 64, 0), (65, 130, 0), (700, 300, 256), (1000, 513, 512), (256, 256, 256)])
def test_tiles_cover_the_padded_image_exactly_once_in_row_major_order(width: int, height: int,
                                                                       tile_size: int) -> None:
    padded_h, padded_w = padded_size(width, height)
    assert padded_h % TILE_ALIGN == 0 and padded_w % TILE_ALIGN == 0
    assert height <= padded_h < height + TILE_ALIGN and width <= padded_w < width + TILE_ALIGN
    tiles = tiles_of(width, height, tile_size)
    assert len(tiles) == tile_count(width, height, tile_size)
    cover = np.zeros((padded_h, padded_w), np.int32)
    for tile in tiles:
        assert all(side % TILE_ALIGN == 0 for side in (tile.top, tile.left, tile.bottom, tile.right))
        assert 0 < tile.height <= (tile_size or padded_h) and 0 < tile.width <= (tile_size or padded_w)
        cover[tile.top : tile.bottom, tile.left : tile.right] += 1
    assert (cover == 1).all()
    assert [(t.top, t.left) for t in tiles] == sorted((t.top, t.left) for t in tiles)


def test_tile_alignment_is_the_models_downsampling() -> None:
    """Padding to TILE_ALIGN must give every latent and hyper-latent grid whole positions."""
    assert TILE_ALIGN == ElicModel.downsampling
    assert MARGIN % ElicModel.latent_stride == 0  # the synthesis margin is whole latents


def test_choose_tile_size() -> None:
    assert choose_tile_size(3840, 2160) == 0  # at most TILE_THRESHOLD padded pixels: one piece
    side = int(np.sqrt(TILE_THRESHOLD)) + TILE_ALIGN
    assert choose_tile_size(side, side) == DEFAULT_TILE_SIZE
    assert choose_tile_size(300, 300, 0) == 0 and choose_tile_size(300, 300, 320) == 320
    for bad in (100, 128, 200):  # not a multiple of 64, below the minimum tile, not a multiple of 64
        with pytest.raises(UnsupportedInputError, match="tile size"):
            choose_tile_size(1000, 1000, bad)
    with pytest.raises(UnsupportedInputError, match="more than"):
        choose_tile_size(256 * (MAX_TILES + 1), 256, 256)


def test_crop_pixels_replicates_the_edges() -> None:
    pixels = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    np.testing.assert_array_equal(crop_pixels(pixels, Box(1, 2, 4, 6)), pixels[1:4, 2:6])
    grown = crop_pixels(pixels, Box(3, 5, 9, 10))
    assert grown.shape == (6, 5, 3)
    np.testing.assert_array_equal(grown[:2, :2], pixels[3:5, 5:7])
    np.testing.assert_array_equal(grown[2:, :2], np.broadcast_to(pixels[4:5, 5:7], (4, 2, 3)))
    np.testing.assert_array_equal(grown[:, 2:], np.broadcast_to(grown[:, 1:2], (6, 3, 3)))


def test_box_margins_scale_and_select_the_tile_inside_its_context() -> None:
    padded = np.arange(512 * 768).reshape(512, 768)
    for tile in tiles_of(700, 500, 256):
        outer = tile.grown(MARGIN, 512, 768)
        assert outer.top == max(0, tile.top - MARGIN) and outer.bottom == min(512, tile.bottom + MARGIN)
        assert outer.left == max(0, tile.left - MARGIN) and outer.right == min(768, tile.right + MARGIN)
        context = padded[outer.top : outer.bottom, outer.left : outer.right]
        rows, cols = tile.within(outer)
        np.testing.assert_array_equal(context[rows, cols], padded[tile.top : tile.bottom, tile.left : tile.right])
        small = tile.scaled(16)
        assert (small.height, small.width) == (tile.height // 16, tile.width // 16)


@pytest.mark.parametrize(("width", "height", "tile_size"), [(4096, 2100, 0), (3072, 3072, 0), (8000, 8000, 4096)])
def test_a_piece_above_the_memory_bound_is_refused(width: int, height: int, tile_size: int) -> None:
    with pytest.raises(UnsupportedInputError, match="limit per piece"):
        choose_tile_size(width, height, tile_size)
    assert choose_tile_size(width, height) == DEFAULT_TILE_SIZE  # the automatic layout stays within it
    choose_tile_size(3840, 2160, 0)  # a 4K frame is still one piece
