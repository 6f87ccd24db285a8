"""The training loop: rate-distortion loss over quality levels, resumable checkpoints,
one process per GPU under ``torchrun``."""

from __future__ import annotations

import contextlib
import csv
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch.nn.parallel import DistributedDataParallel

from lic.hardware import machine_description
from lic.io.imageio import list_images
from lic.models.rate import cosine_learning_rate, rate_bpp
from lic.models.registry import get_spec
from lic.models.weights import checkpoint_state, restore_optimizer, save_weights
from lic.train.config import TrainConfig
from lic.train.data import CropCache
from lic.train.distributed import ProcessGroup, join_process_group
from lic.train.loss import RateDistortionLoss
from lic.train.regions import has_regions, region_loss, segment_batch

CHECKPOINT = "checkpoint.safetensors"
OPTIMIZER = "optimizer.safetensors"
LOG_COLUMNS = ["step", "wall_s", "level", "lr", "loss", "bpp", "mse", "psnr", "distortion", "aux", "steps_per_s",
               "cpu_s", "grad_norm"]


def cpu_budget_spent(config: TrainConfig, cpu_seconds: float) -> bool:
    """Whether the training steps have used up ``max_cpu_seconds`` (never, when it is 0)."""
    return config.max_cpu_seconds > 0 and cpu_seconds >= config.max_cpu_seconds


def learning_rate(config: TrainConfig, step: int) -> float:
    """Linear warm-up, then cosine decay from ``lr`` to ``lr_final``."""
    return cosine_learning_rate(config.lr, config.lr_final, config.steps, step, config.warmup)


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
            mse = F.mse_loss(out["x_hat"].float().clamp(0, 1), x).item()
            psnr.append(10 * math.log10(1 / max(mse, 1e-12)))
        result[f"q{level}_bpp"] = round(float(np.mean(bpp)), 4)
        result[f"q{level}_psnr"] = round(float(np.mean(psnr)), 3)
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


