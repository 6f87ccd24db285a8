"""Rate and rate-distortion trade-off definitions shared by training and encode-time refinement."""

from __future__ import annotations

import math

import torch
from torch import Tensor

# MSE rate-distortion trade-offs of CompressAI's quality levels 1..8 (loss = lambda * 255^2 * MSE + bpp).
COMPRESSAI_MSE_LAMBDAS = (0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483, 0.0932, 0.1800)
# MS-SSIM trade-offs of the same levels (loss = lambda * (1 - MS-SSIM) + bpp).
COMPRESSAI_MS_SSIM_LAMBDAS = (2.40, 4.58, 8.73, 16.64, 31.73, 60.50, 115.37, 220.00)


def rate_bpp(likelihoods: dict[str, Tensor], pixels: int) -> Tensor:
    """Estimated bits per pixel of all latents."""
    return sum(-torch.log2(v).sum() for v in likelihoods.values()) / pixels


def cosine_learning_rate(lr: float, lr_final: float, steps: int, step: int, warmup: int = 0) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay from ``lr`` to ``lr_final`` at ``steps``.

    The one schedule of training, latent refinement and INR fitting.
    """
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, steps - warmup))
    return lr_final + 0.5 * (lr - lr_final) * (1 + math.cos(math.pi * progress))
