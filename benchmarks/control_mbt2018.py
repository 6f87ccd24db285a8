"""The control of issue 17: CompressAI's own ``mbt2018_mean`` trained with CompressAI's usual
recipe on lic's training data, crops and CPU-seconds budget, evaluated on Kodak through
CompressAI's own ``compress``/``decompress``.

CompressAI's recipe (its ``examples/train.py``): one lambda per model, loss
``lambda * 255^2 * MSE + bpp`` (``compressai.losses.RateDistortionLoss``), Adam at a constant
1e-4 for the network, a separate Adam at 1e-3 for the entropy bottleneck's quantiles (its aux
loss), gradient clipping at 1.0. The crops come from lic's ``CropCache`` (the same folders,
crop size, batch and flips as ``lic train``), so only the model and the recipe differ.

    # train (resumes from out/checkpoint.safetensors; stops at --max-cpu-seconds of training steps)
    python benchmarks/control_mbt2018.py train --lmbda 0.18 --out runs/control/mbt-0.18 --max-cpu-seconds 900
    # evaluate: real bitstreams (byte lengths of compress()'s strings), decoded by decompress()
    python benchmarks/control_mbt2018.py eval --out runs/control/mbt-0.18 ../shared/datasets/kodak -o result.json
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from compressai.losses import RateDistortionLoss
from compressai.models import MeanScaleHyperprior
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from lic.io.imageio import list_images
from lic.models.weights import checkpoint_state, restore_optimizer
from lic.train.data import CropCache

CHECKPOINT = "checkpoint.safetensors"
OPTIMIZER = "optimizer.safetensors"
LOG_COLUMNS = ["step", "cpu_s", "wall_s", "loss", "bpp", "mse", "psnr", "aux", "grad_norm"]


def build(n: int, m: int) -> MeanScaleHyperprior:
    """``mbt2018_mean`` as CompressAI's zoo builds it (N=128, M=192 for its qualities 1-4)."""
    return MeanScaleHyperprior(N=n, M=m)


def optimizers(net: torch.nn.Module, lr: float, aux_lr: float) -> dict[str, torch.optim.Optimizer]:
    """CompressAI's ``configure_optimizers``: quantiles apart, trained by the aux loss."""
    main = [p for n, p in net.named_parameters() if not n.endswith(".quantiles")]
    aux = [p for n, p in net.named_parameters() if n.endswith(".quantiles")]
    return {"main": torch.optim.Adam(main, lr=lr), "aux": torch.optim.Adam(aux, lr=aux_lr)}


def save_checkpoint(out: Path, net: torch.nn.Module, opts: dict[str, torch.optim.Optimizer], meta: dict) -> None:
    """Model and optimizer states, written atomically (safetensors, no pickle)."""
    state = {k: v.detach().contiguous().clone() for k, v in net.state_dict().items()}
    save_file(state, str(out / (CHECKPOINT + ".tmp")), metadata={k: str(v) for k, v in meta.items()})
    flat: dict[str, torch.Tensor] = {}
    for prefix, opt in opts.items():
        flat.update({f"{prefix}.{k}": v for k, v in checkpoint_state(opt).items()})
    save_file(flat, str(out / (OPTIMIZER + ".tmp")))
    (out / (OPTIMIZER + ".tmp")).replace(out / OPTIMIZER)
    (out / (CHECKPOINT + ".tmp")).replace(out / CHECKPOINT)


def load_net(out: Path) -> tuple[MeanScaleHyperprior, dict[str, str]]:
    """The checkpointed network and its metadata."""
    with safe_open(str(out / CHECKPOINT), "pt") as f:
        meta = f.metadata()
    net = build(int(meta["N"]), int(meta["M"]))
    # The entropy models' CDF buffers change size after update(); load them as saved.
    state = load_file(str(out / CHECKPOINT))
    net.load_state_dict(state, strict=False)
    return net, meta


