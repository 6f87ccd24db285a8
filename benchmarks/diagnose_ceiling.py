"""Issue 17, step 1: where does a trained elic-s lose quality at its top rate?

For a few images and qualities it measures the PSNR of the reconstruction (estimated bpp from
the likelihoods, rounded latents, as in coding) under changes that each remove one suspect:

* ``round``: the coding path (``y_hat`` rounded around the means), clamped and rounded to uint8;
* ``noise``: ``y + U(-0.5, 0.5)`` instead of rounding;
* ``none``: ``y`` not quantized at all: the ceiling of the transforms ``g_s(g_a(x))`` themselves;
* ``unclamped``: the coding path without clamping and uint8 rounding of the output;
* ``gain xK``: the quality's gain multiplied by ``K`` (and the inverse gain divided), an
  extrapolation past the top trained level: finer quantization of the same transforms.

    python benchmarks/diagnose_ceiling.py --weights lic/models/pretrained/elic-s.safetensors \
        --images ../shared/datasets/kodak/kodim01.png ../shared/datasets/kodak/kodim05.png -o out.json
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from lic.models.rate import rate_bpp
from lic.models.weights import load_model


def psnr(x_hat: torch.Tensor, x: torch.Tensor, quantize: bool = True) -> float:
    """PSNR-RGB in dB; ``quantize`` clamps and rounds ``x_hat`` to 8 bits as the decoder does."""
    if quantize:
        x_hat = (x_hat.clamp(0, 1) * 255).round() / 255
    mse = torch.mean((x_hat.double() - x.double()) ** 2).item()
    return 10 * math.log10(1 / max(mse, 1e-12))


@torch.no_grad()
def measure(module: torch.nn.Module, x: torch.Tensor, quality: float, gains: list[float]) -> dict[str, float]:
    """PSNR (and estimated bpp) of one image at one quality under each variant."""
    pixels = x.shape[2] * x.shape[3]
    y = module.analyze(x, quality)
    inverse = module.inverse_gain.gain(quality)
    out = module.forward_latent(y, quality)  # eval mode: rounded latents for rate and synthesis
    row = {"bpp_round": rate_bpp(out["likelihoods"], pixels).item(), "psnr_round": psnr(out["x_hat"], x),
           "psnr_unclamped": psnr(out["x_hat"], x, quantize=False)}
    row["psnr_noise"] = psnr(module.g_s((y + torch.empty_like(y).uniform_(-0.5, 0.5)) * inverse), x)
    row["psnr_none"] = psnr(module.g_s(y * inverse), x)
    row["y_abs_mean"] = y.abs().mean().item()
    for k in gains:
        hyper, z_likelihoods = module.hyper(y * k)
        y_hat, y_likelihoods = module.context(y * k, hyper)
        x_hat = module.g_s(y_hat / k * inverse)  # the extra gain undone before synthesis
        row[f"bpp_gain_x{k:g}"] = rate_bpp({"y": y_likelihoods, "z": z_likelihoods}, pixels).item()
        row[f"psnr_gain_x{k:g}"] = psnr(x_hat, x)
    return row


def grad_norms(module: torch.nn.Module, train_dirs: list[str], batches: int) -> dict[str, dict[str, float]]:
    """Norm of the training loss's gradient (before clipping) per quality level, on the same
    random training batches (batch 8 x 128 px) for every level, as ``lic train`` computes it."""
    from lic.models.rate import COMPRESSAI_MSE_LAMBDAS
    from lic.train.data import CropCache
    from lic.train.loss import RateDistortionLoss

    data = CropCache(train_dirs, 128)
    rng = np.random.default_rng(0)
    xs = [data.batch(8, rng) for _ in range(batches)]
    loss_fn = RateDistortionLoss("mse")
    params = [p for n, p in module.named_parameters() if not n.endswith("quantiles")]
    module.train()
    result = {}
    for level, lmbda in enumerate(COMPRESSAI_MSE_LAMBDAS):
        norms, bpps, psnrs = [], [], []
        for x in xs:
            module.zero_grad(set_to_none=True)
            out = module(x, float(level))
            terms = loss_fn(out["x_hat"], x, out["likelihoods"], lmbda)
            terms["loss"].backward()
            grads = torch.stack([p.grad.norm() for p in params if p.grad is not None])
            norms.append(torch.linalg.vector_norm(grads).item())
            bpps.append(terms["bpp"].item())
            psnrs.append(10 * math.log10(1 / terms["mse"].item()))
        result[f"q{level}"] = {"lambda": lmbda, "grad_norm_mean": float(np.mean(norms)), "grad_norm_min": min(norms),
                               "grad_norm_max": max(norms), "bpp": float(np.mean(bpps)), "psnr": float(np.mean(psnrs))}
    module.eval()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="elic-s")
    parser.add_argument("--weights", default=None)
    parser.add_argument("--checkpoint", default=None, help="a lic train checkpoint.safetensors instead of weights")
    parser.add_argument("--images", nargs="+", required=True)
    parser.add_argument("--qualities", nargs="+", type=float, default=[0, 4, 7])
    parser.add_argument("--gains", nargs="*", type=float, default=[1.5, 2.0, 3.0])
    parser.add_argument("--grad-batches", type=int, default=0,
                        help="also measure the loss gradient's norm per quality level on this many training batches")
    parser.add_argument("--train-dirs", nargs="+", default=["../shared/datasets/train", "../shared/datasets/train2"])
    parser.add_argument("-o", "--output", default="")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    if args.checkpoint:  # a training checkpoint of lic train (model state only, no metadata)
        from safetensors.torch import load_file

        from lic.models.registry import get_spec

        module = get_spec(args.model).build()
        module.load_state_dict(load_file(args.checkpoint))
        module.eval()
    else:
        module = load_model(args.model, Path(args.weights) if args.weights else None).module.eval()
    rows = []
    for path in args.images:
        with Image.open(path) as im:
            a = np.asarray(im.convert("RGB"))
        h, w = a.shape[0] // 64 * 64, a.shape[1] // 64 * 64
        x = torch.from_numpy(a[:h, :w].copy()).permute(2, 0, 1)[None].float().div(255)
        for q in args.qualities:
            row = {"image": Path(path).name, "quality": q, **measure(module, x, q, args.gains)}
            rows.append(row)
            print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}), flush=True)
    mean = {}
    for q in args.qualities:
        sel = [r for r in rows if r["quality"] == q]
        mean[str(q)] = {k: float(np.mean([r[k] for r in sel])) for k in sel[0] if k not in ("image", "quality")}
    print(json.dumps({q: {k: round(v, 3) for k, v in m.items()} for q, m in mean.items()}, indent=1))
    result = {"weights": args.checkpoint or args.weights or "shipped", "mean": mean, "rows": rows}
    if args.grad_batches:
        result["grad_norms"] = grad_norms(module, args.train_dirs, args.grad_batches)
        print(json.dumps(result["grad_norms"], indent=1))
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
