"""The ``.lic`` video container: sequence header, frame packets, seek index (bitstream-spec.md §5).

Layout, all integers little-endian::

    sequence header
        magic 8, version 2, kind 1 (= 2, video), flags 1, header_size 2   (as for images)
        name_len 1, model_name, digest 32
        quality f32, width u32, height u32, bit_depth u8, colour u8
        fps_num u32, fps_den u32, frame_count u32, intra_period u32
        header_crc u32
    frame packet, frame_count times
        sync 4 ("LICF"), frame u32, type u8 (0 intra, 1 inter, 2 INR), ref_distance u8 (0 for intra, 1 for inter,
        for INR the distance to the group's first frame),
        lanes u8, reserved u8 (0), lane_sizes 4 * lanes, packet_crc u32 (CRC-32 of the packet
        header before it), payload (the lanes), payload_crc u32
    index
        sync 4 ("LICI"), count u32, count x (offset u64, frame u32, type u8, 3 zero bytes),
        index_crc u32
    trailer
        index_offset u64, end magic 4 ("LICE")

A reader seeks through the index; when the index is damaged it walks the packets from
the header instead. Each packet carries its own checksums, so damage stops decoding at
the damaged frame and every frame before it stays valid.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum
from fractions import Fraction

from lic.errors import CorruptStreamError, UnsupportedStreamError
from lic.format.fields import Layout, wire
from lic.format.header import StreamHeader, StreamKind, read_fixed_header, read_model_name
from lic.limits import MAX_FRAMES, MAX_LANES

PACKET_SYNC = b"LICF"
INDEX_SYNC = b"LICI"
END_MAGIC = b"LICE"
_PACKET = struct.Struct("<4sIBBBB")  # sync, frame, type, ref_distance, lanes, reserved
_ENTRY = struct.Struct("<QIB3x")
_TRAILER = struct.Struct("<Q4s")


class FrameType(IntEnum):
    """How a frame is coded."""

    INTRA = 0
    INTER = 1
    INR = 2


def _frame_rate(numerator: int, denominator: int) -> Fraction:
    if numerator == 0 or denominator == 0:
        raise CorruptStreamError("invalid frame rate in video header")
    return Fraction(numerator, denominator)


@dataclass(frozen=True, kw_only=True)
class SequenceHeader(StreamHeader):
    """Everything a video decoder needs before the frames."""

    KIND = StreamKind.VIDEO
    WHERE = "video header"
    PICTURE = "frame"

    fps: Fraction = wire("II", to_wire=lambda fps: (fps.numerator, fps.denominator), from_wire=_frame_rate)
    frame_count: int = wire("I")
    intra_period: int = wire("I")

    def validate_own(self) -> None:
        """Frame rate, frame count and intra period."""
        if not (0 < self.fps.numerator < 1 << 32 and 0 < self.fps.denominator < 1 << 32):
            raise CorruptStreamError("invalid frame rate in video header")
        if not 1 <= self.frame_count <= MAX_FRAMES:
            raise CorruptStreamError(f"invalid frame count {self.frame_count} in video header")
        if self.intra_period < 1:
            raise CorruptStreamError("invalid intra period in video header")

    def pack(self) -> bytes:
        """The serialized header, CRC included."""
        self.validate()
        return self.pack_head(SEQUENCE_FIELDS, self.name_size(self.model) + SEQUENCE_FIELDS.size + 4)


SEQUENCE_FIELDS = Layout(SequenceHeader)


@dataclass(frozen=True)
class FramePacket:
    """One coded frame."""

    frame: int
    type: FrameType
    ref_distance: int
    lanes: list[bytes]

    def pack(self) -> bytes:
        """The serialized packet with both checksums."""
        if not 1 <= len(self.lanes) <= MAX_LANES:
            raise ValueError("a frame needs 1..64 coder lanes")
        head = _PACKET.pack(PACKET_SYNC, self.frame, self.type, self.ref_distance, len(self.lanes), 0)
        head += b"".join(struct.pack("<I", len(lane)) for lane in self.lanes)
        payload = b"".join(self.lanes)
        return head + struct.pack("<I", zlib.crc32(head)) + payload + struct.pack("<I", zlib.crc32(payload))


@dataclass(frozen=True)
class IndexEntry:
    """Where a frame's packet starts, and its type."""

    offset: int
    frame: int
    type: FrameType


