"""The ``.lic`` container: header, coder lanes, checksums (see bitstream-spec.md).

Layout, all integers little-endian::

    magic          8   89 4C 49 43 0D 0A 1A 0A
    version        2   major, minor (2, 0)
    kind           1   1 = still image (2 = video: lic/codec/sequence.py)
    flags          1   bit 0: float entropy parameters (same-machine only); other bits 0
    header_size    2   bytes from offset 0 to the end of header_crc
    name_len       1   1..64
    model_name     name_len bytes of [a-z0-9._-]
    digest        32   SHA-256 of the weights (canonical form, bitstream-spec.md section 4)
    quality        4   float32
    width          4   uint32, 1..65535
    height         4   uint32, 1..65535
    bit_depth      1   8
    colour         1   0 = RGB, 1 = grayscale
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

import re
import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

from lic.errors import CorruptStreamError, UnsupportedStreamError

MAGIC = b"\x89LIC\r\n\x1a\n"
VERSION = (2, 0)
MAX_SIDE = 65535
MAX_LANES = 64
MAX_NAME = 64
MIN_TILE = 256
TILE_ALIGN = 64
FLOAT_PARAMETERS = 0x01
"""Header flag: the model's entropy parameters are float (decodable on the encoding machine only)."""
_NAME_RE = re.compile(r"^[a-z0-9._-]{1,64}$")
_FIXED = struct.Struct("<8sBBBBH")  # magic, major, minor, kind, flags, header_size
_IMAGE = struct.Struct("<32sfIIBBII")  # digest, quality, width, height, depth, colour, tile_size, tile_count


class StreamKind(IntEnum):
    """What a stream holds."""

    IMAGE = 1
    VIDEO = 2


class FixedHeader(NamedTuple):
    """The 14 bytes every ``.lic`` stream starts with (after the magic)."""

    major: int
    minor: int
    kind: int
    flags: int
    header_size: int


def read_fixed_header(data: bytes) -> FixedHeader:
    """The fixed part of any ``.lic`` stream; checks magic, major version and flags."""
    if len(data) < _FIXED.size:
        raise CorruptStreamError("not a .lic stream (too short)")
    magic, major, minor, kind, flags, header_size = _FIXED.unpack_from(data)
    if magic != MAGIC:
        raise CorruptStreamError("not a .lic stream (bad magic bytes)")
    if major != VERSION[0]:
        raise UnsupportedStreamError(f"format version {major}.{minor} is not supported (this lic reads {VERSION[0]}.x)")
    if flags & ~FLOAT_PARAMETERS:
        raise UnsupportedStreamError(f"unknown header flags 0x{flags:02x}")
    return FixedHeader(major, minor, kind, flags, header_size)


