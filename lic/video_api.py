"""The Python API for video: iterators of frames in, ``.lic`` video bytes out, and back.

Frames are numpy arrays (``HxWx3`` uint8), PIL images, torch tensors or PyAV
``VideoFrame`` objects, so a PyAV pipeline can feed lic directly.

Example:
    >>> import av, lic
    >>> with av.open("clip.mp4") as container:                              # doctest: +SKIP
    ...     data = lic.compress_video(container.decode(video=0), fps=25, quality=3)
    >>> for frame in lic.decompress_video(data, kind="av"):                 # doctest: +SKIP
    ...     ...  # av.VideoFrame in rgb24, ready for an encoder or a filter graph
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction
from itertools import chain
from typing import Any, Literal

import numpy as np

from lic.api import Codec, ImageLike, _codec, from_pixels, to_pixels
from lic.codec.inr import FitConfig
from lic.codec.video import decode_video, encode_video
from lic.codec.video_info import VideoInfo
from lic.errors import UnsupportedInputError
from lic.format.sequence import read_sequence_header
from lic.models import DEFAULT_VIDEO_MODEL

FrameKind = Literal["numpy", "pil", "torch", "av"]


def _frame_pixels(frame: Any) -> np.ndarray:
    """``HxWx3`` uint8 RGB from any supported frame type."""
    if hasattr(frame, "to_ndarray") and hasattr(frame, "format"):  # av.VideoFrame
        return frame.to_ndarray(format="rgb24")
    pixels = to_pixels(frame)
    return np.repeat(pixels[:, :, None], 3, axis=2) if pixels.ndim == 2 else pixels


def compress_video(frames: Iterable[ImageLike | Any], fps: float | Fraction = 25, quality: float | None = None,
                   model: str = DEFAULT_VIDEO_MODEL, codec: Codec | None = None,
                   intra_period: int | None = None, inr_steps: int | None = None) -> bytes:
    """The ``.lic`` video stream of ``frames`` (all the size of the first) at ``fps`` frames/s.

    ``intra_period``: an intra frame every N frames, P-frames between (default 8 for a
    video model such as the default ``elic-s-video``; 1 codes every frame intra). With
    ``model="nerv"`` (INR mode) it is the number of frames per fitted network, and
    ``inr_steps`` the optimizer steps of each fit (default 1500).

    Example:
        >>> data = compress_video([np.zeros((32, 32, 3), np.uint8)] * 3, fps=30)  # doctest: +SKIP
    """
    codec = codec or _codec(model)
    iterator = iter(frames)
    try:
        first = _frame_pixels(next(iterator))
    except StopIteration:
        raise UnsupportedInputError("the video has no frames") from None
    rate = Fraction(fps).limit_denominator(1001)
    if rate <= 0:
        raise UnsupportedInputError("fps must be positive")
    info = VideoInfo(first.shape[1], first.shape[0], rate)
    pixels = chain([first], (_frame_pixels(f) for f in iterator))
    quality = codec.model.default_quality if quality is None else quality
    with codec._lock:
        data, _ = encode_video(pixels, info, codec.model, quality, intra_period=intra_period,
                               fit=FitConfig(steps=inr_steps) if inr_steps else None)
    return data


def decompress_video(data: bytes, kind: FrameKind = "numpy", start: int = 0, count: int | None = None,
                     codec: Codec | None = None) -> Iterator[ImageLike | Any]:
    """Frames ``start ..`` of a ``.lic`` video stream (decoding begins at the nearest intra frame).

    ``kind``: ``numpy`` (HxWx3 uint8), ``pil``, ``torch`` (``[3, H, W]`` float) or ``av``
    (``av.VideoFrame``, rgb24).

    Example:
        >>> first = next(decompress_video(data))  # doctest: +SKIP
    """
    data = bytes(data)
    header = read_sequence_header(data)
    codec = codec or _codec(header.model)
    frames = decode_video(data, codec.model, start, count)
    while True:
        with codec._lock:
            try:
                pixels = next(frames)
            except StopIteration:
                return
        if kind == "av":
            import av

            yield av.VideoFrame.from_ndarray(pixels, format="rgb24")
        else:
            yield from_pixels(pixels, kind)
