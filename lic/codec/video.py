"""Video to ``.lic`` video streams and back (container: :mod:`lic.codec.sequence`).

Every frame is coded as an intra frame by the image model today; the container
already carries frame types and reference distances so that inter frames can be
added without a format break. Seeking starts at the nearest intra frame at or
before the wanted one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from lic.codec.container import ColourFormat
from lic.codec.image import check_model, check_quality, decode_lanes, encode_lanes, stream_flags
from lic.codec.refine import RefineConfig
from lic.codec.sequence import (
    MAX_FRAMES,
    FramePacket,
    FrameType,
    SequenceHeader,
    header_size,
    index_offset,
    read_index,
    read_packet,
    read_sequence_header,
    write_sequence,
)
from lic.codec.tiles import TILE_THRESHOLD, padded_size
from lic.codec.videoio import VideoInfo
from lic.errors import LicError, UnsupportedInputError
from lic.models.weights import LoadedModel


@dataclass(frozen=True)
class FrameRecord:
    """What the encoder did with one frame: its source, its bytes and the decoder's exact output."""

    index: int
    type: FrameType
    bytes: int
    source: np.ndarray
    reconstruction: np.ndarray


def encode_video(frames: Iterable[np.ndarray], info: VideoInfo, model: LoadedModel, quality: float,
                 refine: RefineConfig | None = None,
                 on_frame: Callable[[FrameRecord], None] = lambda record: None) -> tuple[bytes, SequenceHeader]:
    """Codes ``HxWx3`` RGB uint8 frames into one ``.lic`` video stream.

    ``on_frame`` sees every frame's record as it is coded (progress, reconstructions).
    """
    quality = check_quality(model, quality)
    padded_h, padded_w = padded_size(info.width, info.height)
    if padded_h * padded_w > TILE_THRESHOLD:
        raise UnsupportedInputError(f"video frames of {info.width}x{info.height} are too large "
                                    f"(at most {TILE_THRESHOLD:,} pixels after padding to multiples of 64)")
    packets: list[bytes] = []
    for index, pixels in enumerate(frames):
        if index >= MAX_FRAMES:
            raise UnsupportedInputError(f"videos of more than {MAX_FRAMES} frames are not supported")
        if pixels.shape != (info.height, info.width, 3):
            raise UnsupportedInputError(f"frame {index} is {pixels.shape[1]}x{pixels.shape[0]}, "
                                        f"not {info.width}x{info.height}")
        lanes, reconstruction = encode_lanes(pixels, model, quality, None, refine)
        packet = FramePacket(index, FrameType.INTRA, 0, lanes).pack()
        packets.append(packet)
        on_frame(FrameRecord(index, FrameType.INTRA, len(packet), pixels, reconstruction))
    if not packets:
        raise UnsupportedInputError("the video has no frames")
    header = SequenceHeader(model.name, model.digest, quality, info.width, info.height, ColourFormat.RGB, info.fps,
                            len(packets), 1, stream_flags(model))
    return write_sequence(header, packets), header


def frame_offsets(data: bytes, header: SequenceHeader) -> list[tuple[int, FrameType, int]]:
    """``(offset, type, packet bytes)`` of every frame, from the index or, if it is damaged,
    by walking the packets (which checks them)."""
    index = read_index(data, header)
    if index is not None:
        ends = [e.offset for e in index[1:]] + [index_offset(data)]
        return [(e.offset, e.type, end - e.offset) for e, end in zip(index, ends)]
    offsets, offset = [], header_size(data)
    for frame in range(header.frame_count):
        packet, following = read_packet(data, offset, frame)
        offsets.append((offset, packet.type, following - offset))
        offset = following
    return offsets


def decode_video(data: bytes, model: LoadedModel, start: int = 0, count: int | None = None,
                 threads: int | None = None) -> Iterator[np.ndarray]:
    """Decodes frames ``start .. start + count - 1`` (all from ``start`` by default).

    Decoding begins at the nearest intra frame at or before ``start``, so a seek
    never decodes the stream before it. A damaged frame raises
    :class:`~lic.errors.CorruptStreamError` after every frame before it was yielded.
    """
    header = read_sequence_header(data)
    check_model(header.model, header.digest, model, header.flags)
    if start < 0:
        raise LicError(f"frame {start} does not exist: frames are numbered from 0")
    if start >= header.frame_count:
        raise LicError(f"frame {start} is past the end of the video ({header.frame_count} frames, 0..."
                       f"{header.frame_count - 1})")
    stop = header.frame_count if count is None else min(header.frame_count, start + count)
    index = read_index(data, header)
    if index is not None:
        first = max(e.frame for e in index[: start + 1] if e.type == FrameType.INTRA)
        offset = index[first].offset
    else:  # damaged index: walk the packets (checking, not decoding them) up to the wanted frame
        first, offset = start, header_size(data)
        for frame in range(start):
            offset = read_packet(data, offset, frame)[1]
    for frame in range(first, stop):
        packet, offset = read_packet(data, offset, frame)
        pixels = decode_lanes(packet.lanes, model, header.quality, header.width, header.height, header.colour,
                              threads)
        if frame >= start:
            yield pixels
