"""Issue 17 probe: can elic-s's transforms represent more than their measured ceiling?

Continues the analysis and synthesis transforms of a trained elic-s for a CPU-seconds budget
with reconstruction alone (``255^2 * MSE`` of ``g_s(g_a(x))``, no quantization, no rate term),
with the optimizer settings of the ``ft-*`` probes (Adam 1e-4 after 20 warm-up steps, clipping
at 1.0, batch 8 x 128 px, seed 3), and writes weights whose ceiling
``benchmarks/diagnose_ceiling.py`` measures. If the ceiling climbs much faster than under the
rate-distortion loss, the transforms can hold more and the rate term holds them back; if not,
their pace of training is the limit.

    python benchmarks/reconstruction_probe.py --max-cpu-seconds 120 -o runs/control/recon/elic-s.safetensors
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from lic.models.rate import cosine_learning_rate
from lic.models.weights import load_model, save_weights
from lic.train.data import CropCache


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=None, help="elic-s weights to start from (default: the shipped ones)")
    parser.add_argument("--max-cpu-seconds", type=float, required=True)
    parser.add_argument("--train-dirs", nargs="+", default=["../shared/datasets/train", "../shared/datasets/train2"])
    parser.add_argument("--quality", type=float, default=7.0, help="whose gains sit between the transforms")
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(3)
    module = load_model("elic-s", Path(args.weights) if args.weights else None).module.train()
    params = [p for n, p in module.named_parameters() if n.startswith(("g_a.", "g_s."))]
    optimizer = torch.optim.Adam(params, lr=1e-4)
    data = CropCache(args.train_dirs, 128)
    rng = np.random.default_rng(3)
    step, cpu = 0, 0.0
    while cpu < args.max_cpu_seconds:
        c0 = time.process_time()
        for group in optimizer.param_groups:
            group["lr"] = cosine_learning_rate(1e-4, 1e-4, 10**6, step, 20)
        x = data.batch(8, rng)
        with torch.no_grad():
            scale = module.gain.gain(args.quality) * module.inverse_gain.gain(args.quality)
        loss = 255**2 * F.mse_loss(module.g_s(module.g_a(x) * scale), x)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        step += 1
        cpu += time.process_time() - c0
        if step % 10 == 0:
            print(f"step {step} {cpu:.0f} CPU s reconstruction PSNR {10 * np.log10(255**2 / loss.item()):.2f} dB",
                  flush=True)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    training = {"probe": "reconstruction only (g_a, g_s)", "steps": step, "cpu_seconds": round(cpu, 1),
                "start": args.weights or "shipped"}
    save_weights("elic-s", module.eval(), Path(args.output), training)
    print(f"wrote {args.output} ({step} steps, {cpu:.0f} CPU s)")


if __name__ == "__main__":
    main()
