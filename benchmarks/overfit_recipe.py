"""Compares fitting recipes of the overfit mode by the coded RD cost, resumable.

Each run fits one image at one quality with a preset whose :class:`~lic.codec.overfit_fit.FitConfig`
fields are overridden (``--set lr=0.01 latent_lr=0.075``; network sizes as ``shape.arm_width=8``),
codes it with the real coder and appends one JSON line to ``-o``: the stream's bpp, the PSNR of the
encoder's exact reconstruction and the RD cost ``MSE + lambda * bpp`` that the encoder minimises
(lower is better), with the CPU seconds.
Runs already in ``-o`` (same tag, image, quality and seed) are skipped. ``--half`` fits the image at
half resolution (2x2 means), a proxy at a quarter of the cost per step (its weights cost four times
as many bits per pixel, so compare recipes with each other, not with full-size figures).

    OMP_NUM_THREADS=1 python benchmarks/overfit_recipe.py ../shared/datasets/kodak/kodim01.png --half \\
        -q 3 5 --preset medium --set lr=0.01 latent_lr=0.075 --tag medium-lr-half -o runs/recipe.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import torch

from lic.codec.overfit import encode_overfit
from lic.codec.overfit_fit import PRESETS, FitConfig
from lic.io.imageio import read_image
from lic.models.overfit import OverfitShape
from lic.models.weights import load_model


def half_resolution(pixels: np.ndarray) -> np.ndarray:
    """``HxWx3`` uint8 pixels at half size (means of 2x2 blocks, rounded; odd edges dropped)."""
    h, w = pixels.shape[0] // 2 * 2, pixels.shape[1] // 2 * 2
    blocks = pixels[:h, :w].astype(np.float64).reshape(h // 2, 2, w // 2, 2, -1).mean(axis=(1, 3))
    return np.round(blocks).astype(np.uint8)


def overridden(fit: FitConfig, settings: list[str]) -> FitConfig:
    """``fit`` with ``name=value`` settings (numbers, or two comma-separated numbers for tuples; ``shape.<field>``
    for the :class:`~lic.models.overfit.OverfitShape`)."""
    types = {f.name: f.type for f in fields(FitConfig)}
    changes: dict[str, object] = {}
    shape: dict[str, int] = {}
    for setting in settings:
        name, _, value = setting.partition("=")
        if name.startswith("shape."):
            if name[6:] not in {f.name for f in fields(OverfitShape)} or name == "shape.symmetric_kernels":
                raise SystemExit(f"overfit_recipe: unknown OverfitShape field {name[6:]!r}")
            shape[name[6:]] = int(value)
            continue
        if name not in types or name == "shape":
            raise SystemExit(f"overfit_recipe: unknown FitConfig field {name!r}")
        if "," in value:
            changes[name] = tuple(float(v) for v in value.split(","))
        else:
            number = {"int": int, "bool": lambda v: bool(int(v))}.get(str(types[name]), float)
            changes[name] = number(value)
    return replace(fit, **changes, shape=replace(fit.shape, **shape))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", type=Path)
    parser.add_argument("-q", "--quality", type=float, nargs="+", required=True)
    parser.add_argument("--preset", default="fast", choices=sorted(PRESETS))
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--half", action="store_true", help="fit the image at half resolution")
    parser.add_argument("--tag", required=True)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()

    fit = replace(overridden(PRESETS[args.preset], args.set), seed=args.seed, restarts=1)
    pixels, _ = read_image(args.image)
    if args.half:
        pixels = half_resolution(pixels)
    model = load_model("overfit")
    done = set()
    if args.output.exists():
        for line in args.output.read_text().splitlines():
            r = json.loads(line)
            done.add((r["tag"], r["image"], r["quality"], r["seed"]))
    torch.set_num_threads(1)
    for quality in args.quality:
        key = (args.tag, args.image.stem + ("-half" if args.half else ""), quality, args.seed)
        if key in done:
            continue
        start = time.process_time()
        encoded = encode_overfit(pixels, model, quality, fit)
        seconds = time.process_time() - start
        mse = float(np.mean((encoded.reconstruction.astype(np.float64) - pixels) ** 2)) / 255.0**2
        lmbda = model.module.config.lmbda(quality)
        record = {"tag": key[0], "image": key[1], "quality": quality, "seed": args.seed, "bpp": encoded.bpp,
                  "psnr": 10 * np.log10(1 / mse), "cost": mse + lmbda * encoded.bpp, "cpu_seconds": seconds,
                  "preset": args.preset, "set": args.set}
        with args.output.open("a") as out:
            out.write(json.dumps(record) + "\n")
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
