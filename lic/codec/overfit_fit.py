"""Fitting an overfitted image model (``lic encode --mode overfit``) to one image.

The encoder minimises ``MSE + lambda * bits/pixel`` over the latent grids and the three
networks of :class:`~lic.models.overfit.OverfitNetwork` with Adam (linear warm-up, then
cosine decay). Quantization of the latents is approximated in two phases (C3, Kim et al.
2024; Cool-chic, Ladune et al.):

1. soft rounding ``s_a(y)`` with uniform noise: the rate is measured on ``s_a(y) + u`` and
   the synthesis sees ``s_a(s_a(y) + u)``, the sharpness ``a`` annealed from 1 (nearly the
   identity) to 10 (nearly rounding);
2. the last :attr:`FitConfig.hard_fraction` of the steps: hard rounding with straight-through
   gradients at a tenth of the learning rate, so the networks adapt to the real latents.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from lic.models.overfit import OverfitConfig, OverfitNetwork, OverfitShape, causal_rows, laplace_bits


@dataclass(frozen=True)
class FitConfig:
    """How the encoder fits an image.

    Attributes:
        steps: Adam steps.
        lr: peak learning rate.
        warmup: steps of linear warm-up.
        hard_fraction: share of the steps (at the end) with hard-rounded latents.
        shape: network sizes (grids chosen from the image size when 0).
        seed: seed of the initialisation and the noise.
    """

    steps: int = 1000
    lr: float = 1e-2
    warmup: int = 50
    hard_fraction: float = 0.1
    shape: OverfitShape = field(default_factory=OverfitShape)
    seed: int = 0


PRESETS: dict[str, FitConfig] = {
    "fast": FitConfig(steps=1000),
    "medium": FitConfig(steps=3000),
    "slow": FitConfig(steps=10000),
}
"""Iteration budgets of ``--preset`` (measured times per Kodak image: docs/overfit.md)."""


@dataclass
class FittedImage:
    """The fitted networks (float) and latent grids (float, finest first) of one image."""

    network: OverfitNetwork
    latents: list[Tensor]


@dataclass(frozen=True)
class FitProgress:
    """One step's figures, for a progress display."""

    step: int
    steps: int
    bpp: float
    psnr: float


def soft_round(y: Tensor, sharpness: float) -> Tensor:
    """Agustsson & Theis's differentiable rounding: identity as ``sharpness -> 0``, rounding as it grows."""
    floor = torch.floor(y)
    r = y - floor - 0.5
    return floor + 0.5 + torch.tanh(sharpness * r) / (2 * math.tanh(sharpness / 2))


def hard_round(y: Tensor) -> Tensor:
    """Rounding with straight-through gradients."""
    return y + (torch.round(y) - y).detach()


def rd_terms(network: OverfitNetwork, rate_inputs: list[Tensor], synthesis_inputs: list[Tensor], target: Tensor,
             config: OverfitConfig) -> tuple[Tensor, Tensor]:
    """``(bits per pixel, MSE)`` of quantized latents (rate on ``rate_inputs``, image from ``synthesis_inputs``)."""
    rows = torch.cat([causal_rows(g) for g in rate_inputs])
    values = torch.cat([g.reshape(-1) for g in rate_inputs])
    params = network.arm_outputs(rows)
    pixels = target.shape[-1] * target.shape[-2]
    bpp = laplace_bits(values, params[:, 0], params[:, 1], config).sum() / pixels
    x = network.synthesize(network.features(synthesis_inputs))
    return bpp, torch.mean((x - target) ** 2)


def fit_image(pixels: np.ndarray, lmbda: float, fit: FitConfig, config: OverfitConfig,
              progress: Callable[[FitProgress], None] | None = None) -> FittedImage:
    """Fits latents and networks of ``fit.shape`` to an ``HxWx3`` uint8 image at rate weight ``lmbda``."""
    from lic.models.overfit import grid_sizes

    torch.manual_seed(fit.seed)
    height, width = pixels.shape[:2]
    target = torch.from_numpy(np.array(pixels, dtype=np.uint8)).permute(2, 0, 1)[None].float() / 255.0
    network = OverfitNetwork(fit.shape)
    latents = [torch.zeros(h, w, requires_grad=True) for h, w in grid_sizes(width, height, fit.shape.grids)]
    optimizer = torch.optim.Adam([{"params": latents}, {"params": network.parameters()}], lr=fit.lr)
    hard_from = int(fit.steps * (1 - fit.hard_fraction))
    for step in range(fit.steps):
        lr = _learning_rate(step, fit, hard_from)
        for group in optimizer.param_groups:
            group["lr"] = lr
        if step < hard_from:
            sharpness = 1.0 + 9.0 * step / max(1, hard_from)
            noisy = [soft_round(y, sharpness) + torch.rand_like(y) - 0.5 for y in latents]
            synthesis_inputs = [soft_round(y, sharpness) for y in noisy]
        else:
            noisy = synthesis_inputs = [hard_round(y) for y in latents]
        bpp, mse = rd_terms(network, noisy, synthesis_inputs, target, config)
        loss = mse + lmbda * bpp
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if progress is not None:
            progress(FitProgress(step + 1, fit.steps, float(bpp.detach()), 10 * math.log10(1 / max(float(mse.detach()), 1e-10))))
    return FittedImage(network.eval(), [y.detach() for y in latents])


def _learning_rate(step: int, fit: FitConfig, hard_from: int) -> float:
    if step < fit.warmup:
        return fit.lr * (step + 1) / fit.warmup
    if step >= hard_from:
        return 0.1 * fit.lr * 0.5 * (1 + math.cos(math.pi * (step - hard_from) / max(1, fit.steps - hard_from)))
    return fit.lr * 0.5 * (1 + math.cos(math.pi * (step - fit.warmup) / max(1, hard_from - fit.warmup)))
