"""Variants of the overfit fit's hard-rounding phase from one soft-rounding phase, each coded for real.

    python benchmarks/overfit_hard_phase.py ../shared/datasets/kodak/kodim04.png --half -q 2 5 \\
        --preset fast --set soap=1 clip=0.1 -o hard.jsonl

Runs a preset's half-resolution phase and the soft-rounding part of its full-resolution phase once
per image and quality, then each variant of the hard phase (its learning rates; same steps and
cosine schedule) from a copy of that state (networks, latents, optimizer state), through the
encoder's own ``_run_phase``, and codes the result as ``lic encode --mode overfit`` would. One JSON
line per variant: the coded ``MSE + lambda * bpp`` (``cost``) and the float RD cost with rounded
latents at the end (``float_cost``); ``cost`` counts the payload (entries and coded lane), the
file's headers add the same few bytes to every variant. One fit, so no seed noise between the
variants of a point (docs/overfit.md, "The hard-rounding phase").
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from overfit_recipe import half_resolution, overridden
from PIL import Image

from lic.codec.overfit import _code_fitted
from lic.codec.overfit_fit import PRESETS, _run_phase, _soft_steps, fit_steps, full_resolution_phase, image_target
from lic.models.overfit import OverfitCodec
from lic.models.weights import load_model

VARIANTS: dict[str, dict[str, float]] = {
    "latents 1.5e-3, networks 2e-3 (until 2026-12-05)": {"hard_latent_lr": 1.5e-3, "hard_lr": 2e-3},
    "latents frozen, networks 2e-3": {"hard_latent_lr": 0.0, "hard_lr": 2e-3},
    "latents frozen, networks 1e-3": {"hard_latent_lr": 0.0, "hard_lr": 1e-3},
    "latents frozen, networks 4e-3 (now)": {"hard_latent_lr": 0.0, "hard_lr": 4e-3},
    "latents frozen, networks 8e-3": {"hard_latent_lr": 0.0, "hard_lr": 8e-3},
    "latents frozen, networks 1.6e-2": {"hard_latent_lr": 0.0, "hard_lr": 1.6e-2},
}
"""The hard phases compared: their peak learning rates (``FitConfig.hard_latent_lr``, ``hard_lr``)."""


def run_point(pixels: np.ndarray, quality: float, preset: str, settings: list[str], seed: int,
              variants: list[str], codec: OverfitCodec) -> list[dict]:
    """One soft phase of ``preset`` at ``quality``, then each of ``variants``' hard phases, coded."""
    config = codec.config
    fit = replace(overridden(PRESETS[preset], settings), restarts=1, seed=seed).sized_for(pixels.shape[1],
                                                                                           pixels.shape[0])
    lmbda = config.lmbda(quality)
    start = time.process_time()
    total = fit_steps(fit)
    phase, first = full_resolution_phase(image_target(pixels), lmbda, fit, config, None, total)
    hard_from = fit.soft_steps(fit.steps)
    _soft_steps(phase, lmbda, fit.steps, hard_from, fit, config, None, 0, total, first)
    soft_state, soft_seconds = phase.snapshot(), time.process_time() - start
    rows = []
    for name in variants:
        start = time.process_time()
        variant = replace(fit, **VARIANTS[name])
        phase.restore(soft_state)
        phase.network.train()
        fitted = _run_phase(phase, hard_from, lmbda, fit.steps, variant, config, None, 0, total, hard=True)
        float_cost = phase.rounded_cost(lmbda, config)
        cost, _ = _code_fitted(fitted, pixels, lmbda, codec)
        rows.append({"quality": quality, "seed": seed, "preset": preset, "set": settings, "variant": name,
                     **VARIANTS[name], "cost": cost, "float_cost": float_cost, "soft_cpu_seconds": soft_seconds,
                     "hard_cpu_seconds": time.process_time() - start})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", type=Path, nargs="+")
    parser.add_argument("-q", "--qualities", type=float, nargs="+", default=[2.0, 5.0])
    parser.add_argument("--preset", default="fast", choices=sorted(PRESETS))
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE", help="FitConfig overrides")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--half", action="store_true", help="fit the image at half size (a cheaper proxy)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("-o", "--output", type=Path, help="append the JSON lines to this file too")
    args = parser.parse_args()
    torch.set_num_threads(1)
    codec = load_model("overfit").module
    for path in args.images:
        pixels = np.asarray(Image.open(path).convert("RGB"))
        pixels = half_resolution(pixels) if args.half else pixels
        for quality in args.qualities:
            for row in run_point(pixels, quality, args.preset, args.set, args.seed, args.variants, codec):
                line = json.dumps({"image": path.stem, "half": args.half, **row})
                print(line, flush=True)
                if args.output:
                    with args.output.open("a") as out:
                        out.write(line + "\n")


if __name__ == "__main__":
    main()
