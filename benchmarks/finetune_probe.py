"""Issue 17 probe: which part of the shipped elic-s gains from more training, per CPU second?

Continues the shipped weights for a CPU-seconds budget (256-px crops, 2 per step, a random quality
level per step, CompressAI's lambdas, a fresh Adam, seed 8, one thread) training one part of
the model (shipped parameters after 50 linear warm-up steps with clipping at 1.0, as ``lic train``;
new modules at the full rate from the first step, unclipped), and compares the estimated Kodak
curve (6 images, every fourth; rate from the likelihoods of the rounded latents, PSNR of the clamped reconstruction; 8
levels) before and after as a BD-rate. Modes:

* ``all``: every parameter, the training loss as ``lic train`` uses it (uniform noise as the rate proxy);
* ``hard``: every parameter, the rate measured on the coded values instead (``y`` and ``z`` rounded
  around their means/medians with straight-through gradients, as coding rounds them);
* ``encoder`` / ``decoder``: only ``g_a`` and the gains / only ``g_s`` and the inverse gains;
* ``encoder-relaxed``: only ``g_a`` and the gains, on encode-time refinement's objective
  (:mod:`lic.codec.refine`): distortion of the rounded latent (straight-through) plus the rate of
  the unrounded one, the rest of the model in its coding mode, so the decoder (and every stream it
  reads) stays as shipped;
* ``block``: only a new residual bottleneck inserted before the synthesis's last layer;
* ``post-filter``: only a new 3-layer, 32-channel residual filter on the reconstruction.

The two new modules start as the identity (last layer zero), so the curve starts where the
shipped one is; with the rest frozen, the rate does not change and the loss is the distortion term.

    OMP_NUM_THREADS=1 python benchmarks/finetune_probe.py --mode hard --lr 5e-6 --cpu-seconds 600 \\
        -o benchmarks/results/issue17/finetune-hard.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lic.eval.bdrate import RDCurve, bd_rate
from lic.eval.metrics import psnr_from_mse
from lic.io.imageio import list_images, read_image
from lic.models.context import round_ste
from lic.models.layers import ResidualBottleneck
from lic.models.rate import COMPRESSAI_MSE_LAMBDAS, rate_bpp
from lic.models.weights import load_model
from lic.train.data import CropCache
from lic.train.loss import RateDistortionLoss

MODES = ("all", "hard", "encoder", "encoder-relaxed", "decoder", "block", "post-filter")
TRAINED = {"all": ("",), "hard": ("",), "encoder": ("g_a.", "gain."), "encoder-relaxed": ("g_a.", "gain."),
           "decoder": ("g_s.", "inverse_gain.")}
# Modes whose quantiles stay as shipped: the factorized prior is the decoder's.
FROZEN_PRIOR = ("encoder-relaxed",)


class PostFilter(nn.Module):
    """``x + f(x)``, ``f`` three 3x3 convolutions with ReLUs; the identity at the start."""

    def __init__(self, channels: int = 32) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(channels, 3, 3, padding=1))
        nn.init.zeros_(self.body[-1].weight)
        nn.init.zeros_(self.body[-1].bias)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def identity_block(channels: int) -> ResidualBottleneck:
    """A residual bottleneck whose last layer is zero (the identity until trained)."""
    block = ResidualBottleneck(channels)
    nn.init.zeros_(block.body[-1].weight)
    nn.init.zeros_(block.body[-1].bias)
    return block


def harden_z(module: nn.Module) -> None:
    """Makes the hyper-latent prior round ``z`` around its medians (straight-through) in training too."""
    bottleneck = module.hyper.prior.trainable()
    bottleneck.quantize = lambda inputs, mode, means=None: round_ste(inputs - means) + means
    bottleneck.train = lambda mode=True: nn.Module.train(bottleneck, False)  # always the coded ("dequantize") path


def relaxed_loss(module: nn.Module, x: Tensor, quality: float, lmbda: float) -> Tensor:
    """Refinement's objective for a batch, with gradients into the analysis only (model in coding mode)."""
    module.eval()
    y = module.analyze(x, quality)
    out = module.forward_latent(y, quality, relaxed=True)
    distortion = lmbda * 255**2 * F.mse_loss(out["x_hat"].clamp(0, 1), x)
    return distortion + rate_bpp(out["relaxed_likelihoods"], x.shape[0] * x.shape[2] * x.shape[3])


