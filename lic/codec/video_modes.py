"""The registry of video modes: each mode codes clips its own way and is asked, never type-tested.

A mode is registered by name (``lic encode --mode NAME``) and serves the model architectures
it lists (:attr:`lic.models.registry.ModelSpec.architecture`). Adding a mode is one module
that defines a :class:`VideoMode` and calls :func:`register_video_mode`, plus its import in
:mod:`lic.codec.video`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Protocol

import numpy as np

from lic.codec.video_info import VideoInfo
from lic.errors import LicError
from lic.format.sequence import SequenceHeader
from lic.models.registry import get_spec
from lic.models.weights import LoadedModel

if TYPE_CHECKING:
    from lic.codec.inr import FitConfig
    from lic.codec.refine import RefineConfig
    from lic.codec.video_stream import FrameRecord


class VideoMode(Protocol):
    """How one video mode encodes and decodes clips."""

    name: str
    architectures: tuple[str, ...]
    """Model architectures this mode codes with."""

    def default_model(self) -> str:
        """The model a clip is coded with when none is named."""

    def encode(self, frames: Iterable[np.ndarray], info: VideoInfo, model: LoadedModel, quality: float,
               refine: RefineConfig | None, on_frame: Callable[[FrameRecord], None], intra_period: int | None,
               fit: FitConfig | None) -> tuple[bytes, SequenceHeader]:
        """The stream and its header (quality already checked)."""

    def decode(self, data: bytes, header: SequenceHeader, model: LoadedModel, start: int, stop: int,
               threads: int | None) -> Iterator[np.ndarray]:
        """Frames ``start .. stop - 1`` (header and model already checked, ``start`` valid)."""

    def describe(self, period: int, fit: FitConfig | None) -> tuple[str, str]:
        """A short label and a sentence for results tables."""


_MODES: dict[str, VideoMode] = {}


def register_video_mode(mode: VideoMode) -> VideoMode:
    """Adds ``mode``; names and architectures are each served by one mode."""
    if mode.name in _MODES:
        raise ValueError(f"video mode {mode.name!r} is already registered")
    taken = {a for m in _MODES.values() for a in m.architectures} & set(mode.architectures)
    if taken:
        raise ValueError(f"architectures {sorted(taken)} already have a video mode")
    _MODES[mode.name] = mode
    return mode


def video_mode(name: str) -> VideoMode:
    """The mode registered as ``name``."""
    try:
        return _MODES[name]
    except KeyError:
        raise LicError(f"unknown video mode {name!r}; known: {', '.join(video_mode_names())}") from None


def video_mode_names() -> list[str]:
    """Names of the registered modes, in registration order."""
    return list(_MODES)


def video_mode_for(model: LoadedModel) -> VideoMode:
    """The mode that codes clips with ``model`` (by its registered architecture)."""
    architecture = get_spec(model.name).architecture
    for mode in _MODES.values():
        if architecture in mode.architectures:
            return mode
    raise LicError(f"model {model.name} does not code video")
