"""The ``.lic`` still-image container: header, tile table, coder lanes, checksums (bitstream-spec.md).

Layout after the shared header fields (:mod:`lic.format.header`), all integers little-endian::

    tile_size      4   uint32: 0 = one tile, else the tile side in pixels (multiple of 64, >= 256)
    tile_count     4   uint32: number of tiles, row-major (1 when tile_size is 0)
    per tile:
      lanes        1   1..64
      lane_sizes   4 * lanes, uint32 each, multiple of 4, >= 8
    header_crc     4   CRC-32 (zlib) of every header byte before it
    payload        all lanes back to back, tile by tile
    payload_crc    4   CRC-32 of the payload
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from lic.errors import CorruptStreamError, UnsupportedStreamError
from lic.format.fields import Layout, wire
from lic.format.geometry import TILE_ALIGN, tile_count
from lic.format.header import StreamHeader, StreamKind, read_fixed_header, read_model_name
from lic.limits import MAX_LANES, MIN_TILE


@dataclass(frozen=True, kw_only=True)
class ImageHeader(StreamHeader):
    """Everything a decoder needs before the coded data."""

    KIND = StreamKind.IMAGE

    tile_size: int = wire("I", default=0)
    tiles: tuple[tuple[int, ...], ...] = wire("I", to_wire=lambda tiles: (len(tiles),))
    """Byte sizes of the coder lanes of each tile, row-major (written as tile_count, then the tile table)."""

    @property
    def lane_sizes(self) -> tuple[int, ...]:
        """Sizes of all lanes, tile by tile (the payload's order)."""
        return tuple(size for tile in self.tiles for size in tile)

    def validate_own(self) -> None:
        """Tile size, tile count and lane sizes."""
        if self.tile_size and (self.tile_size % TILE_ALIGN or self.tile_size < MIN_TILE):
            raise CorruptStreamError(f"invalid tile size {self.tile_size} in header")
        if len(self.tiles) != tile_count(self.width, self.height, self.tile_size):
            raise CorruptStreamError("tile count does not match the image and tile size in header")
        if any(not 1 <= len(tile) <= MAX_LANES for tile in self.tiles):
            raise CorruptStreamError("invalid number of coder lanes in header")
        if any(s < 8 or s % 4 for s in self.lane_sizes):
            raise CorruptStreamError("invalid coder lane size in header")

    @property
    def header_size(self) -> int:
        """Bytes from the start of the stream to the end of the header CRC."""
        lanes = sum(1 + 4 * len(tile) for tile in self.tiles)
        return self.name_size(self.model) + IMAGE_FIELDS.size + lanes + 4


IMAGE_FIELDS = Layout(ImageHeader)


def _tile_table(tiles: tuple[tuple[int, ...], ...]) -> bytes:
    return b"".join(bytes([len(tile)]) + struct.pack(f"<{len(tile)}I", *tile) for tile in tiles)


def write_image_stream(header: ImageHeader, tiles: list[list[bytes]]) -> bytes:
    """Serializes a header and the coder lanes of each tile into a complete ``.lic`` stream."""
    if tuple(tuple(len(b) for b in lanes) for lanes in tiles) != header.tiles:
        raise ValueError("lane sizes do not match the header")
    header.validate()
    if header.header_size > 0xFFFF:
        raise ValueError("too many tiles and lanes for one header; use larger tiles")
    head = header.pack_head(IMAGE_FIELDS, header.header_size, _tile_table(header.tiles))
    payload = b"".join(lane for lanes in tiles for lane in lanes)
    return head + payload + struct.pack("<I", zlib.crc32(payload))


def read_image_header(data: bytes) -> ImageHeader:
    """Parses and checks the header (magic, version, CRC, limits); the payload is not read."""
    fixed = read_fixed_header(data)
    if fixed.kind == StreamKind.VIDEO:
        raise UnsupportedStreamError("this is a video stream, not an image")
    if fixed.kind != StreamKind.IMAGE:
        raise UnsupportedStreamError(f"stream kind {fixed.kind} is not supported")
    end = fixed.header_size - 4
    model, pos = read_model_name(data, fixed.header_size, IMAGE_FIELDS.size + 9)
    raw = IMAGE_FIELDS.unpack_raw(data, pos)
    (n_tiles,) = raw["tiles"]
    pos += IMAGE_FIELDS.size
    if n_tiles < 1 or pos + 5 * n_tiles > end:
        raise CorruptStreamError("inconsistent header size")
    tiles = []
    for _ in range(n_tiles):
        n_lanes = data[pos]
        if pos + 1 + 4 * n_lanes > end:
            raise CorruptStreamError("inconsistent header size")
        tiles.append(struct.unpack_from(f"<{n_lanes}I", data, pos + 1))
        pos += 1 + 4 * n_lanes
    if pos != end:
        raise CorruptStreamError("inconsistent header size")
    header = ImageHeader(model=model, tiles=tuple(tiles), flags=fixed.flags, version=(fixed.major, fixed.minor),
                         **IMAGE_FIELDS.convert(raw, skip=("tiles",)))
    header.validate()
    return header


def read_image_stream(data: bytes) -> tuple[ImageHeader, list[list[bytes]]]:
    """Parses a complete stream: header, the lanes of each tile, and both checksums."""
    header = read_image_header(data)
    start = header.header_size
    end = start + sum(header.lane_sizes)
    if len(data) < end + 4:
        raise CorruptStreamError(f"truncated .lic stream ({len(data)} of {end + 4} bytes)")
    if len(data) > end + 4:
        raise CorruptStreamError(f"trailing bytes after the .lic stream ({len(data) - end - 4} bytes)")
    payload = data[start:end]
    (stored_crc,) = struct.unpack_from("<I", data, end)
    if zlib.crc32(payload) != stored_crc:
        raise CorruptStreamError("damaged .lic stream (payload checksum mismatch)")
    tiles, pos = [], 0
    for sizes in header.tiles:
        lanes = []
        for size in sizes:
            lanes.append(payload[pos : pos + size])
            pos += size
        tiles.append(lanes)
    return header, tiles