def write_sequence(header: SequenceHeader, packets: list[bytes]) -> bytes:
    """A complete video stream from a header and packed frame packets (in frame order)."""
    if len(packets) != header.frame_count:
        raise ValueError("frame count does not match the header")
    out = bytearray(header.pack())
    entries = []
    for packet in packets:
        _, frame, kind, *_ = _PACKET.unpack_from(packet)
        entries.append(_ENTRY.pack(len(out), frame, kind))
        out += packet
    index_offset = len(out)
    index = INDEX_SYNC + struct.pack("<I", len(entries)) + b"".join(entries)
    out += index + struct.pack("<I", zlib.crc32(index)) + _TRAILER.pack(index_offset, END_MAGIC)
    return bytes(out)


def read_sequence_header(data: bytes) -> SequenceHeader:
    """Parses and checks the sequence header (magic, version, kind, CRC, limits)."""
    fixed = read_fixed_header(data)
    if fixed.kind != StreamKind.VIDEO:
        raise UnsupportedStreamError("not a video stream")
    model, pos = read_model_name(data, fixed.header_size, SEQUENCE_FIELDS.size + 4)
    if pos + SEQUENCE_FIELDS.size + 4 != fixed.header_size:
        raise CorruptStreamError("inconsistent video header size")
    header = SequenceHeader(model=model, flags=fixed.flags, version=(fixed.major, fixed.minor),
                            **SEQUENCE_FIELDS.convert(SEQUENCE_FIELDS.unpack_raw(data, pos)))
    header.validate()
    return header


def header_size(data: bytes) -> int:
    """Bytes of the sequence header (valid after :func:`read_sequence_header`)."""
    return read_fixed_header(data).header_size


def index_offset(data: bytes) -> int:
    """Where the index starts, from the trailer (valid when :func:`read_index` succeeded)."""
    return _TRAILER.unpack_from(data, len(data) - _TRAILER.size)[0]


def read_index(data: bytes, header: SequenceHeader) -> list[IndexEntry] | None:
    """The seek index, or ``None`` when it is missing or damaged (walk the packets instead)."""
    if len(data) < _TRAILER.size:
        return None
    offset, end = _TRAILER.unpack_from(data, len(data) - _TRAILER.size)
    size = 8 + header.frame_count * _ENTRY.size
    if end != END_MAGIC or offset + size + 4 + _TRAILER.size != len(data):
        return None
    index = data[offset : offset + size]
    if index[:4] != INDEX_SYNC or struct.unpack_from("<I", index, 4)[0] != header.frame_count:
        return None
    if zlib.crc32(index) != struct.unpack_from("<I", data, offset + size)[0]:
        return None
    entries = []
    for i in range(header.frame_count):
        position, frame, kind = _ENTRY.unpack_from(index, 8 + i * _ENTRY.size)
        if frame != i or kind not in FrameType.__members__.values() or position >= offset:
            return None
        entries.append(IndexEntry(position, frame, FrameType(kind)))
    return entries


def read_packet(data: bytes, offset: int, expected_frame: int) -> tuple[FramePacket, int]:
    """The packet at ``offset`` (checked) and the offset of the next one."""
    where = f"frame {expected_frame}"
    if offset + _PACKET.size > len(data):
        raise CorruptStreamError(f"{where}: truncated stream")
    sync, frame, kind, ref_distance, lanes, _ = _PACKET.unpack_from(data, offset)
    if sync != PACKET_SYNC:
        raise CorruptStreamError(f"{where}: damaged packet (no sync word)")
    end_of_head = offset + _PACKET.size + 4 * lanes
    if not 1 <= lanes <= MAX_LANES or end_of_head + 4 > len(data):
        raise CorruptStreamError(f"{where}: damaged or truncated packet header")
    (stored,) = struct.unpack_from("<I", data, end_of_head)
    if zlib.crc32(data[offset:end_of_head]) != stored:
        raise CorruptStreamError(f"{where}: damaged packet (header checksum mismatch)")
    if frame != expected_frame:
        raise CorruptStreamError(f"{where}: packet holds frame {frame}")
    try:
        frame_type = FrameType(kind)
    except ValueError:
        raise UnsupportedStreamError(f"{where}: frame type {kind} is not supported") from None
    sizes = struct.unpack_from(f"<{lanes}I", data, offset + _PACKET.size)
    start = end_of_head + 4
    stop = start + sum(sizes)
    if stop + 4 > len(data):
        raise CorruptStreamError(f"{where}: truncated stream")
    if zlib.crc32(data[start:stop]) != struct.unpack_from("<I", data, stop)[0]:
        raise CorruptStreamError(f"{where}: damaged packet (payload checksum mismatch)")
    parts, pos = [], start
    for size in sizes:
        parts.append(data[pos : pos + size])
        pos += size
    return FramePacket(frame, frame_type, ref_distance, parts), stop + 4
