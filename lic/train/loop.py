"""The training loop: rate-distortion loss over quality levels, resumable checkpoints,
one process per GPU under ``torchrun``."""

from __future__ import annotations

import contextlib
import csv
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch.nn.parallel import DistributedDataParallel

from lic.eval.metrics import psnr_from_mse
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
            psnr.append(psnr_from_mse(max(mse, 1e-12), 1.0))
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


def checkpoint_progress(path: Path) -> tuple[int, float, float]:
    """``(step, wall seconds, CPU seconds)`` a checkpoint of :func:`train` reached."""
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    # Checkpoints written before CPU time was recorded count their wall time instead.
    cpu = float(meta.get("cpu_seconds", meta["wall_seconds"]))
    return int(meta["step"]), float(meta["wall_seconds"]), cpu


def training_record(config: TrainConfig, steps: int, wall: float, cpu: float, device: str | None) -> dict:
    """The ``lic.training`` metadata of weights trained by ``config`` (``device`` left out when unknown)."""
    record = {"config": config.to_dict(), "steps": steps, "wall_seconds": round(wall, 1),
              "cpu_seconds": round(cpu, 1), "torch": torch.__version__}
    return record if device is None else {**record, "device": device}


class _Checkpoints:
    """Model + optimizer state in ``out_dir``, written atomically (rank 0 only)."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir

    def exists(self) -> bool:
        return (self.out_dir / CHECKPOINT).exists()

    def load(self, model: torch.nn.Module, optimizers: dict[str, torch.optim.Optimizer],
             device: torch.device) -> tuple[int, float, float]:
        model.load_state_dict(load_file(str(self.out_dir / CHECKPOINT), device=str(device)))
        state = load_file(str(self.out_dir / OPTIMIZER), device=str(device))
        for prefix, optimizer in optimizers.items():
            restore_optimizer(optimizer, {k[len(prefix) + 1 :]: v for k, v in state.items()
                                          if k.startswith(prefix + ".")})
        return checkpoint_progress(self.out_dir / CHECKPOINT)

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


@dataclass
class _Run:
    """A training run's model, optimizers and progress counters."""

    model: torch.nn.Module
    trainer: torch.nn.Module
    """``model``, or its DistributedDataParallel wrapper under torchrun."""
    main_params: list[torch.nn.Parameter]
    aux_params: list[torch.nn.Parameter]
    optimizers: dict[str, torch.optim.Optimizer]
    step: int = 0
    wall: float = 0.0
    cpu: float = 0.0


def _build_run(config: TrainConfig, group: ProcessGroup, checkpoints: _Checkpoints, lambdas: list[float],
               log: Callable[..., None]) -> _Run:
    """The model and optimizers, resumed from a checkpoint, started from weights, or fresh."""
    device = group.device
    model = get_spec(config.model).build().to(device).train()
    if len(lambdas) != model.rate_levels:
        raise ValueError(f"{config.model} has {model.rate_levels} quality levels but {len(lambdas)} lambdas")
    cuda = device.type == "cuda"
    if cuda and config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    main_params = [p for n, p in model.named_parameters() if not n.endswith("quantiles")]
    aux_params = [p for n, p in model.named_parameters() if n.endswith("quantiles")]
    optimizers = {"main": torch.optim.Adam(main_params, lr=config.lr), "aux": torch.optim.Adam(aux_params, lr=1e-3)}
    run = _Run(model, model, main_params, aux_params, optimizers)
    if checkpoints.exists():
        run.step, run.wall, run.cpu = checkpoints.load(model, optimizers, device)
        log(f"resumed from step {run.step}")
    elif config.init_weights:
        model.load_state_dict(load_file(config.init_weights, device=str(device)))
        log(f"starting from the weights in {config.init_weights}")
    else:
        model.initialize_gains(lambdas)
    group.barrier()  # nobody reads a checkpoint rank 0 is about to replace
    if group.world > 1:
        # The quantiles get their gradients from the auxiliary loss, averaged by hand below.
        quantiles = [n for n, _ in model.named_parameters() if n.endswith("quantiles")]
        DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(model, quantiles)
        run.trainer = DistributedDataParallel(model, device_ids=[device.index] if cuda else None)
    return run


class _Log:
    """The run's ``log.csv`` (rank 0 appends, other ranks write nothing) and its console lines."""

    def __init__(self, out_dir: Path, group: ProcessGroup, config: TrainConfig, start: int, intro: str) -> None:
        self.file = self.writer = None
        self.bar = None
        self.print = print if group.is_main else (lambda *a, **k: None)
        if group.is_main:
            new_log = not (out_dir / "log.csv").exists()
            self.file = open(out_dir / "log.csv", "a", newline="")
            self.writer = csv.writer(self.file)
            if new_log:
                self.writer.writerow(LOG_COLUMNS)
        self.print(intro, flush=True)
        if group.is_main and config.progress and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=config.steps, initial=start, unit="step", file=sys.stderr, dynamic_ncols=True)

    def line(self, text: str) -> None:
        """A console line (above the progress bar when there is one)."""
        if self.bar is not None:
            self.bar.write(text)
        else:
            self.print(text, flush=True)

    def row(self, config: TrainConfig, run: _Run, level: int, terms: dict[str, torch.Tensor], aux: torch.Tensor,
            grad_norm: torch.Tensor) -> None:
        """Appends a ``log.csv`` row for the step just done and shows its summary."""
        mse = terms["mse"].item()
        psnr = psnr_from_mse(max(mse, 1e-12), 1.0)
        rate = run.step / max(run.wall, 1e-9)
        self.writer.writerow([run.step, f"{run.wall:.1f}", level, f"{learning_rate(config, run.step):.3g}",
                              f"{terms['loss'].item():.4f}", f"{terms['bpp'].item():.4f}", f"{mse:.6f}",
                              f"{psnr:.2f}", f"{terms['distortion'].item():.5f}", f"{aux.item():.1f}", f"{rate:.3f}",
                              f"{run.cpu:.2f}", f"{grad_norm.item():.4f}"])
        self.file.flush()
        summary = f"q{level} loss {terms['loss'].item():.3f} bpp {terms['bpp'].item():.3f} psnr {psnr:.2f}"
        if self.bar is not None:
            self.bar.set_postfix_str(summary)
        else:
            self.print(f"step {run.step} {summary} {rate:.2f} steps/s", flush=True)

    def close(self) -> None:
        """Closes the progress bar and the log file."""
        if self.bar is not None:
            self.bar.close()
        if self.file is not None:
            self.file.close()


