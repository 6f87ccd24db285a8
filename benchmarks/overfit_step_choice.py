"""Per-network against per-tensor weight steps of the overfit encoder, on the same fits.

    OMP_NUM_THREADS=1 python benchmarks/overfit_step_choice.py ../shared/datasets/kodak/kodim04.png -q 1 3 \\
        --preset fast -o runs/step-choice.jsonl

Fits the image once per quality (the preset's first seed, one thread), then codes that fit twice:
with one power-of-two step per network (ARM, upsampling, synthesis) and with each tensor's step then
moved one either way where the measured ``MSE + lambda * bpp`` falls
(``lic.codec.overfit._choose_steps``). The fit is the same, so the difference is the step choice
alone. One JSON line per quality: both streams' bpp, PSNR and RD cost, and the seconds each choice took.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from lic.codec.overfit import _code_fitted
from lic.codec.overfit_fit import PRESETS, fit_candidates
from lic.io.imageio import read_image
from lic.models.weights import load_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", type=Path)
    parser.add_argument("-q", "--quality", type=float, nargs="+", required=True)
    parser.add_argument("--preset", default="fast", choices=sorted(PRESETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()

    pixels, _ = read_image(args.image)
    height, width = pixels.shape[:2]
    fit = replace(PRESETS[args.preset], seed=args.seed, restarts=1).sized_for(width, height)
    model = load_model("overfit")
    codec = model.module
    torch.set_num_threads(1)
    for quality in args.quality:
        lmbda = codec.config.lmbda(quality)
        start = time.process_time()
        (fitted,) = fit_candidates(pixels, lmbda, fit, codec.config)
        record: dict = {"image": args.image.stem, "quality": quality, "preset": args.preset, "seed": args.seed,
                        "fit_cpu_seconds": round(time.process_time() - start, 1)}
        for name, per_tensor in (("per_network", False), ("per_tensor", True)):
            start = time.process_time()
            _, coded = _code_fitted(fitted, pixels, lmbda, codec, per_tensor)
            mse = float(np.mean((coded.reconstruction.astype(np.float64) - pixels) ** 2)) / 255.0**2
            bpp = 8 * (len(coded.entries) + len(coded.lane)) / (height * width)
            record[name] = {"payload_bpp": bpp, "psnr": 10 * np.log10(1 / mse), "cost": mse + lmbda * bpp,
                            "exponents": coded.exponents, "cpu_seconds": round(time.process_time() - start, 1)}
        record["cost_change_percent"] = 100 * (record["per_tensor"]["cost"] / record["per_network"]["cost"] - 1)
        with args.output.open("a") as out:
            out.write(json.dumps(record) + "\n")
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
