"""The training loop: rate-distortion loss over quality levels, resumable checkpoints."""

from __future__ import annotations

import csv
import math
import platform
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from lic.models.registry import get_spec
from lic.models.weights import checkpoint_state, restore_optimizer, save_weights
from lic.train.config import TrainConfig
from lic.codec.imageio import list_images
from lic.train.data import CropCache

CHECKPOINT = "checkpoint.safetensors"
OPTIMIZER = "optimizer.safetensors"


def rate_bpp(likelihoods: dict[str, torch.Tensor], pixels: int) -> torch.Tensor:
    """Estimated bits per pixel of all latents."""
    return sum(-torch.log2(v).sum() for v in likelihoods.values()) / pixels


def learning_rate(config: TrainConfig, step: int) -> float:
    """Linear warm-up, then cosine decay from ``lr`` to ``lr_final``."""
    if step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    progress = min(1.0, (step - config.warmup) / max(1, config.steps - config.warmup))
    return config.lr_final + 0.5 * (config.lr - config.lr_final) * (1 + math.cos(math.pi * progress))


def _device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


@torch.no_grad()
def validate(model: torch.nn.Module, images: list[torch.Tensor], levels: list[int]) -> dict[str, float]:
    """Estimated bpp and PSNR (rounded latents) per quality level on whole images."""
    model.eval()
    result: dict[str, float] = {}
    for level in levels:
        bpp, psnr = [], []
        for x in images:
            out = model(x, float(level))
            bpp.append(rate_bpp(out["likelihoods"], x.shape[2] * x.shape[3]).item())
            mse = F.mse_loss(out["x_hat"].clamp(0, 1), x).item()
            psnr.append(10 * math.log10(1 / max(mse, 1e-12)))
        result[f"q{level}_bpp"] = float(np.mean(bpp))
        result[f"q{level}_psnr"] = float(np.mean(psnr))
    model.train()
    return result


def _load_val(config: TrainConfig, device: torch.device) -> list[torch.Tensor]:
    if not config.val_dir:
        return []
    from PIL import Image

    images = []
    for path in list_images(Path(config.val_dir))[: config.val_images]:
        with Image.open(path) as im:
            a = np.asarray(im.convert("RGB"))
        h, w = a.shape[0] // 64 * 64, a.shape[1] // 64 * 64
        if h and w:
            images.append(torch.from_numpy(a[:h, :w].copy()).permute(2, 0, 1)[None].float().div(255).to(device))
    return images


def train(config: TrainConfig) -> Path:
    """Runs (or resumes) a training run; returns the path of the final weights."""
    if config.threads:
        torch.set_num_threads(config.threads)
    device = _device(config.device)
    torch.manual_seed(config.seed)
    out_dir = Path(config.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = get_spec(config.model)
    model = spec.build().to(device).train()
    if len(config.lambdas) != model.rate_levels:
        raise ValueError(f"{config.model} has {model.rate_levels} quality levels but {len(config.lambdas)} lambdas")

    main_params = [p for n, p in model.named_parameters() if not n.endswith("quantiles")]
    aux_params = [p for n, p in model.named_parameters() if n.endswith("quantiles")]
    optimizer = torch.optim.Adam(main_params, lr=config.lr)
    aux_optimizer = torch.optim.Adam(aux_params, lr=1e-3)

    step, wall = 0, 0.0
    if (out_dir / CHECKPOINT).exists():
        with safe_open(str(out_dir / CHECKPOINT), "pt") as f:
            meta = f.metadata()
        model.load_state_dict(load_file(str(out_dir / CHECKPOINT), device=str(device)))
        opt = load_file(str(out_dir / OPTIMIZER), device=str(device))
        restore_optimizer(optimizer, {k[5:]: v for k, v in opt.items() if k.startswith("main.")})
        restore_optimizer(aux_optimizer, {k[4:]: v for k, v in opt.items() if k.startswith("aux.")})
        step, wall = int(meta["step"]), float(meta["wall_seconds"])
        print(f"resumed from step {step}")
    else:
        model.initialize_gains(config.lambdas)

    data = CropCache(config.train_dirs, config.crop)
    val_images = _load_val(config, device)
    rng = np.random.default_rng(config.seed + step)
    log_path = out_dir / "log.csv"
    new_log = not log_path.exists()
    log = open(log_path, "a", newline="")
    writer = csv.writer(log)
    if new_log:
        writer.writerow(["step", "wall_s", "level", "lr", "loss", "bpp", "mse", "psnr", "aux"])
    print(f"training {config.model} on {len(data)} images, {device}, from step {step} to {config.steps}")

    def save_checkpoint() -> None:
        meta = {"step": str(step), "wall_seconds": f"{wall:.1f}"}
        state = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
        save_file(state, str(out_dir / (CHECKPOINT + ".tmp")), metadata=meta)
        opt = {f"main.{k}": v for k, v in checkpoint_state(optimizer).items()}
        opt.update({f"aux.{k}": v for k, v in checkpoint_state(aux_optimizer).items()})
        save_file(opt, str(out_dir / (OPTIMIZER + ".tmp")))
        (out_dir / (OPTIMIZER + ".tmp")).replace(out_dir / OPTIMIZER)
        (out_dir / (CHECKPOINT + ".tmp")).replace(out_dir / CHECKPOINT)

    pixels = config.batch_size * config.crop * config.crop
    while step < config.steps:
        t0 = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(config, step)
        level = int(rng.integers(model.rate_levels))
        x = data.batch(config.batch_size, rng).to(device)
        out = model(x, float(level))
        mse = F.mse_loss(out["x_hat"], x)
        bpp = rate_bpp(out["likelihoods"], pixels)
        loss = config.lambdas[level] * 255**2 * mse + bpp
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(main_params, config.clip)
        optimizer.step()
        aux = model.aux_loss()
        aux_optimizer.zero_grad(set_to_none=True)
        aux.backward()
        aux_optimizer.step()
        step += 1
        wall += time.perf_counter() - t0
        if step % config.log_every == 0:
            psnr = 10 * math.log10(1 / max(mse.item(), 1e-12))
            writer.writerow([step, f"{wall:.1f}", level, f"{learning_rate(config, step):.3g}", f"{loss.item():.4f}",
                             f"{bpp.item():.4f}", f"{mse.item():.6f}", f"{psnr:.2f}", f"{aux.item():.1f}"])
            log.flush()
            print(f"step {step} q{level} loss {loss.item():.3f} bpp {bpp.item():.3f} psnr {psnr:.2f} "
                  f"{step / max(wall, 1e-9):.2f} steps/s", flush=True)
        if step % config.checkpoint_every == 0 or step == config.steps:
            save_checkpoint()
        if val_images and (step % config.validate_every == 0 or step == config.steps):
            levels = sorted({0, model.rate_levels // 2, model.rate_levels - 1})
            print("validation", validate(model, val_images, levels), flush=True)
    log.close()

    training = {
        "config": config.to_dict(),
        "steps": step,
        "wall_seconds": round(wall, 1),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "torch": torch.__version__,
    }
    final = out_dir / f"{config.model}.safetensors"
    save_weights(config.model, model.cpu().eval(), final, training)
    print(f"wrote {final}")
    return final
