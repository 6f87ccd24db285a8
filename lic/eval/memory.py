"""Peak memory of a block of code: resident set size on Linux, allocator peak on CUDA."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

import torch

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _high_water_mark_kib() -> int:
    """The process's peak resident set size so far (``VmHWM``), in KiB."""
    if _STATUS.exists():
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


class PeakMemory:
    """Context manager measuring the peak memory of its block, in MiB.

    On Linux the kernel's peak-RSS counter is reset on entry (``/proc/self/clear_refs``),
    so ``cpu_mib`` is the whole process's peak resident memory *during* the block (model
    weights included). Where the counter cannot be reset it is the process's peak so far,
    and ``cpu_exact`` is False. ``cuda_mib`` is the peak of torch's CUDA allocator.
    """

    def __init__(self, device: torch.device | None = None) -> None:
        self.device = device
        self.cpu_mib = 0.0
        self.cuda_mib = 0.0
        self.cpu_exact = False

    def __enter__(self) -> PeakMemory:
        try:
            _CLEAR_REFS.write_text("5")
            self.cpu_exact = True
        except OSError:
            self.cpu_exact = False
        if self.device is not None and self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu_mib = _high_water_mark_kib() / 1024
        if self.device is not None and self.device.type == "cuda":
            self.cuda_mib = torch.cuda.max_memory_allocated(self.device) / 2**20
