"""The ``frames`` video mode: intra frames (the image model) and, with a video model, P-frames.

Every ``intra_period``-th frame is intra; the frames between are P-frames whose latent is
coded conditionally on the previous frame's decoded latent
(:class:`~lic.models.protocols.VideoModel`). Seeking starts at the nearest intra frame at or
before the wanted one and only entropy-decodes the P-frames before it (no synthesis).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np
import torch

from lic.codec.image import (
    analyze_picture,
    coding_threads,
    decode_lanes,
    encode_lanes,
    lanes_for,
    range_decoder,
    stream_flags,
    synthesize_picture,
)
from lic.codec.inr import FitConfig
from lic.codec.refine import RefineConfig
from lic.codec.video_info import VideoInfo
from lic.codec.video_modes import register_video_mode
from lic.codec.video_stream import FrameRecord, access_point, check_frame, damage_in_frame, sequence_header
from lic.entropy.range_coder import RangeEncoder
from lic.errors import CorruptStreamError, UnsupportedInputError
from lic.format.geometry import padded_size
from lic.format.sequence import FramePacket, FrameType, SequenceHeader, read_index, read_packet, write_sequence
from lic.limits import TILE_THRESHOLD
from lic.models.weights import LoadedModel

DEFAULT_INTRA_PERIOD = 8
"""Intra period of video models: seeking decodes at most 7 P-frame latents before the wanted frame."""


class FramesMode:
    """Intra frames and P-frames (``--mode frames``, the default)."""

    name = "frames"
    architectures = ("elic", "elic-video")

    def default_model(self) -> str:
        """The model a clip is coded with when none is named."""
        from lic.models import DEFAULT_VIDEO_MODEL

        return DEFAULT_VIDEO_MODEL

    def encode(self, frames: Iterable[np.ndarray], info: VideoInfo, model: LoadedModel, quality: float,
               refine: RefineConfig | None, on_frame: Callable[[FrameRecord], None], intra_period: int | None,
               fit: FitConfig | None) -> tuple[bytes, SequenceHeader]:
        """Codes the frames; the intra period defaults to :data:`DEFAULT_INTRA_PERIOD` for a video
        model and 1 for an image model, which has no P-frame codec (``fit`` is unused)."""
        inter = has_p_frames(model)
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
            check_frame(index, pixels, info)
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
        header = sequence_header(model, quality, info, len(packets), period, stream_flags(intra))
        return write_sequence(header, packets), header

    def decode(self, data: bytes, header: SequenceHeader, model: LoadedModel, start: int, stop: int,
               threads: int | None) -> Iterator[np.ndarray]:
        """Frames ``start .. stop - 1``, decoding from the last intra frame at or before ``start``."""
        first, offset = access_point(data, header, start, read_index(data, header))
        intra = intra_model(model)
        reference = None
        for frame in range(first, stop):
            packet, offset = read_packet(data, offset, frame)
            if packet.type == FrameType.INR:
                raise CorruptStreamError(f"frame {frame}: an INR frame in a stream of model {model.name}")
            if packet.type != FrameType.INTRA and not has_p_frames(model):
                raise CorruptStreamError(f"frame {frame}: an inter frame in a stream of image model {model.name}")
            with damage_in_frame(frame):
                if packet.type == FrameType.INTRA:
                    reference = decode_lanes(packet.lanes, intra, header.quality, header.width, header.height, threads)
                else:
                    reference = _decode_inter(packet.lanes, model, reference, threads)
            if frame >= start:
                yield synthesize_picture(reference, intra, header.quality, header.width, header.height, header.colour)

    def describe(self, period: int, fit: FitConfig | None) -> tuple[str, str]:
        """A short label and a sentence for results tables."""
        if period == 1:
            return "intra", "every frame intra-coded"
        return f"inter-ip{period}", f"an intra frame every {period} frames, P-frames between"


def has_p_frames(model: LoadedModel) -> bool:
    """Whether ``model`` is a :class:`~lic.models.protocols.VideoModel` (it has a P-frame codec)."""
    return hasattr(model.module, "inter")


def intra_model(model: LoadedModel) -> LoadedModel:
    """The image model that codes intra frames: ``model`` itself, or a video model's intra part."""
    if has_p_frames(model):
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


register_video_mode(FramesMode())