def load_rgb(path: Path) -> Tensor:
    """``[1, 3, H, W]`` in ``[0, 1]`` (:func:`lic.io.imageio.read_image`)."""
    pixels, _ = read_image(path)
    return torch.from_numpy(pixels.copy()).permute(2, 0, 1)[None].float().div(255)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=MODES, required=True)
    parser.add_argument("--lr", type=float, required=True)
    parser.add_argument("--cpu-seconds", type=float, required=True)
    parser.add_argument("--kodak", default="../shared/datasets/kodak")
    parser.add_argument("--train-dirs", nargs="+", default=["../shared/datasets/train", "../shared/datasets/train2"])
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(8)
    rng = np.random.default_rng(8)
    module = load_model("elic-s").module.float().eval()
    for p in module.parameters():
        p.requires_grad_(False)
    synthesis, head = module.g_s, nn.Identity()
    if args.mode == "block":
        new: nn.Module = identity_block(module.config.N)
        synthesis = nn.Sequential(*module.g_s[:-1], new, module.g_s[-1])
    elif args.mode == "post-filter":
        new = PostFilter()
        head = new
    if args.mode in TRAINED:
        trained = [p for n, p in module.named_parameters() if n.startswith(TRAINED[args.mode])
                   and not n.endswith("quantiles")]
    else:
        trained = list(new.parameters())
    quantiles = [p for n, p in module.named_parameters() if n.endswith("quantiles")] \
        if args.mode in TRAINED and args.mode not in FROZEN_PRIOR else []
    if args.mode == "hard":
        harden_z(module)
    kodak_paths = list_images(Path(args.kodak))[::4]
    kodak = [load_rgb(p) for p in kodak_paths]

    def run(x: Tensor, quality: float, training: bool) -> tuple[Tensor, dict[str, Tensor]]:
        module.train(training and args.mode in TRAINED)
        # "hard": the context's eval path measures the rate of the rounded values, gradients pass straight through
        module.context.train(training and args.mode == "all")
        head.train(training)
        with torch.set_grad_enabled(training and args.mode in TRAINED):
            y = module.analyze(x, quality)
            hyper, z_likelihoods = module.hyper(y)
            y_hat, y_likelihoods = module.context(y, hyper)
        with torch.set_grad_enabled(training):
            x_hat = head(synthesis(y_hat * module.inverse_gain.gain(quality)))
        return x_hat, {"y": y_likelihoods, "z": z_likelihoods}

    @torch.no_grad()
    def curve(name: str) -> RDCurve:
        bpp, psnr = [], []
        for level in range(module.rate_levels):
            rates, qualities = [], []
            for x in kodak:
                x_hat, likelihoods = run(x, float(level), training=False)
                rates.append(rate_bpp(likelihoods, x.shape[2] * x.shape[3]).item())
                qualities.append(psnr_from_mse(F.mse_loss(x_hat.clamp(0, 1), x).item(), 1.0))
            bpp.append(float(np.mean(rates)))
            psnr.append(float(np.mean(qualities)))
        return RDCurve(name, tuple(bpp), tuple(psnr))

    before = curve("shipped")
    for p in trained + quantiles:
        p.requires_grad_(True)
    optimizer = torch.optim.Adam(trained, lr=args.lr)
    aux_optimizer = torch.optim.Adam(quantiles, lr=1e-3) if quantiles else None
    data = CropCache(args.train_dirs, 256)
    # With only new modules trained, the rate term carries no gradient: the loss is the distortion's.
    loss_fn = RateDistortionLoss("mse")
    step, start = 0, time.process_time()
    while time.process_time() - start < args.cpu_seconds:
        for group in optimizer.param_groups:  # warm-up for the shipped parameters only; new modules start at args.lr
            group["lr"] = args.lr * min(1.0, (step + 1) / 50) if args.mode in TRAINED else args.lr
        level = int(rng.integers(module.rate_levels))
        x = data.batch(2, rng)
        if args.mode == "encoder-relaxed":
            loss = relaxed_loss(module, x, float(level), COMPRESSAI_MSE_LAMBDAS[level])
        else:
            x_hat, likelihoods = run(x, float(level), training=True)
            loss = loss_fn(x_hat, x, likelihoods, COMPRESSAI_MSE_LAMBDAS[level])["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if args.mode in TRAINED:
            torch.nn.utils.clip_grad_norm_(trained, 1.0)
        optimizer.step()
        if aux_optimizer is not None:
            aux = module.aux_loss()
            aux_optimizer.zero_grad(set_to_none=True)
            aux.backward()
            aux_optimizer.step()
        step += 1
    cpu = time.process_time() - start
    after = curve(args.mode)
    result = {"mode": args.mode, "lr": args.lr, "cpu_seconds": round(cpu, 1), "steps": step,
              "trained_parameters": sum(p.numel() for p in trained),
              "images": [p.name for p in kodak_paths],
              "before": {"bpp": before.bpp, "psnr-rgb": before.psnr},
              "after": {"bpp": after.bpp, "psnr-rgb": after.psnr}, "bd_rate_percent": round(bd_rate(after, before), 2)}
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{args.mode}: {step} steps, {cpu:.0f} CPU s, BD-rate {result['bd_rate_percent']:+.2f}% "
          "against the shipped weights")


if __name__ == "__main__":
    main()
