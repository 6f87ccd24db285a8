"""What every video mode shares: the frame records, packet walking, access points, damage reports."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from lic.codec.video_info import VideoInfo
from lic.errors import CorruptStreamError, UnsupportedInputError
from lic.format.header import ColourFormat
from lic.format.sequence import (
    FramePacket,
    FrameType,
    IndexEntry,
    SequenceHeader,
    header_size,
    index_offset,
    read_index,
    read_packet,
)
from lic.limits import MAX_FRAMES
from lic.models.weights import LoadedModel


@dataclass(frozen=True)
class FrameRecord:
    """What the encoder did with one frame: its source, its bytes and the decoder's exact output."""

    index: int
    type: FrameType
    bytes: int
    source: np.ndarray
    reconstruction: np.ndarray


def sequence_header(model: LoadedModel, quality: float, info: VideoInfo, frame_count: int, intra_period: int,
                    flags: int) -> SequenceHeader:
    """The header of a coded clip."""
    return SequenceHeader(model=model.name, digest=model.digest, quality=quality, width=info.width,
                          height=info.height, colour=ColourFormat.RGB, fps=info.fps, frame_count=frame_count,
                          intra_period=intra_period, flags=flags)


def check_frame(index: int, pixels: np.ndarray, info: VideoInfo) -> None:
    if index >= MAX_FRAMES:
        raise UnsupportedInputError(f"videos of more than {MAX_FRAMES} frames are not supported")
    if pixels.shape != (info.height, info.width, 3):
        raise UnsupportedInputError(f"frame {index} is {pixels.shape[1]}x{pixels.shape[0]}, "
                                    f"not {info.width}x{info.height}")


def frame_offsets(data: bytes, header: SequenceHeader) -> list[tuple[int, FrameType, int]]:
    """``(offset, type, packet bytes)`` of every frame, from the index or, if it is damaged,
    by walking the packets (which checks them)."""
    return list(iter_frame_offsets(data, header))


def iter_frame_offsets(data: bytes, header: SequenceHeader) -> Iterator[tuple[int, FrameType, int]]:
    """:func:`frame_offsets` one frame at a time: the intact frames come before a damaged one's error."""
    index = read_index(data, header)
    if index is not None:
        ends = [e.offset for e in index[1:]] + [index_offset(data)]
        yield from ((e.offset, e.type, end - e.offset) for e, end in zip(index, ends))
        return
    offset = header_size(data)
    for frame in range(header.frame_count):
        packet, following = read_packet(data, offset, frame)
        yield offset, packet.type, following - offset
        offset = following


@contextmanager
def damage_in_frame(frame: int) -> Iterator[None]:
    """Names the frame in a damage report from the entropy decoder or the payload of a packet."""
    try:
        yield
    except CorruptStreamError as exc:
        raise CorruptStreamError(f"frame {frame}: {exc}") from None


def is_access_point(packet: FramePacket) -> bool:
    """Whether decoding can start at ``packet``: an intra frame or an INR group's first frame."""
    return packet.type == FrameType.INTRA or (packet.type == FrameType.INR and packet.ref_distance == 0)


def access_point(data: bytes, header: SequenceHeader, start: int,
                  index: list[IndexEntry] | None) -> tuple[int, int]:
    """``(frame, offset)`` of the last access point at or before ``start``.

    From the ``index`` (an INR frame's own packet says how far back its group starts), or,
    when the index is damaged (``None``), by walking the packets (checking, not decoding them).
    """
    if index is not None and index[start].type == FrameType.INR:
        packet, _ = read_packet(data, index[start].offset, start)
        first = start - packet.ref_distance
        if first < 0:
            raise CorruptStreamError(f"frame {start}: refers to a frame before the start of the video")
        return first, index[first].offset
    if index is not None:
        intra_frames = [e.frame for e in index[: start + 1] if e.type == FrameType.INTRA]
        if not intra_frames:
            raise CorruptStreamError("the video does not start with an intra frame")
        return intra_frames[-1], index[intra_frames[-1]].offset
    first, offset, position = None, header_size(data), header_size(data)
    for frame in range(start + 1):
        packet, following = read_packet(data, position, frame)
        if is_access_point(packet):
            first, offset = frame, position
        position = following
    if first is None:
        raise CorruptStreamError("the video does not start with an intra frame")
    return first, offset
