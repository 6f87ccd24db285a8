"""Video to ``.lic`` video streams and back (container: :mod:`lic.format.sequence`).

The coding itself belongs to the video mode that serves the model's architecture
(:mod:`lic.codec.video_modes`): ``frames`` (:mod:`lic.codec.frames_mode`: intra frames and
P-frames) and ``inr`` (:mod:`lic.codec.inr_mode`: one fitted network per group of frames).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

from lic.codec import frames_mode, inr_mode  # noqa: F401  (registers the modes)
from lic.codec.image import check_model
from lic.codec.inr import FitConfig
from lic.codec.pictures import check_quality
from lic.codec.refine import RefineConfig
from lic.codec.video_info import VideoInfo
from lic.codec.video_modes import video_mode, video_mode_for
from lic.codec.video_stream import FrameRecord
from lic.errors import LicError
from lic.format.sequence import SequenceHeader, read_sequence_header
from lic.models.weights import LoadedModel

__all__ = ["decode_video", "encode_video", "video_mode"]


def encode_video(frames: Iterable[np.ndarray], info: VideoInfo, model: LoadedModel, quality: float,
                 refine: RefineConfig | None = None,
                 on_frame: Callable[[FrameRecord], None] = lambda record: None,
                 intra_period: int | None = None, fit: FitConfig | None = None) -> tuple[bytes, SequenceHeader]:
    """Codes ``HxWx3`` RGB uint8 frames into one ``.lic`` video stream.

    ``intra_period``: distance between intra frames (1: all intra); the default is
    :data:`lic.codec.frames_mode.DEFAULT_INTRA_PERIOD` for a video model and 1 for an image model, which has no
    P-frame codec. With the INR model it is the number of frames per fitted network
    (default :data:`lic.codec.inr_mode.DEFAULT_INR_GROUP`) and ``fit`` says how to fit them. ``on_frame``
    sees every frame's record as it is coded.
    """
    quality = check_quality(model, quality)
    return video_mode_for(model).encode(frames, info, model, quality, refine, on_frame, intra_period, fit)


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
    yield from video_mode_for(model).decode(data, header, model, start, stop, threads)