def tile_grid(width: int, height: int, tile_size: int) -> list[tuple[int, int, int, int]]:
    """Tiles ``(top, left, bottom, right)`` in row-major order, on the image padded to multiples of 64.

    ``tile_size`` 0 gives one tile covering the padded image.
    """
    padded_h, padded_w = -(-height // TILE_ALIGN) * TILE_ALIGN, -(-width // TILE_ALIGN) * TILE_ALIGN
    side_h, side_w = (tile_size, tile_size) if tile_size else (padded_h, padded_w)
    return [(top, left, min(top + side_h, padded_h), min(left + side_w, padded_w))
            for top in range(0, padded_h, side_h) for left in range(0, padded_w, side_w)]


def tile_count(width: int, height: int, tile_size: int) -> int:
    """Number of tiles of :func:`tile_grid` without listing them."""
    if not tile_size:
        return 1
    return -(-height // tile_size) * -(-width // tile_size)


def read_model_name(data: bytes, header_size: int, body_size: int) -> tuple[str, int]:
    """Checks a header's length and CRC and reads its model name.

    ``body_size`` is the least number of bytes the kind's header holds after the name
    (CRC included). Returns the name and the offset just after it.
    """
    if len(data) < header_size or header_size < _FIXED.size + 2 + body_size:
        raise CorruptStreamError("truncated .lic stream (header incomplete)")
    (stored_crc,) = struct.unpack_from("<I", data, header_size - 4)
    if zlib.crc32(data[: header_size - 4]) != stored_crc:
        raise CorruptStreamError("damaged .lic stream (header checksum mismatch)")
    pos = _FIXED.size
    name_len = data[pos]
    if not 1 <= name_len <= MAX_NAME or pos + 1 + name_len + body_size > header_size:
        raise CorruptStreamError("invalid model name in header")
    try:
        return data[pos + 1 : pos + 1 + name_len].decode("ascii"), pos + 1 + name_len
    except UnicodeDecodeError:
        raise CorruptStreamError("invalid model name in header") from None


def stream_kind(data: bytes) -> StreamKind:
    """The kind of a ``.lic`` stream from its fixed header part (magic and version checked)."""
    kind = read_fixed_header(data)[2]
    try:
        return StreamKind(kind)
    except ValueError:
        raise UnsupportedStreamError(f"stream kind {kind} is not supported") from None


class ColourFormat(IntEnum):
    """Colour format of the decoded image."""

    RGB = 0
    GRAY = 1


@dataclass(frozen=True)
class ImageHeader:
    """Everything a decoder needs before the coded data."""

    model: str
    digest: bytes
    quality: float
    width: int
    height: int
    colour: ColourFormat
    tiles: tuple[tuple[int, ...], ...]
    """Byte sizes of the coder lanes of each tile, row-major."""
    tile_size: int = 0
    flags: int = 0
    bit_depth: int = 8
    version: tuple[int, int] = VERSION

    @property
    def lane_sizes(self) -> tuple[int, ...]:
        """Sizes of all lanes, tile by tile (the payload's order)."""
        return tuple(size for tile in self.tiles for size in tile)

    def validate(self) -> None:
        """Raises :class:`CorruptStreamError` on values no encoder writes."""
        if not _NAME_RE.match(self.model):
            raise CorruptStreamError("invalid model name in header")
        if len(self.digest) != 32:
            raise CorruptStreamError("invalid weights digest in header")
        if not (1 <= self.width <= MAX_SIDE and 1 <= self.height <= MAX_SIDE):
            raise CorruptStreamError(f"invalid image size {self.width}x{self.height} in header")
        if self.bit_depth != 8:
            raise UnsupportedStreamError(f"bit depth {self.bit_depth} is not supported")
        if self.tile_size and (self.tile_size % TILE_ALIGN or self.tile_size < MIN_TILE):
            raise CorruptStreamError(f"invalid tile size {self.tile_size} in header")
        if len(self.tiles) != tile_count(self.width, self.height, self.tile_size):
            raise CorruptStreamError("tile count does not match the image and tile size in header")
        if any(not 1 <= len(tile) <= MAX_LANES for tile in self.tiles):
            raise CorruptStreamError("invalid number of coder lanes in header")
        if any(s < 8 or s % 4 for s in self.lane_sizes):
            raise CorruptStreamError("invalid coder lane size in header")
        if self.quality != self.quality or abs(self.quality) > 1e6:
            raise CorruptStreamError("invalid quality in header")

    @property
    def header_size(self) -> int:
        """Bytes from the start of the stream to the end of the header CRC."""
        lanes = sum(1 + 4 * len(tile) for tile in self.tiles)
        return _FIXED.size + 1 + len(self.model) + _IMAGE.size + lanes + 4


def write_image_stream(header: ImageHeader, tiles: list[list[bytes]]) -> bytes:
    """Serializes a header and the coder lanes of each tile into a complete ``.lic`` stream."""
    if tuple(tuple(len(b) for b in lanes) for lanes in tiles) != header.tiles:
        raise ValueError("lane sizes do not match the header")
    header.validate()
    if header.header_size > 0xFFFF:
        raise ValueError("too many tiles and lanes for one header; use larger tiles")
    name = header.model.encode("ascii")
    head = bytearray(_FIXED.pack(MAGIC, *header.version, StreamKind.IMAGE, header.flags, header.header_size))
    head += bytes([len(name)]) + name
    head += _IMAGE.pack(header.digest, header.quality, header.width, header.height, header.bit_depth,
                        header.colour, header.tile_size, len(header.tiles))
    for tile in header.tiles:
        head += bytes([len(tile)]) + b"".join(struct.pack("<I", s) for s in tile)
    head += struct.pack("<I", zlib.crc32(head))
    payload = b"".join(lane for lanes in tiles for lane in lanes)
    return bytes(head) + payload + struct.pack("<I", zlib.crc32(payload))


def read_image_header(data: bytes) -> ImageHeader:
    """Parses and checks the header (magic, version, CRC, limits); the payload is not read."""
    fixed = read_fixed_header(data)
    if fixed.kind == StreamKind.VIDEO:
        raise UnsupportedStreamError("this is a video stream, not an image")
    if fixed.kind != StreamKind.IMAGE:
        raise UnsupportedStreamError(f"stream kind {fixed.kind} is not supported")
    end = fixed.header_size - 4
    model, pos = read_model_name(data, fixed.header_size, _IMAGE.size + 9)
    digest, quality, width, height, depth, colour, tile_size, n_tiles = _IMAGE.unpack_from(data, pos)
    pos += _IMAGE.size
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
    try:
        colour_format = ColourFormat(colour)
    except ValueError:
        raise UnsupportedStreamError(f"colour format {colour} is not supported") from None
    header = ImageHeader(model, digest, quality, width, height, colour_format, tuple(tiles), tile_size, fixed.flags,
                         depth, (fixed.major, fixed.minor))
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
