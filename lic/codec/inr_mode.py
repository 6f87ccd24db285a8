"""The ``inr`` video mode: every group of ``intra_period`` frames is one fitted network
(:mod:`lic.codec.inr`, ``lic encode --mode inr``); a seek reads the group's first packet and
the wanted frame's."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

from lic.codec.image import stream_flags
from lic.codec.inr import FitConfig, check_frame_size, decode_embedding, decode_network, encode_inr_frames, render
from lic.codec.refine import RefineConfig
from lic.codec.video_info import VideoInfo
from lic.codec.video_modes import register_video_mode
from lic.codec.video_stream import FrameRecord, access_point, check_frame, damage_in_frame, sequence_header
from lic.errors import CorruptStreamError, UnsupportedInputError
from lic.format.sequence import FrameType, SequenceHeader, read_index, read_packet, write_sequence
from lic.limits import TILE_THRESHOLD, check_size
from lic.models.weights import LoadedModel

DEFAULT_INR_GROUP = 32
"""Frames per fitted network in INR mode."""


class InrMode:
    """One fitted network per group of frames (``--mode inr``)."""

    name = "inr"
    architectures = ("inr",)

    def default_model(self) -> str:
        """The model a clip is coded with when none is named."""
        from lic.models import INR_MODEL

        return INR_MODEL

    def encode(self, frames: Iterable[np.ndarray], info: VideoInfo, model: LoadedModel, quality: float,
               refine: RefineConfig | None, on_frame: Callable[[FrameRecord], None], intra_period: int | None,
               fit: FitConfig | None) -> tuple[bytes, SequenceHeader]:
        """Fits and codes one network per ``intra_period`` frames (default :data:`DEFAULT_INR_GROUP`);
        ``fit`` says how (``refine`` is unused)."""
        group = intra_period or DEFAULT_INR_GROUP
        check_frame_size(info.width, info.height, TILE_THRESHOLD)

        def checked() -> Iterator[np.ndarray]:
            for index, pixels in enumerate(frames):
                check_frame(index, pixels, info)
                yield pixels

        def record(index: int, packet: bytes, source: np.ndarray, reconstruction: np.ndarray) -> None:
            on_frame(FrameRecord(index, FrameType.INR, len(packet), source, reconstruction))

        packets = encode_inr_frames(checked(), info.width, info.height, model.module, quality, group,
                                    fit or FitConfig(), record)
        if not packets:
            raise UnsupportedInputError("the video has no frames")
        header = sequence_header(model, quality, info, len(packets), group, stream_flags(model))
        return write_sequence(header, packets), header

    def decode(self, data: bytes, header: SequenceHeader, model: LoadedModel, start: int, stop: int,
               threads: int | None) -> Iterator[np.ndarray]:
        """Frames ``start .. stop - 1``: each from its group's network and its embedding."""
        codec = model.module
        width, height = header.width, header.height
        check_size(width, height)
        check_frame_size(width, height, TILE_THRESHOLD)
        index = read_index(data, header)
        first, offset = access_point(data, header, start, index)
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
                with damage_in_frame(frame):
                    network, embedding = decode_network(packet, codec, width, height)
                group = frame
            elif frame - packet.ref_distance != group:
                raise CorruptStreamError(f"frame {frame}: refers to frame {frame - packet.ref_distance}, "
                                         f"which does not start its group")
            elif frame >= start:
                with damage_in_frame(frame):
                    embedding = decode_embedding(packet, codec, network, width, height)
            if frame >= start:
                yield render(network, embedding, width, height)

    def describe(self, period: int, fit: FitConfig | None) -> tuple[str, str]:
        """A short label and a sentence for results tables."""
        steps = (fit or FitConfig()).steps
        return f"inr-g{period}", f"one fitted network per {period} frames ({steps} steps each)"


register_video_mode(InrMode())
