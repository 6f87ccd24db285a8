"""Whether the fixed-point networks run through the Triton kernels (``LIC_KERNELS``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from lic.errors import LicError

ENVIRONMENT_VARIABLE = "LIC_KERNELS"


def kernels_enabled() -> bool:
    """Whether the fixed-point layers go through :mod:`lic.kernels` (on any device).

    ``LIC_KERNELS`` unset, ``auto`` or ``0``: never (the torch float64 path); ``1``: on every
    device, the CPU included (Triton runs CPU tensors only when ``TRITON_INTERPRET=1`` is set
    before it is imported). The kernels are opt-in because on the one GPU measured (an H200,
    2026-12-04, ``benchmarks/results/gpu-check.json``) the torch path was faster: Kodak decode
    25 ms against 56 ms, 3840x2160 decode 83 ms against 606 ms. The bytes are the same either way.
    """
    setting = os.environ.get(ENVIRONMENT_VARIABLE, "auto").strip().lower()
    if setting not in ("0", "1", "auto"):
        raise LicError(f"{ENVIRONMENT_VARIABLE} must be 0, 1 or auto, not {setting!r}")
    return setting == "1"


@contextmanager
def kernel_setting(value: str) -> Iterator[None]:
    """Runs the block with ``LIC_KERNELS`` set to ``value`` (``0``, ``1`` or ``auto``)."""
    previous = os.environ.get(ENVIRONMENT_VARIABLE)
    os.environ[ENVIRONMENT_VARIABLE] = value
    try:
        yield
    finally:
        if previous is None:
            del os.environ[ENVIRONMENT_VARIABLE]
        else:
            os.environ[ENVIRONMENT_VARIABLE] = previous
