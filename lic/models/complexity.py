"""Model size and cost: parameters and multiply-accumulates per input pixel."""

from __future__ import annotations

import torch
from torch import nn


def describe(model: nn.Module, size: int = 256) -> tuple[int, float]:
    """``(parameters, MACs per pixel)``: MACs of every convolution, linear layer, window
    attention product and region pooling/modulation in one training pass on a ``size``² image."""
    from lic.models.blocks import RegionAdaptiveTransform, WindowAttentionV2

    macs = 0

    def count_linear(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal macs
        macs += output.numel() * module.in_features

    def count_attention(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal macs
        batch, tokens, dim = inputs[0].shape
        macs += 2 * batch * tokens * tokens * dim  # q @ k^T and attention @ v, over all heads

    def count(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal macs
        kernel = module.weight.shape[1] * module.weight.shape[2] * module.weight.shape[3]
        if isinstance(module, nn.ConvTranspose2d):
            macs += inputs[0].numel() * module.out_channels * module.weight.shape[2] * module.weight.shape[3]
        else:
            macs += output.numel() * kernel

    def count_regions(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal macs
        macs += 3 * output.numel() * module.assign.out_channels  # pooling, scale and shift einsums

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    hooks += [m.register_forward_hook(count_linear) for m in model.modules() if isinstance(m, nn.Linear)]
    hooks += [m.register_forward_hook(count_attention) for m in model.modules() if isinstance(m, WindowAttentionV2)]
    hooks += [m.register_forward_hook(count_regions) for m in model.modules() if isinstance(m, RegionAdaptiveTransform)]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, size, size), 0.0)
    finally:
        for h in hooks:
            h.remove()
    return sum(p.numel() for p in model.parameters()), macs / (size * size)
