"""The .lic container: layout, checksums, limits."""

from __future__ import annotations

import struct
import zlib

import pytest

from lic.errors import CorruptStreamError, UnsupportedStreamError
from lic.format.container import ImageHeader, read_image_header, read_image_stream, write_image_stream
from lic.format.header import MAGIC, ColourFormat

LANES = [b"\x00\x00\x00\x80" + bytes(8), b"\x00\x00\x00\x80" + bytes(4)]
TILES = [LANES]


def _header(**changes) -> ImageHeader:  # noqa: ANN003
    values = {"model": "elic-s", "digest": bytes(range(32)), "quality": 2.5, "width": 640, "height": 480,
              "colour": ColourFormat.RGB, "tiles": ((12, 8),)}
    values.update(changes)
    return ImageHeader(**values)


def _with_header_crc(data: bytearray, header_size: int) -> bytes:
    data[header_size - 4 : header_size] = struct.pack("<I", zlib.crc32(bytes(data[: header_size - 4])))
    return bytes(data)


def test_round_trip_and_layout() -> None:
    header = _header()
    data = write_image_stream(header, TILES)
    assert data[:8] == MAGIC == b"\x89LIC\r\n\x1a\n"
    assert data[8:10] == b"\x02\x00"
    assert struct.unpack_from("<H", data, 12)[0] == header.header_size == 15 + 6 + 54 + 1 + 8 + 4
    assert len(data) == header.header_size + 20 + 4
    parsed, lanes = read_image_stream(data)
    assert parsed == header and lanes == TILES


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: b"GIF89a" + d[6:], "bad magic"),
        (lambda d: d[:5], "too short"),
        (lambda d: d[:40], "header incomplete"),
        (lambda d: d[:-1], "truncated"),
        (lambda d: d + b"\x00", "trailing bytes"),
        (lambda d: d[:30] + bytes([d[30] ^ 1]) + d[31:], "header checksum"),
        (lambda d: d[:-6] + bytes([d[-6] ^ 1]) + d[-5:], "payload checksum"),
    ],
)
def test_damage_is_reported(mutate, message: str) -> None:  # noqa: ANN001
    data = write_image_stream(_header(), TILES)
    with pytest.raises(CorruptStreamError, match=message):
        read_image_stream(mutate(data))


def test_other_major_version_is_unsupported() -> None:
    data = bytearray(write_image_stream(_header(), TILES))
    data[8] = 1
    with pytest.raises(UnsupportedStreamError, match="version 1"):
        read_image_header(bytes(data))


def test_absurd_size_with_valid_checksum_is_refused() -> None:
    """A forged header claiming 10^6 x 10^6 pixels, CRC recomputed: refused, nothing allocated."""
    header = _header()
    data = bytearray(write_image_stream(header, TILES))
    offset = 15 + len(header.model) + 32 + 4
    struct.pack_into("<II", data, offset, 10**6, 10**6)
    with pytest.raises(CorruptStreamError, match="invalid image size"):
        read_image_header(_with_header_crc(data, header.header_size))


def test_bad_lane_table_is_refused() -> None:
    header = _header()
    data = bytearray(write_image_stream(header, TILES))
    struct.pack_into("<I", data, header.header_size - 12, 7)  # lane size not a multiple of 4
    with pytest.raises(CorruptStreamError):
        read_image_header(_with_header_crc(data, header.header_size))


def test_invalid_headers_cannot_be_written() -> None:
    with pytest.raises(CorruptStreamError):
        write_image_stream(_header(model="Bad Name!"), TILES)
    with pytest.raises(ValueError):
        write_image_stream(_header(tiles=((4, 8),)), TILES)


def test_tiled_layout_round_trips() -> None:
    tiles = [LANES, LANES[:1], LANES[1:], LANES]  # 640x480 in 256-pixel tiles: 3 columns x 2 rows
    header = _header(tile_size=256, tiles=((12, 8), (12,), (8,), (12, 8), (12, 8), (12, 8)))
    with pytest.raises(ValueError):
        write_image_stream(header, tiles)
    tiles = [LANES, LANES[:1], LANES[1:], LANES, LANES, LANES]
    data = write_image_stream(header, tiles)
    parsed, lanes = read_image_stream(data)
    assert parsed == header and lanes == tiles


@pytest.mark.parametrize("tile_size, tiles, message", [
    (256, ((12, 8),), "tile count"),
    (100, ((12, 8),), "invalid tile size"),
    (0, ((12, 8), (12, 8)), "tile count"),
])
def test_inconsistent_tile_layouts_are_refused(tile_size: int, tiles: tuple, message: str) -> None:
    with pytest.raises(CorruptStreamError, match=message):
        _header(tile_size=tile_size, tiles=tiles).validate()


def test_forged_tile_count_is_refused_before_reading_entries() -> None:
    """A header claiming 2^32 - 1 tiles (CRC recomputed) fails on its size, without a loop over them."""
    header = _header()
    data = bytearray(write_image_stream(header, TILES))
    offset = 15 + len(header.model) + 32 + 4 + 4 + 4 + 1 + 1 + 4
    struct.pack_into("<I", data, offset, 2**32 - 1)
    with pytest.raises(CorruptStreamError, match="inconsistent header size"):
        read_image_header(_with_header_crc(data, header.header_size))


def test_unknown_flags_are_refused() -> None:
    data = bytearray(write_image_stream(_header(), TILES))
    data[11] = 0x80
    with pytest.raises(UnsupportedStreamError, match="flags"):
        read_image_header(bytes(data))