def _train_step(config: TrainConfig, run: _Run, x: torch.Tensor, level: int, lmbda: float,
                loss_fn: RateDistortionLoss, autocast: contextlib.AbstractContextManager,
                regions: Callable[[torch.Tensor], torch.Tensor] | None
                ) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """One optimizer step of the main and auxiliary losses: ``(terms, aux, grad_norm)``."""
    for optimizer_group in run.optimizers["main"].param_groups:
        optimizer_group["lr"] = learning_rate(config, run.step)
    with autocast:
        out = run.trainer(x, float(level))
    terms = loss_fn(out["x_hat"], x, out["likelihoods"], lmbda)
    loss = terms["loss"]
    if regions is not None:
        loss = loss + config.region_weight * regions(x)
    run.optimizers["main"].zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(run.main_params, config.clip)
    run.optimizers["main"].step()
    aux = run.model.aux_loss()
    run.optimizers["aux"].zero_grad(set_to_none=True)
    aux.backward()
    return terms, aux, grad_norm


def _save_final(config: TrainConfig, run: _Run, group: ProcessGroup, out_dir: Path, log: _Log) -> Path:
    """Writes the final weights with the run's record in their metadata (rank 0)."""
    final = out_dir / f"{config.model}.safetensors"
    if group.is_main:
        device = machine_description(group.device)
        training = training_record(config, run.step, run.wall, run.cpu,
                                   f"{group.world} x {device}" if group.world > 1 else device)
        model = run.model.to(memory_format=torch.contiguous_format)
        save_weights(config.model, model.cpu().eval(), final, training)
        log.print(f"wrote {final} ({run.step} steps, {run.step / max(run.wall, 1e-9):.2f} steps/s, "
                  f"{run.cpu:.0f} CPU s)")
    return final


def _train(config: TrainConfig, group: ProcessGroup) -> Path:
    device = group.device
    torch.manual_seed(config.seed)
    out_dir = Path(config.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lambdas = config.rd_lambdas
    checkpoints = _Checkpoints(out_dir)
    run = _build_run(config, group, checkpoints, lambdas, print if group.is_main else (lambda *a, **k: None))
    model = run.model
    cuda = device.type == "cuda"
    loss_fn = RateDistortionLoss(config.distortion)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if cuda and config.amp == "bf16" \
        else contextlib.nullcontext()
    data = CropCache(config.train_dirs, config.crop)
    regions = None
    if has_regions(model) and config.region_weight > 0:
        mask_generator = torch.Generator().manual_seed(config.seed + run.step)
        regions = lambda x: region_loss(model, segment_batch(x), mask_generator)  # noqa: E731
    val_images = _load_val(config, device) if group.is_main else []
    seed = config.seed + run.step
    rng = np.random.default_rng(seed if group.rank == 0 else [seed, group.rank])
    log = _Log(out_dir, group, config, run.step,
               f"training {config.model} on {len(data)} images, {group.world} x {device} "
               f"({'bf16 autocast' if cuda and config.amp == 'bf16' else 'float32'}), batch {config.batch_size} x "
               f"{config.crop}px per process, {config.distortion}, from step {run.step} to {config.steps}")

    budget_spent = group.any(cpu_budget_spent(config, run.cpu))
    while run.step < config.steps and not budget_spent:
        t0, c0 = time.perf_counter(), time.process_time()
        level = int(rng.integers(model.rate_levels))
        x = data.batch(config.batch_size, rng).to(device, non_blocking=True)
        if cuda and config.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        terms, aux, grad_norm = _train_step(config, run, x, level, lambdas[level], loss_fn, autocast, regions)
        group.average_gradients(run.aux_params)
        run.optimizers["aux"].step()
        if cuda and run.step % config.log_every == config.log_every - 1:
            torch.cuda.synchronize()
        run.step += 1
        run.wall += time.perf_counter() - t0
        run.cpu += time.process_time() - c0
        if log.bar is not None:
            log.bar.update(1)
        if run.step % config.log_every == 0 and group.is_main:
            log.row(config, run, level, terms, aux, grad_norm)
        budget_spent = group.any(cpu_budget_spent(config, run.cpu))
        last = run.step == config.steps or budget_spent
        if group.is_main and (run.step % config.checkpoint_every == 0 or last):
            checkpoints.save(model, run.optimizers, run.step, run.wall, run.cpu)
        if val_images and (run.step % config.validate_every == 0 or last):
            levels = sorted({0, model.rate_levels // 2, model.rate_levels - 1})
            log.line(f"step {run.step} validation {validate(model, val_images, levels)}")
    log.close()
    final = _save_final(config, run, group, out_dir, log)
    group.barrier()
    return final
