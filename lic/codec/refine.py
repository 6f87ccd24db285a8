"""Encode-time latent refinement: optimizes one image's latent for rate + distortion.

The analysis transform gives a latent ``y`` that is good on average over the
training set. For one given image, gradient steps on ``y`` itself against the
model's own rate-distortion objective (``lambda * 255^2 * MSE + bpp``) find a
latent that costs fewer bits at equal quality (Campos et al. 2019, "Content
adaptive optimization for neural image compression"; Yang et al. 2020). Only the
encoder changes: the stream is decoded by the same decoder.

The steps descend a relaxed objective: distortion of the rounded latent
(straight-through gradients) plus the rate of the unrounded latent, which rises
smoothly as a latent leaves its predicted mean. The rate of the rounded latent is
flat between rounding thresholds, so Adam's normalised steps let latents with
small distortion gradients drift across them and the rate grows (measured: +50 %
rate on kodim23 at quality 5). The step size follows the trade-off ``lambda``
(:func:`refine_learning_rate`). The best iterate by the exact objective (rounded
latent, discrete likelihoods: what coding costs) is kept, so refinement never does
worse on it than plain encoding.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from lic.models.rate import COMPRESSAI_MSE_LAMBDAS, cosine_learning_rate, rate_bpp
from lic.models.weights import LoadedModel


@dataclass(frozen=True)
class RefineConfig:
    """Settings of :func:`refine_latent`.

    Attributes:
        steps: gradient steps (0 disables refinement).
        lr: Adam step size in latent units (one quantization step = 1), decayed by cosine;
            ``None``: :func:`refine_learning_rate` of the quality's trade-off.
    """

    steps: int = 0
    lr: float | None = None


def refine_learning_rate(lmbda: float) -> float:
    """Adam step size for the MSE trade-off ``lmbda``: ``0.01 * (lmbda / 0.013) ** 1.2``.

    High qualities gain most from large steps, low ones lose from them (their latents
    sit near their means, where a large step crosses a rounding threshold). Measured
    with 20 steps on kodim01 and kodim23 with the shipped ``elic-s`` (docs/research.md):
    0.003 at lambda 0.0035, 0.01 at 0.013, 0.05 at 0.048, 0.23-0.3 at 0.18.
    """
    return 0.01 * (lmbda / 0.013) ** 1.2


def training_lambdas(model: LoadedModel) -> list[float]:
    """The MSE trade-off each quality level of ``model`` was trained for.

    Read from the training configuration in the weights; an untrained model gets
    CompressAI's MSE lambdas spread geometrically over its levels.
    """
    config = json.loads(model.metadata.get("lic.training", "{}")).get("config", {})
    levels = model.module.rate_levels
    lambdas = config.get("lambdas") or []
    if config.get("distortion", "mse") == "mse" and len(lambdas) == levels:
        return [float(v) for v in lambdas]
    if not lambdas and config.get("distortion", "mse") == "mse" and levels == len(COMPRESSAI_MSE_LAMBDAS):
        return list(COMPRESSAI_MSE_LAMBDAS)
    low, high = math.log(COMPRESSAI_MSE_LAMBDAS[0]), math.log(COMPRESSAI_MSE_LAMBDAS[-1])
    return [math.exp(v) for v in np.linspace(low, high, levels)]


def lambda_at(model: LoadedModel, quality: float) -> float:
    """Trade-off of a continuous quality: geometric interpolation between the trained levels."""
    lambdas = np.log(training_lambdas(model))
    return float(math.exp(np.interp(quality, np.arange(len(lambdas)), lambdas)))


def refine_latent(model: LoadedModel, x: Tensor, quality: float, height: int, width: int,
                  config: RefineConfig) -> Tensor:
    """A latent for ``x`` (``[1, 3, H, W]``, padded) that lowers ``lambda * 255^2 * MSE + bpp``.

    Distortion is measured on the ``height x width`` image inside the padding; rate
    over the whole latent.
    """
    module = model.module
    lmbda = lambda_at(model, quality)
    pixels = height * width
    with torch.no_grad():
        y = module.analyze(x, quality)
    if config.steps <= 0:
        return y
    target = x[:, :, :height, :width]
    lr = config.lr if config.lr is not None else refine_learning_rate(lmbda)
    y = y.detach().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([y], lr=lr)
    best, best_loss = y.detach().clone(), math.inf
    for step in range(config.steps + 1):
        out = module.forward_latent(y, quality, relaxed=True)
        distortion = lmbda * 255**2 * F.mse_loss(out["x_hat"][:, :, :height, :width].clamp(0, 1), target)
        loss = distortion + rate_bpp(out["likelihoods"], pixels)
        if loss.item() < best_loss:
            best_loss, best = loss.item(), y.detach().clone()
        if step == config.steps:
            break
        (grad,) = torch.autograd.grad(distortion + rate_bpp(out["relaxed_likelihoods"], pixels), [y])
        y.grad = grad
        for group in optimizer.param_groups:
            group["lr"] = cosine_learning_rate(lr, 0.0, config.steps, step)
        optimizer.step()
    return best