def train(args: argparse.Namespace) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    net = build(args.N, args.M).train()
    opts = optimizers(net, args.lr, args.aux_lr)
    step, cpu, wall = 0, 0.0, 0.0
    if (out / CHECKPOINT).exists():
        with safe_open(str(out / CHECKPOINT), "pt") as f:
            meta = f.metadata()
        if (int(meta["N"]), int(meta["M"]), float(meta["lmbda"])) != (args.N, args.M, args.lmbda):
            sys.exit(f"error: {out} holds a run with other N/M/lambda")
        net.load_state_dict(load_file(str(out / CHECKPOINT)))
        flat = load_file(str(out / OPTIMIZER))
        for prefix, opt in opts.items():
            restore_optimizer(opt, {k[len(prefix) + 1:]: v for k, v in flat.items() if k.startswith(prefix + ".")})
        step, cpu, wall = int(meta["step"]), float(meta["cpu_seconds"]), float(meta["wall_seconds"])
        print(f"resumed from step {step} ({cpu:.0f} CPU s)", flush=True)
    criterion = RateDistortionLoss(lmbda=args.lmbda)
    data = CropCache(args.train_dirs, args.crop)
    rng = np.random.default_rng(args.seed + step)
    new_log = not (out / "log.csv").exists()
    log_file = open(out / "log.csv", "a", newline="")
    writer = csv.writer(log_file)
    if new_log:
        writer.writerow(LOG_COLUMNS)
    main_params = [p for g in opts["main"].param_groups for p in g["params"]]

    def meta() -> dict:
        return {"step": step, "cpu_seconds": f"{cpu:.2f}", "wall_seconds": f"{wall:.1f}", "N": args.N, "M": args.M,
                "lmbda": args.lmbda, "lr": args.lr, "crop": args.crop, "batch_size": args.batch_size,
                "model": "compressai mbt2018_mean (MeanScaleHyperprior)", "torch": torch.__version__}

    print(f"training mbt2018_mean N={args.N} M={args.M} lambda={args.lmbda} on {len(data)} images, batch "
          f"{args.batch_size} x {args.crop}px, until {args.max_cpu_seconds:.0f} CPU s", flush=True)
    last_save = cpu
    while cpu < args.max_cpu_seconds:
        t0, c0 = time.perf_counter(), time.process_time()
        x = data.batch(args.batch_size, rng)
        opts["main"].zero_grad(set_to_none=True)
        opts["aux"].zero_grad(set_to_none=True)
        out_net = net(x)
        terms = criterion(out_net, x)
        terms["loss"].backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(main_params, args.clip) if args.clip > 0 else torch.tensor(0.0)
        opts["main"].step()
        aux = net.aux_loss()
        aux.backward()
        opts["aux"].step()
        step += 1
        cpu += time.process_time() - c0
        wall += time.perf_counter() - t0
        if step % args.log_every == 0:
            mse = terms["mse_loss"].item()
            writer.writerow([step, f"{cpu:.2f}", f"{wall:.1f}", f"{terms['loss'].item():.4f}",
                             f"{terms['bpp_loss'].item():.4f}", f"{mse:.6f}",
                             f"{10 * math.log10(1 / max(mse, 1e-12)):.2f}", f"{aux.item():.1f}",
                             f"{grad_norm.item():.4f}"])
            log_file.flush()
        if cpu - last_save >= args.checkpoint_cpu_seconds or cpu >= args.max_cpu_seconds:
            save_checkpoint(out, net, opts, meta())
            last_save = cpu
            print(f"step {step} {cpu:.0f} CPU s loss {terms['loss'].item():.3f} "
                  f"bpp {terms['bpp_loss'].item():.3f}", flush=True)
    log_file.close()
    print(f"done: {step} steps, {cpu:.0f} CPU s, {wall:.0f} s wall", flush=True)


