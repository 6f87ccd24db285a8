"""The few CompressAI layers lic's architectures are made of, with CompressAI's exact
parameter names, initialisation order and arithmetic.

Why they live here: importing any ``compressai`` module runs ``compressai/__init__``,
which imports its point-cloud data sets and through them ``torch_geometric`` (about
2 s of every ``lic`` command's start, issue 21). The coding path must not pay that, so
the layers it runs are these; ``tests/test_cold_start.py`` checks that each one gives
the same state-dict keys and the same outputs as CompressAI 1.2.8's layer of the same
name (``compressai.layers`` and ``compressai.models.utils``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn


def conv(in_channels: int, out_channels: int, kernel_size: int = 5, stride: int = 2) -> nn.Conv2d:
    """CompressAI's ``conv``: a strided convolution with "same" padding."""
    return nn.Conv2d(in_channels, out_channels, kernel_size=kernel_size, stride=stride, padding=kernel_size // 2)


def deconv(in_channels: int, out_channels: int, kernel_size: int = 5, stride: int = 2) -> nn.ConvTranspose2d:
    """CompressAI's ``deconv``: the transposed convolution that inverts :func:`conv`'s down-sampling."""
    return nn.ConvTranspose2d(in_channels, out_channels, kernel_size=kernel_size, stride=stride,
                              output_padding=stride - 1, padding=kernel_size // 2)


class MaskedConv2d(nn.Conv2d):
    """CompressAI's ``MaskedConv2d`` (PixelCNN mask; ``mask_type`` A also hides the centre)."""

    def __init__(self, *args: Any, mask_type: str = "A", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if mask_type not in ("A", "B"):
            raise ValueError(f'Invalid "mask_type" value "{mask_type}"')
        self.register_buffer("mask", torch.ones_like(self.weight.data))
        _, _, h, w = self.mask.size()
        self.mask[:, :, h // 2, w // 2 + (mask_type == "B"):] = 0
        self.mask[:, :, h // 2 + 1:] = 0

    def forward(self, x: Tensor) -> Tensor:
        self.weight.data = self.weight.data * self.mask
        return super().forward(x)


class CheckerboardMaskedConv2d(MaskedConv2d):
    """CompressAI's ``CheckerboardMaskedConv2d`` (He et al. 2021): sees the anchors of a checkerboard."""

    def __init__(self, *args: Any, mask_type: str = "A", **kwargs: Any) -> None:
        super().__init__(*args, mask_type=mask_type, **kwargs)
        _, _, h, w = self.mask.size()
        self.mask[:] = 1
        self.mask[:, :, 0::2, 0::2] = 0
        self.mask[:, :, 1::2, 1::2] = 0
        self.mask[:, :, h // 2, w // 2] = mask_type == "B"


class _ResidualUnit(nn.Module):
    """1x1 -> 3x3 -> 1x1 at half width, plus the input, then ReLU (inside :class:`AttentionBlock`)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(channels, channels // 2, kernel_size=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels // 2, channels // 2, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels // 2, channels, kernel_size=1),
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv(x)
        out += x
        return self.relu(out)


class AttentionBlock(nn.Module):
    """CompressAI's simplified attention block (Cheng et al. 2020): ``x + a(x) * sigmoid(b(x))``."""

    def __init__(self, N: int) -> None:
        super().__init__()
        self.conv_a = nn.Sequential(_ResidualUnit(N), _ResidualUnit(N), _ResidualUnit(N))
        self.conv_b = nn.Sequential(_ResidualUnit(N), _ResidualUnit(N), _ResidualUnit(N),
                                    nn.Conv2d(N, N, kernel_size=1))

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv_a(x) * torch.sigmoid(self.conv_b(x))
        out += x
        return out
