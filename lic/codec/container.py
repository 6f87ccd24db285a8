"""The ``.lic`` container: header, coder lanes, checksums (see bitstream-spec.md).

Layout, all integers little-endian::

    magic          8   89 4C 49 43 0D 0A 1A 0A
    version        2   major, minor (1, 0)
    kind           1   1 = still image (2 = video: lic/codec/sequence.py)
    flags          1   0 (reserved)
    header_size    2   bytes from offset 0 to the end of header_crc
    name_len       1   1..64
    model_name     name_len bytes of [a-z0-9._-]
    digest        32   SHA-256 of the weights (canonical form, bitstream-spec.md section 4)
    quality        4   float32
    width          4   uint32, 1..65535
    height         4   uint32, 1..65535
    bit_depth      1   8
    colour         1   0 = RGB, 1 = grayscale
    lanes          1   1..64
    lane_sizes     4 * lanes, uint32 each, multiple of 4, >= 8
    header_crc     4   CRC-32 (zlib) of every header byte before it
    payload        sum(lane_sizes) bytes, lanes back to back
    payload_crc    4   CRC-32 of the payload
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum

from lic.errors import CorruptStreamError, UnsupportedStreamError

MAGIC = b"\x89LIC\r\n\x1a\n"
VERSION = (1, 0)
MAX_SIDE = 65535
MAX_LANES = 64
MAX_NAME = 64
_NAME_RE = re.compile(r"^[a-z0-9._-]{1,64}$")
_FIXED = struct.Struct("<8sBBBBH")  # magic, major, minor, kind, flags, header_size
_IMAGE = struct.Struct("<32sfIIBBB")  # digest, quality, width, height, depth, colour, lanes


class StreamKind(IntEnum):
    """What a stream holds."""

    IMAGE = 1
    VIDEO = 2


def read_fixed_header(data: bytes) -> tuple[int, int, int, int]:
    """``(major, minor, kind, header_size)`` of any ``.lic`` stream; checks magic and major version."""
    if len(data) < _FIXED.size:
        raise CorruptStreamError("not a .lic stream (too short)")
    magic, major, minor, kind, _flags, header_size = _FIXED.unpack_from(data)
    if magic != MAGIC:
        raise CorruptStreamError("not a .lic stream (bad magic bytes)")
    if major != VERSION[0]:
        raise UnsupportedStreamError(f"format version {major}.{minor} is not supported (this lic reads {VERSION[0]}.x)")
    return major, minor, kind, header_size


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
    lane_sizes: tuple[int, ...]
    bit_depth: int = 8
    version: tuple[int, int] = VERSION

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
        if not 1 <= len(self.lane_sizes) <= MAX_LANES:
            raise CorruptStreamError("invalid number of coder lanes in header")
        if any(s < 8 or s % 4 for s in self.lane_sizes):
            raise CorruptStreamError("invalid coder lane size in header")
        if self.quality != self.quality or abs(self.quality) > 1e6:
            raise CorruptStreamError("invalid quality in header")

    @property
    def header_size(self) -> int:
        """Bytes from the start of the stream to the end of the header CRC."""
        return _FIXED.size + 1 + len(self.model) + _IMAGE.size + 4 * len(self.lane_sizes) + 4


def write_image_stream(header: ImageHeader, lanes: list[bytes]) -> bytes:
    """Serializes a header and its coder lanes into a complete ``.lic`` stream."""
    if tuple(len(b) for b in lanes) != header.lane_sizes:
        raise ValueError("lane sizes do not match the header")
    header.validate()
    name = header.model.encode("ascii")
    head = bytearray(_FIXED.pack(MAGIC, *header.version, StreamKind.IMAGE, 0, header.header_size))
    head += bytes([len(name)]) + name
    head += _IMAGE.pack(header.digest, header.quality, header.width, header.height, header.bit_depth,
                        header.colour, len(lanes))
    head += b"".join(struct.pack("<I", s) for s in header.lane_sizes)
    head += struct.pack("<I", zlib.crc32(head))
    payload = b"".join(lanes)
    return bytes(head) + payload + struct.pack("<I", zlib.crc32(payload))


def read_image_header(data: bytes) -> ImageHeader:
    """Parses and checks the header (magic, version, CRC, limits); the payload is not read."""
    major, minor, kind, header_size = read_fixed_header(data)
    if kind == StreamKind.VIDEO:
        raise UnsupportedStreamError("this is a video stream, not an image")
    if kind != StreamKind.IMAGE:
        raise UnsupportedStreamError(f"stream kind {kind} is not supported")
    model, pos = read_model_name(data, header_size, _IMAGE.size + 8)
    digest, quality, width, height, depth, colour, n_lanes = _IMAGE.unpack_from(data, pos)
    pos += _IMAGE.size
    if pos + 4 * n_lanes != header_size - 4:
        raise CorruptStreamError("inconsistent header size")
    lane_sizes = struct.unpack_from(f"<{n_lanes}I", data, pos)
    try:
        colour_format = ColourFormat(colour)
    except ValueError:
        raise UnsupportedStreamError(f"colour format {colour} is not supported") from None
    header = ImageHeader(model, digest, quality, width, height, colour_format, tuple(lane_sizes), depth, (major, minor))
    header.validate()
    return header


def read_image_stream(data: bytes) -> tuple[ImageHeader, list[bytes]]:
    """Parses a complete stream: header, lanes, and both checksums."""
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
    lanes, pos = [], 0
    for size in header.lane_sizes:
        lanes.append(payload[pos : pos + size])
        pos += size
    return header, lanes
