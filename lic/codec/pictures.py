"""Checks and conversions every image mode shares (the learned codec, the overfit mode, video)."""

from __future__ import annotations

import numpy as np

from lic.errors import UnsupportedInputError
from lic.models.weights import LoadedModel


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """The grayscale output of an RGB-coded gray image: ``(R + G + B + 1) div 3`` (bitstream-spec.md §1)."""
    return ((rgb.astype(np.uint16).sum(axis=2) + 1) // 3).astype(np.uint8)


def check_quality(model: LoadedModel, quality: float) -> float:
    """Validates a quality for ``model`` (continuous, ``0 .. levels - 1``)."""
    top = model.module.rate_levels - 1
    if not 0.0 <= quality <= top:
        raise UnsupportedInputError(f"quality must be between 0 and {top} for model {model.name}, not {quality:g}")
    return float(np.float32(quality))
