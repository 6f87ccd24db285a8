"""CPU seconds per fitting step of the overfit mode, with the C++ fitting kernels or the torch path.

    python benchmarks/overfit_step.py --image ../shared/datasets/kodak/kodim23.png --steps 8

Runs ``--steps`` Adam steps of the soft-rounding phase at full and at half resolution, one
torch thread, and prints process CPU seconds per step (and wall seconds, with the load
average: CPU seconds are the figure to compare on a shared machine). ``--path torch`` turns
every C++ fitting kernel off (the row/context MLPs of ``lic.models.row_mlp``, the filters of
``lic.models.fit_filters`` and the rate of ``lic.models.overfit.laplace_rate``), so both are
measured by the same script.
``--device cuda`` times the steps on a GPU (wall seconds are then the figure; the CPU seconds
are the launching thread's; a GPU always takes the torch path).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import lic.models.fit_filters as fit_filters
import lic.models.overfit as overfit_model
import lic.models.row_mlp as row_mlp
from lic.codec.overfit_fit import FitConfig, _half, _Phase, _run_phase, image_target
from lic.models.overfit import OverfitConfig, OverfitNetwork, OverfitShape


def seconds_per_step(target: torch.Tensor, steps: int, shape: OverfitShape) -> tuple[float, float]:
    """``(CPU, wall)`` seconds per soft-rounding step of networks of ``shape`` on ``target``'s device (one warm-up
    step first)."""
    fit = FitConfig(steps=steps, warmup=1, shape=shape).sized_for(target.shape[-1], target.shape[-2])

    def run(steps: int) -> None:
        phase = _Phase.start(target, OverfitNetwork(fit.shape).to(target.device), None, fit)
        _run_phase(phase, 0, 1e-3, steps, fit, OverfitConfig(), None, 0, steps, hard=False)

    def synchronize() -> None:
        if target.device.type == "cuda":
            torch.cuda.synchronize(target.device)

    run(1)
    synchronize()
    cpu, wall = time.process_time(), time.perf_counter()
    run(steps)
    synchronize()
    return (time.process_time() - cpu) / steps, (time.perf_counter() - wall) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--path", choices=("cpp", "torch"), default="cpp",
                        help="the C++ fitting kernels (the encoder's) or the same functions as torch operations")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--shape", nargs="*", default=[], metavar="FIELD=N",
                        help="OverfitShape fields other than the default's (hyper_grids=3 coarse_features=6 ...)")
    args = parser.parse_args()
    shape = replace(OverfitShape(), **{k: int(v) for k, v in (item.split("=", 1) for item in args.shape)})
    torch.set_num_threads(1)
    if args.path == "torch":
        for module in (row_mlp, fit_filters, overfit_model):  # each imported the switch by name
            module.cpp_kernels_take = lambda t: False
    target = image_target(np.asarray(Image.open(args.image).convert("RGB"))).to(args.device)
    load = os.getloadavg()
    full = seconds_per_step(target, args.steps, shape)
    half = seconds_per_step(_half(target), args.steps, shape)
    print(json.dumps({"image": args.image.name, "path": args.path, "threads": 1, "shape": args.shape,
                      "device": args.device,
                      "full_resolution": {"cpu_s": round(full[0], 4), "wall_s": round(full[1], 4)},
                      "half_resolution": {"cpu_s": round(half[0], 4), "wall_s": round(half[1], 4)},
                      "load_average": [load, os.getloadavg()]}))


if __name__ == "__main__":
    main()
