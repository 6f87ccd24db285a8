"""The byte format's declarations: fields declared once, layouts as the spec writes them, geometry."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest

from lic.format.container import IMAGE_FIELDS, ImageHeader
from lic.format.geometry import TILE_ALIGN, padded_size, tile_count, tiles_of
from lic.format.header import FIXED, ColourFormat, StreamHeader
from lic.format.sequence import SEQUENCE_FIELDS, SequenceHeader, read_sequence_header
from lic.models.registry import get_spec, model_names


def test_layouts_are_those_of_the_spec() -> None:
    # bitstream-spec.md sections 2 and 5: these struct formats are the byte layout.
    assert FIXED.struct.format == "<8sBBBBH"
    assert IMAGE_FIELDS.struct.format == "<32sfIIBBII"
    assert SEQUENCE_FIELDS.struct.format == "<32sfIIBBIIII"


def test_shared_fields_are_declared_once_in_the_base() -> None:
    shared = [f.name for f in dataclasses.fields(StreamHeader) if "wire" in f.metadata]
    for layout in (IMAGE_FIELDS, SEQUENCE_FIELDS):
        assert [name for name, _ in layout.fields[: len(shared)]] == shared
    own = {cls: {f.name for f in dataclasses.fields(cls)} - {f.name for f in dataclasses.fields(StreamHeader)}
           for cls in (ImageHeader, SequenceHeader)}
    assert own == {ImageHeader: {"tile_size", "tiles"}, SequenceHeader: {"fps", "frame_count", "intra_period"}}


def test_headers_are_built_by_keyword_only() -> None:
    with pytest.raises(TypeError):
        ImageHeader("elic-s", bytes(32), 1.0, 64, 64, ColourFormat.RGB, ((8,),))  # type: ignore[misc]


def test_sequence_header_round_trip() -> None:
    header = SequenceHeader(model="elic-s", digest=bytes(range(32)), quality=2.5, width=640, height=480,
                            colour=ColourFormat.RGB, fps=Fraction(30000, 1001), frame_count=7, intra_period=4)
    assert read_sequence_header(header.pack()) == header


def test_tile_align_is_the_downsampling_of_every_model() -> None:
    # Padding to TILE_ALIGN must give whole latent samples for every registered image model.
    for name in model_names():
        module = get_spec(name).build()
        intra = getattr(module, "intra", module)
        if hasattr(intra, "downsampling"):
            assert TILE_ALIGN % intra.downsampling == 0, name
    assert get_spec("elic-s").build().downsampling == TILE_ALIGN


def test_tiles_cover_the_padded_image_once() -> None:
    for width, height, size in [(1, 1, 0), (700, 300, 256), (2049, 4000, 2048), (64, 64, 256)]:
        padded_h, padded_w = padded_size(width, height)
        assert padded_h % TILE_ALIGN == 0 and padded_w % TILE_ALIGN == 0
        assert 0 <= padded_h - height < TILE_ALIGN and 0 <= padded_w - width < TILE_ALIGN
        boxes = tiles_of(width, height, size)
        assert len(boxes) == tile_count(width, height, size)
        assert sum(b.height * b.width for b in boxes) == padded_h * padded_w
        assert all(b.top % TILE_ALIGN == 0 and b.left % TILE_ALIGN == 0 for b in boxes)
