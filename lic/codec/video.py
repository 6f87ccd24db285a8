"""Video to ``.lic`` video streams and back (container: :mod:`lic.format.sequence`).

Frames are intra frames (the image model) or, with a video model
(:class:`lic.models.inter.ElicVideoModel`) and an intra period above 1, P-frames whose
latent is coded conditionally on the previous frame's decoded latent. Every
``intra_period``-th frame is intra. Seeking starts at the nearest intra frame at or
before the wanted one and only entropy-decodes the P-frames before it (no synthesis).
With the INR model (:class:`lic.models.inr.InrCodec`, ``lic encode --mode inr``) every
group of ``intra_period`` frames is one fitted network (:mod:`lic.codec.inr`); a seek
reads the group's first packet and the wanted frame's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from lic.codec.image import (
    analyze_picture,
    check_model,
    check_quality,
    check_size,
    coding_threads,
    decode_lanes,
    encode_lanes,
    lanes_for,
    range_decoder,
    stream_flags,
    synthesize_picture,
)
from lic.codec.inr import FitConfig, check_frame_size, decode_embedding, decode_network, encode_inr_frames, render
from lic.codec.refine import RefineConfig
from lic.codec.videoio import VideoInfo
from lic.entropy.range_coder import RangeEncoder
from lic.errors import CorruptStreamError, LicError, UnsupportedInputError
from lic.format.geometry import padded_size
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
    read_sequence_header,
    write_sequence,
)
from lic.limits import MAX_FRAMES, TILE_THRESHOLD
from lic.models.inr import InrCodec
from lic.models.inter import ElicVideoModel
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
                 on_frame: Callable[[FrameRecord], None] = lambda record: None,
                 intra_period: int | None = None, fit: FitConfig | None = None) -> tuple[bytes, SequenceHeader]:
    """Codes ``HxWx3`` RGB uint8 frames into one ``.lic`` video stream.

    ``intra_period``: distance between intra frames (1: all intra); the default is
    :data:`DEFAULT_INTRA_PERIOD` for a video model and 1 for an image model, which has no
    P-frame codec. With the INR model it is the number of frames per fitted network
    (default :data:`DEFAULT_INR_GROUP`) and ``fit`` says how to fit them. ``on_frame``
    sees every frame's record as it is coded.
    """
    quality = check_quality(model, quality)
    if isinstance(model.module, InrCodec):
        return _encode_inr(frames, info, model, quality, on_frame, intra_period or DEFAULT_INR_GROUP, fit)
    inter = isinstance(model.module, ElicVideoModel)
    period = (DEFAULT_INTRA_PERIOD if inter else 1) if intra_period is None else intra_period
    if period < 1:
        raise UnsupportedInputError(f"the intra period must be 1 or more, not {period}")
    if period > 1 and not inter:
        raise UnsupportedInputError(f"model {model.name} has no P-frame codec: use a video model "
                                    "(e.g. elic-s-video) or an intra period of 1")
    intra = intra_model(model)
    padded_h, padded_w = padded_size(info.width, info.height)
    if padded_h * padded_w > TILE_THRESHOLD:
        raise UnsupportedInputError(f"video frames of {info.width}x{info.height} are too large "
                                    f"(at most {TILE_THRESHOLD:,} pixels after padding to multiples of 64)")
    packets: list[bytes] = []
    for index, pixels in enumerate(frames):
        _check_frame(index, pixels, info)
        if index % period == 0:
            kind = FrameType.INTRA
            lanes, reconstruction, reference = encode_lanes(pixels, intra, quality, None, refine)
        else:
            kind = FrameType.INTER
            lanes, reconstruction, reference = _encode_inter(pixels, model, quality, reference)
        packet = FramePacket(index, kind, 0 if kind == FrameType.INTRA else 1, lanes).pack()
        packets.append(packet)
        on_frame(FrameRecord(index, kind, len(packet), pixels, reconstruction))
    if not packets:
        raise UnsupportedInputError("the video has no frames")
    header = SequenceHeader(model=model.name, digest=model.digest, quality=quality, width=info.width,
                            height=info.height, colour=ColourFormat.RGB, fps=info.fps, frame_count=len(packets),
                            intra_period=period, flags=stream_flags(intra))
    return write_sequence(header, packets), header


DEFAULT_INTRA_PERIOD = 8
"""Intra period of video models: seeking decodes at most 7 P-frame latents before the wanted frame."""
DEFAULT_INR_GROUP = 32
"""Frames per fitted network in INR mode."""


def _check_frame(index: int, pixels: np.ndarray, info: VideoInfo) -> None:
    if index >= MAX_FRAMES:
        raise UnsupportedInputError(f"videos of more than {MAX_FRAMES} frames are not supported")
    if pixels.shape != (info.height, info.width, 3):
        raise UnsupportedInputError(f"frame {index} is {pixels.shape[1]}x{pixels.shape[0]}, "
                                    f"not {info.width}x{info.height}")


def _encode_inr(frames: Iterable[np.ndarray], info: VideoInfo, model: LoadedModel, quality: float,
                on_frame: Callable[[FrameRecord], None], group: int,
                fit: FitConfig | None) -> tuple[bytes, SequenceHeader]:
    """INR mode: one fitted network per ``group`` frames (:mod:`lic.codec.inr`)."""
    check_frame_size(info.width, info.height, TILE_THRESHOLD)

    def checked() -> Iterator[np.ndarray]:
        for index, pixels in enumerate(frames):
            _check_frame(index, pixels, info)
            yield pixels

    def record(index: int, packet: bytes, source: np.ndarray, reconstruction: np.ndarray) -> None:
        on_frame(FrameRecord(index, FrameType.INR, len(packet), source, reconstruction))

    packets = encode_inr_frames(checked(), info.width, info.height, model.module, quality, group,
                                fit or FitConfig(), record)
    if not packets:
        raise UnsupportedInputError("the video has no frames")
    header = SequenceHeader(model=model.name, digest=model.digest, quality=quality, width=info.width,
                            height=info.height, colour=ColourFormat.RGB, fps=info.fps, frame_count=len(packets),
                            intra_period=group, flags=stream_flags(model))
    return write_sequence(header, packets), header


def intra_model(model: LoadedModel) -> LoadedModel:
    """The image model that codes intra frames: ``model`` itself, or a video model's intra part."""
    if isinstance(model.module, ElicVideoModel):
        return LoadedModel(model.name, model.module.intra, model.digest, model.metadata)
    return model


