"""Model size and cost: parameters and multiply-accumulates per input pixel."""

from __future__ import annotations

import torch
from torch import nn


def describe(model: nn.Module, size: int = 256) -> tuple[int, float]:
    """``(parameters, MACs per pixel)``; MACs of every convolution in one training pass on a ``size``² image."""
    macs = 0

    def count(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal macs
        kernel = module.weight.shape[1] * module.weight.shape[2] * module.weight.shape[3]
        if isinstance(module, nn.ConvTranspose2d):
            macs += inputs[0].numel() * module.out_channels * module.weight.shape[2] * module.weight.shape[3]
        else:
            macs += output.numel() * kernel

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, size, size), 0.0)
    finally:
        for h in hooks:
            h.remove()
    return sum(p.numel() for p in model.parameters()), macs / (size * size)
