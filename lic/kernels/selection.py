"""Whether the fixed-point networks run through the Triton kernels (``LIC_KERNELS``)."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from lic.errors import LicError

ENVIRONMENT_VARIABLE = "LIC_KERNELS"


def kernels_enabled(device: torch.device) -> bool:
    """Whether tensors on ``device`` go through :mod:`lic.kernels`.

    ``LIC_KERNELS`` unset (or ``auto``): on CUDA devices when Triton is installed; ``0``:
    never (the torch float64 path); ``1``: on every device, the CPU included (Triton runs
    CPU tensors only when ``TRITON_INTERPRET=1`` is set before it is imported).
    """
    setting = os.environ.get(ENVIRONMENT_VARIABLE, "auto").strip().lower()
    if setting == "0":
        return False
    if setting == "1":
        return True
    if setting != "auto":
        raise LicError(f"{ENVIRONMENT_VARIABLE} must be 0, 1 or auto, not {setting!r}")
    return device.type == "cuda" and triton_available()


def triton_available() -> bool:
    """Whether the ``triton`` package is installed."""
    return importlib.util.find_spec("triton") is not None


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