def _encode_inter(pixels: np.ndarray, model: LoadedModel, quality: float,
                  reference: torch.Tensor) -> tuple[list[bytes], np.ndarray, torch.Tensor]:
    """A P-frame: lanes, the decoder's exact output and the decoded latent."""
    intra = intra_model(model)
    height, width = pixels.shape[:2]
    y = analyze_picture(pixels, intra, quality)
    encoder = RangeEncoder(lanes_for(width, height))
    with coding_threads(), torch.inference_mode():
        y_hat = model.module.inter.encode(y, reference, encoder)
    return encoder.finish(), synthesize_picture(y_hat, intra, quality, width, height), y_hat


def _decode_inter(lanes: list[bytes], model: LoadedModel, reference: torch.Tensor,
                  threads: int | None) -> torch.Tensor:
    """The decoded latent of a P-frame's lanes."""
    decoder = range_decoder(lanes, threads)
    ratio = model.module.intra.downsampling // model.module.intra.latent_stride
    z_size = (reference.shape[2] // ratio, reference.shape[3] // ratio)
    with coding_threads(), torch.inference_mode():
        y_hat = model.module.inter.decode(decoder, reference, z_size)
    decoder.check_exhausted()
    return y_hat


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
    if isinstance(model.module, InrCodec):
        yield from _decode_inr(data, header, model.module, start, stop)
        return
    first, offset = _access_point(data, header, start, read_index(data, header))
    intra = intra_model(model)
    reference = None
    for frame in range(first, stop):
        packet, offset = read_packet(data, offset, frame)
        if packet.type == FrameType.INR:
            raise CorruptStreamError(f"frame {frame}: an INR frame in a stream of model {model.name}")
        if packet.type != FrameType.INTRA and not isinstance(model.module, ElicVideoModel):
            raise CorruptStreamError(f"frame {frame}: an inter frame in a stream of image model {model.name}")
        with _damage_in_frame(frame):
            if packet.type == FrameType.INTRA:
                reference = decode_lanes(packet.lanes, intra, header.quality, header.width, header.height, threads)
            else:
                reference = _decode_inter(packet.lanes, model, reference, threads)
        if frame >= start:
            yield synthesize_picture(reference, intra, header.quality, header.width, header.height, header.colour)


@contextmanager
def _damage_in_frame(frame: int) -> Iterator[None]:
    """Names the frame in a damage report from the entropy decoder or the payload of a packet."""
    try:
        yield
    except CorruptStreamError as exc:
        raise CorruptStreamError(f"frame {frame}: {exc}") from None


def _is_access_point(packet: FramePacket) -> bool:
    """Whether decoding can start at ``packet``: an intra frame or an INR group's first frame."""
    return packet.type == FrameType.INTRA or (packet.type == FrameType.INR and packet.ref_distance == 0)


def _access_point(data: bytes, header: SequenceHeader, start: int,
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
        if _is_access_point(packet):
            first, offset = frame, position
        position = following
    if first is None:
        raise CorruptStreamError("the video does not start with an intra frame")
    return first, offset


def _decode_inr(data: bytes, header: SequenceHeader, codec: InrCodec, start: int, stop: int) -> Iterator[np.ndarray]:
    """Frames ``start .. stop - 1`` of an INR stream: each from its group's network and its embedding."""
    width, height = header.width, header.height
    check_size(width, height)
    check_frame_size(width, height, TILE_THRESHOLD)
    index = read_index(data, header)
    first, offset = _access_point(data, header, start, index)
    network, group = None, -1
    for frame in range(first, stop):
        if index is not None and first < frame < start:
            continue  # with an index, only the group's first packet and the wanted frames' are read
        if index is not None:
            offset = index[frame].offset
        packet, offset = read_packet(data, offset, frame)
        if packet.type != FrameType.INR:
            raise CorruptStreamError(f"frame {frame}: a {packet.type.name.lower()} frame in an INR stream")
        if packet.ref_distance == 0:
            with _damage_in_frame(frame):
                network, embedding = decode_network(packet, codec, width, height)
            group = frame
        elif frame - packet.ref_distance != group:
            raise CorruptStreamError(f"frame {frame}: refers to frame {frame - packet.ref_distance}, "
                                     f"which does not start its group")
        elif frame >= start:
            with _damage_in_frame(frame):
                embedding = decode_embedding(packet, codec, network, width, height)
        if frame >= start:
            yield render(network, embedding, width, height)