@torch.no_grad()
def evaluate(args: argparse.Namespace) -> None:
    net, meta = load_net(Path(args.out))
    net.eval()
    net.update(force=True)
    rows = []
    paths = [p for d in args.images for p in (list_images(Path(d)) if Path(d).is_dir() else [Path(d)])]
    for path in paths:
        with Image.open(path) as im:
            a = np.asarray(im.convert("RGB"))
        h, w = a.shape[:2]
        x = torch.from_numpy(a.copy()).permute(2, 0, 1)[None].float().div(255)
        ph, pw = (64 - h % 64) % 64, (64 - w % 64) % 64
        x_pad = torch.nn.functional.pad(x, (0, pw, 0, ph), mode="replicate")
        enc = net.compress(x_pad)
        nbytes = sum(len(s) for strings in enc["strings"] for s in strings)
        x_hat = net.decompress(enc["strings"], enc["shape"])["x_hat"][..., :h, :w]
        rec = (x_hat.clamp(0, 1) * 255).round().squeeze(0).permute(1, 2, 0).numpy().astype(np.uint8)
        mse = np.mean((rec.astype(np.float64) - a.astype(np.float64)) ** 2)
        psnr = 10 * math.log10(255**2 / max(mse, 1e-12))
        rows.append({"image": path.name, "bpp": nbytes * 8 / (h * w), "psnr": psnr})
    steps = f"{meta['step']} steps, {float(meta['cpu_seconds']):.0f} CPU s"
    result = {"name": f"mbt2018_mean lambda={meta['lmbda']} ({steps})",
              "description": "CompressAI compress/decompress; bpp = bytes of the strings x 8 / pixels; PSNR-RGB of the "
                             "uint8 reconstruction",
              "training": meta,
              "results": {"bpp": [float(np.mean([r["bpp"] for r in rows]))],
                          "psnr-rgb": [float(np.mean([r["psnr"] for r in rows]))]},
              "images": rows}
    text = json.dumps(result, indent=2)
    if args.output:
        Path(args.output).write_text(text + "\n")
    print(f"{result['name']}: {result['results']['bpp'][0]:.4f} bpp, {result['results']['psnr-rgb'][0]:.3f} dB")


@torch.no_grad()
def ceiling(args: argparse.Namespace) -> None:
    """Estimated bpp and PSNR with rounded latents, and the PSNR of ``g_s(g_a(x))`` without
    quantization (the transforms' ceiling), as ``diagnose_ceiling.py`` measures lic's models."""
    from diagnose_ceiling import psnr  # benchmarks/ is on sys.path when this script runs

    net, meta = load_net(Path(args.out))
    net.eval()
    rows = []
    for path in args.images:
        with Image.open(path) as im:
            a = np.asarray(im.convert("RGB"))
        h, w = a.shape[0] // 64 * 64, a.shape[1] // 64 * 64
        x = torch.from_numpy(a[:h, :w].copy()).permute(2, 0, 1)[None].float().div(255)
        out = net(x)  # eval mode: rounded latents
        bpp = sum(-torch.log2(v).sum() for v in out["likelihoods"].values()).item() / (h * w)
        rows.append({"image": Path(path).name, "bpp_round": bpp, "psnr_round": psnr(out["x_hat"], x),
                     "psnr_none": psnr(net.g_s(net.g_a(x)), x)})
        print(json.dumps(rows[-1]), flush=True)
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("bpp_round", "psnr_round", "psnr_none")}
    print(json.dumps(mean))
    if args.output:
        Path(args.output).write_text(json.dumps({"run": args.out, "training": meta, "mean": mean, "rows": rows},
                                                indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train (or resume) one lambda")
    t.add_argument("--lmbda", type=float, required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--max-cpu-seconds", type=float, required=True, help="CPU seconds of training steps in all")
    t.add_argument("--train-dirs", nargs="+", default=["../shared/datasets/train", "../shared/datasets/train2"])
    t.add_argument("--crop", type=int, default=128)
    t.add_argument("--batch-size", type=int, default=8)
    t.add_argument("--N", type=int, default=128)
    t.add_argument("--M", type=int, default=192)
    t.add_argument("--lr", type=float, default=1e-4)
    t.add_argument("--aux-lr", type=float, default=1e-3)
    t.add_argument("--clip", type=float, default=1.0, help="gradient-norm clipping (CompressAI's default 1.0; 0: off)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--log-every", type=int, default=10)
    t.add_argument("--checkpoint-cpu-seconds", type=float, default=300)
    e = sub.add_parser("eval", help="Kodak RD through compress/decompress")
    e.add_argument("--out", required=True)
    e.add_argument("images", nargs="+")
    e.add_argument("-o", "--output", default="")
    c = sub.add_parser("ceiling", help="PSNR with rounded and with unquantized latents (estimated bpp)")
    c.add_argument("--out", required=True)
    c.add_argument("images", nargs="+")
    c.add_argument("-o", "--output", default="")
    args = parser.parse_args()
    torch.set_num_threads(1)
    {"train": train, "eval": evaluate, "ceiling": ceiling}[args.command](args)


if __name__ == "__main__":
    main()
