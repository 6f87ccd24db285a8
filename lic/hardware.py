"""The machine: describing the one a timing or a training run was taken on, and the cores a job may use."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch


def machine_description(device: torch.device) -> str:
    """The hardware a timing was taken on, in words."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {torch.get_num_threads()} torch threads"


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity; all cores where the OS cannot tell)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