class _Checkpoints:
    """Model + optimizer state in ``out_dir``, written atomically (rank 0 only)."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir

    def exists(self) -> bool:
        return (self.out_dir / CHECKPOINT).exists()

    def load(self, model: torch.nn.Module, optimizers: dict[str, torch.optim.Optimizer],
             device: torch.device) -> tuple[int, float, float]:
        with safe_open(str(self.out_dir / CHECKPOINT), "pt") as f:
            meta = f.metadata()
        model.load_state_dict(load_file(str(self.out_dir / CHECKPOINT), device=str(device)))
        state = load_file(str(self.out_dir / OPTIMIZER), device=str(device))
        for prefix, optimizer in optimizers.items():
            restore_optimizer(optimizer, {k[len(prefix) + 1 :]: v for k, v in state.items()
                                          if k.startswith(prefix + ".")})
        # Checkpoints written before CPU time was recorded count their wall time instead.
        cpu = float(meta.get("cpu_seconds", meta["wall_seconds"]))
        return int(meta["step"]), float(meta["wall_seconds"]), cpu

    def save(self, model: torch.nn.Module, optimizers: dict[str, torch.optim.Optimizer], step: int,
             wall: float, cpu: float) -> None:
        meta = {"step": str(step), "wall_seconds": f"{wall:.1f}", "cpu_seconds": f"{cpu:.1f}"}
        state = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
        save_file(state, str(self.out_dir / (CHECKPOINT + ".tmp")), metadata=meta)
        opt: dict[str, torch.Tensor] = {}
        for prefix, optimizer in optimizers.items():
            opt.update({f"{prefix}.{k}": v for k, v in checkpoint_state(optimizer).items()})
        save_file(opt, str(self.out_dir / (OPTIMIZER + ".tmp")))
        (self.out_dir / (OPTIMIZER + ".tmp")).replace(self.out_dir / OPTIMIZER)
        (self.out_dir / (CHECKPOINT + ".tmp")).replace(self.out_dir / CHECKPOINT)


def train(config: TrainConfig) -> Path:
    """Runs (or resumes) a training run; returns the path of the final weights.

    Under ``torchrun`` every process trains on its own random crops (``batch_size``
    per process) and DistributedDataParallel averages the gradients.
    """
    if config.threads:
        torch.set_num_threads(config.threads)
    group = join_process_group(config.device)
    try:
        return _train(config, group)
    finally:
        group.close()


def _train(config: TrainConfig, group: ProcessGroup) -> Path:
    device = group.device
    torch.manual_seed(config.seed)
    out_dir = Path(config.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lambdas = config.rd_lambdas
    model = get_spec(config.model).build().to(device).train()
    if len(lambdas) != model.rate_levels:
        raise ValueError(f"{config.model} has {model.rate_levels} quality levels but {len(lambdas)} lambdas")
    cuda = device.type == "cuda"
    if cuda and config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    main_params = [p for n, p in model.named_parameters() if not n.endswith("quantiles")]
    aux_params = [p for n, p in model.named_parameters() if n.endswith("quantiles")]
    optimizers = {"main": torch.optim.Adam(main_params, lr=config.lr), "aux": torch.optim.Adam(aux_params, lr=1e-3)}
    checkpoints = _Checkpoints(out_dir)
    log = print if group.is_main else (lambda *a, **k: None)

    step, wall, cpu = 0, 0.0, 0.0
    if checkpoints.exists():
        step, wall, cpu = checkpoints.load(model, optimizers, device)
        log(f"resumed from step {step}")
    elif config.init_weights:
        model.load_state_dict(load_file(config.init_weights, device=str(device)))
        log(f"starting from the weights in {config.init_weights}")
    else:
        model.initialize_gains(lambdas)
    group.barrier()  # nobody reads a checkpoint rank 0 is about to replace

    trainer: torch.nn.Module = model
    if group.world > 1:
        # The quantiles get their gradients from the auxiliary loss, averaged by hand below.
        quantiles = [n for n, _ in model.named_parameters() if n.endswith("quantiles")]
        DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(model, quantiles)
        trainer = DistributedDataParallel(model, device_ids=[device.index] if cuda else None)
    loss_fn = RateDistortionLoss(config.distortion)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if cuda and config.amp == "bf16" \
        else contextlib.nullcontext()
    data = CropCache(config.train_dirs, config.crop)
    regions = has_regions(model) and config.region_weight > 0
    mask_generator = torch.Generator().manual_seed(config.seed + step)
    val_images = _load_val(config, device) if group.is_main else []
    seed = config.seed + step
    rng = np.random.default_rng(seed if group.rank == 0 else [seed, group.rank])
    log_file = writer = None
    if group.is_main:
        new_log = not (out_dir / "log.csv").exists()
        log_file = open(out_dir / "log.csv", "a", newline="")
        writer = csv.writer(log_file)
        if new_log:
            writer.writerow(LOG_COLUMNS)
    log(f"training {config.model} on {len(data)} images, {group.world} x {device} "
        f"({'bf16 autocast' if cuda and config.amp == 'bf16' else 'float32'}), batch {config.batch_size} x "
        f"{config.crop}px per process, {config.distortion}, from step {step} to {config.steps}", flush=True)

    bar = None
    if group.is_main and config.progress and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=config.steps, initial=step, unit="step", file=sys.stderr, dynamic_ncols=True)
    budget_spent = group.any(cpu_budget_spent(config, cpu))
    while step < config.steps and not budget_spent:
        t0, c0 = time.perf_counter(), time.process_time()
        for optimizer_group in optimizers["main"].param_groups:
            optimizer_group["lr"] = learning_rate(config, step)
        level = int(rng.integers(model.rate_levels))
        x = data.batch(config.batch_size, rng).to(device, non_blocking=True)
        if cuda and config.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast:
            out = trainer(x, float(level))
        terms = loss_fn(out["x_hat"], x, out["likelihoods"], lambdas[level])
        loss = terms["loss"]
        if regions:
            loss = loss + config.region_weight * region_loss(model, segment_batch(x), mask_generator)
        optimizers["main"].zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(main_params, config.clip)
        optimizers["main"].step()
        aux = model.aux_loss()
        optimizers["aux"].zero_grad(set_to_none=True)
        aux.backward()
        group.average_gradients(aux_params)
        optimizers["aux"].step()
        if cuda and step % config.log_every == config.log_every - 1:
            torch.cuda.synchronize()
        step += 1
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
        if bar is not None:
            bar.update(1)
        if step % config.log_every == 0 and group.is_main:
            mse = terms["mse"].item()
            psnr = 10 * math.log10(1 / max(mse, 1e-12))
            rate = step / max(wall, 1e-9)
            writer.writerow([step, f"{wall:.1f}", level, f"{learning_rate(config, step):.3g}",
                             f"{terms['loss'].item():.4f}", f"{terms['bpp'].item():.4f}", f"{mse:.6f}", f"{psnr:.2f}",
                             f"{terms['distortion'].item():.5f}", f"{aux.item():.1f}", f"{rate:.3f}",
                             f"{cpu:.2f}", f"{grad_norm.item():.4f}"])
            log_file.flush()
            summary = f"q{level} loss {terms['loss'].item():.3f} bpp {terms['bpp'].item():.3f} psnr {psnr:.2f}"
            if bar is not None:
                bar.set_postfix_str(summary)
            else:
                log(f"step {step} {summary} {rate:.2f} steps/s", flush=True)
        budget_spent = group.any(cpu_budget_spent(config, cpu))
        last = step == config.steps or budget_spent
        if group.is_main and (step % config.checkpoint_every == 0 or last):
            checkpoints.save(model, optimizers, step, wall, cpu)
        if val_images and (step % config.validate_every == 0 or last):
            levels = sorted({0, model.rate_levels // 2, model.rate_levels - 1})
            line = f"step {step} validation {validate(model, val_images, levels)}"
            if bar is not None:
                bar.write(line)
            else:
                log(line, flush=True)
    if bar is not None:
        bar.close()
    final = out_dir / f"{config.model}.safetensors"
    if group.is_main:
        log_file.close()
        training = {
            "config": config.to_dict(),
            "steps": step,
            "wall_seconds": round(wall, 1),
            "cpu_seconds": round(cpu, 1),
            "device": f"{group.world} x {machine_description(device)}" if group.world > 1 else machine_description(device),
            "torch": torch.__version__,
        }
        model = model.to(memory_format=torch.contiguous_format)
        save_weights(config.model, model.cpu().eval(), final, training)
        log(f"wrote {final} ({step} steps, {step / max(wall, 1e-9):.2f} steps/s, {cpu:.0f} CPU s)")
    group.barrier()
    return final
