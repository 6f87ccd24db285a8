"""Variants of the overfit fit's hard-rounding phase from one soft-rounding phase, each coded for real.

    python benchmarks/overfit_hard_phase.py --image ../shared/datasets/kodak/kodim23.png -q 3 --seed 0

Runs the ``fast`` preset's half-resolution phase and the soft-rounding part of its
full-resolution phase once, then each variant of the hard phase from a copy of that state
(networks, latents, Adam state), and prints one JSON line per variant: the float RD cost with
hard-rounded latents before and after it, and the ``MSE + lambda * bpp`` of the stream the
encoder would write (docs/overfit-history.md, "Where a fit loses"). One fit: no seed noise between rows;
the row of the present settings writes the same stream as ``lic encode --mode overfit`` with that seed.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from lic.codec.overfit import _code_fitted
from lic.codec.overfit_fit import PRESETS, FitConfig, _soft_steps, full_resolution_phase, image_target
from lic.models.overfit import OverfitCodec, default_grids
from lic.models.weights import load_model


@dataclass(frozen=True)
class Variant:
    """A hard phase: the latents' and networks' peak rates as fractions of the soft phase's, and its length."""

    name: str
    latent_factor: float
    network_factor: float
    length_factor: int = 1


VARIANTS = (
    Variant("none (round after the soft phase)", 0.0, 0.0, 0),
    Variant("latents at 0.1x, networks at 0.1x (former)", 0.1, 0.1),
    Variant("latents frozen, networks at 0.1x", 0.0, 0.1),
    Variant("latents at 0.01x, networks at 0.1x (now)", 0.01, 0.1),
    Variant("latents frozen, networks at 0.1x, 3x the steps", 0.0, 0.1, 3),
)


class SoftState:
    """The fit after its soft-rounding steps (the encoder's own code), restorable for each variant."""

    def __init__(self, target: torch.Tensor, lmbda: float, fit: FitConfig, codec: OverfitCodec) -> None:
        config = codec.config
        self.phase, first = full_resolution_phase(target, lmbda, fit, config)
        self.hard_from = int(fit.steps * (1 - fit.hard_fraction))
        _soft_steps(self.phase, lmbda, fit.steps, self.hard_from, fit, config, None, 0, 1, first)
        self._saved = self.phase.snapshot()

    def restore(self) -> None:
        """Back to the state the soft phase left."""
        self.phase.restore(self._saved)
        self.phase.network.train()


def hard_rd(state: SoftState, lmbda: float, codec: OverfitCodec) -> float:
    """Float RD cost with the latents rounded."""
    return state.phase.rounded_cost(lmbda, codec.config)


def run_variant(state: SoftState, variant: Variant, target: torch.Tensor, pixels: np.ndarray, lmbda: float,
                fit: FitConfig, codec: OverfitCodec) -> dict:
    """One hard phase from the soft state; its float and coded RD costs."""
    state.restore()
    before = hard_rd(state, lmbda, codec)
    steps = variant.length_factor * (fit.steps - state.hard_from)
    for k in range(steps):
        decay = 0.5 * (1 + math.cos(math.pi * k / steps))
        state.phase.step(fit.latent_lr * variant.latent_factor * decay, fit.lr * variant.network_factor * decay,
                         lmbda, codec.config, None)
    after = hard_rd(state, lmbda, codec)
    coded_rd, coded = _code_fitted(state.phase.fitted(), pixels, lmbda, codec)
    bits = 8 * (len(coded.entries) + len(coded.lane))
    return {"variant": variant.name, "hard_steps": steps, "float_before": before, "float_after": after,
            "coded_rd": coded_rd, "bpp": bits / (pixels.shape[0] * pixels.shape[1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", type=Path, required=True)
    parser.add_argument("-q", "--quality", type=float, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    codec = load_model("overfit").module
    pixels = np.asarray(Image.open(args.image).convert("RGB"))
    target = image_target(pixels)
    lmbda = codec.config.lmbda(args.quality)
    fit = replace(PRESETS["fast"], restarts=1, seed=args.seed)
    fit = replace(fit, shape=replace(fit.shape, grids=min(fit.shape.grids, default_grids(pixels.shape[1],
                                                                                          pixels.shape[0]))))
    state = SoftState(target, lmbda, fit, codec)
    for variant in VARIANTS:
        result = run_variant(state, variant, target, pixels, lmbda, fit, codec)
        print(json.dumps({"image": args.image.name, "quality": args.quality, "seed": args.seed, **result}), flush=True)


if __name__ == "__main__":
    main()
