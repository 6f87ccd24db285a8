"""The rescale every fixed-point layer ends with, shared by the kernels."""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def rescale_and_clamp(acc, lower, upper):
    """``floor((acc + 2**13) / 2**14)`` (weights carry 14 fractional bits; on int64 the shift
    is arithmetic, so it floors below zero too), clamped to ``[lower, upper]`` (``[0, 2**24]``
    after a ReLU, else ``[-2**24, 2**24]``)."""
    out = (acc + 8192) >> 14
    return tl.minimum(tl.maximum(out, lower), upper)
