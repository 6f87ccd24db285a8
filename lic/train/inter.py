"""Training the P-frame codec of a video model (:class:`lic.models.inter.ElicVideoModel`).

The intra model is frozen (its shipped weights, named by digest in the result), so only
the temporal refiner learns, and its loss is the rate alone: a P-frame's distortion is that
of its own quantized analysis, whatever the probabilities. The intra model runs in eval
mode, so the rate is that of the rounded latent, as in coding.

Training pairs ``(reference, frame)`` come from two sources, because real video here is
small: consecutive frames (distance 1 and 2) of the Vimeo-90k septuplet sample, and
synthetic motion from the still training photos (a crop and the same crop moved by a random
shift of up to ``max_shift`` pixels, sometimes with a small zoom). The test clips
(BasketballPass, RaceHorses, CiscoVT2people) are never used. The intra analysis runs once
per crop before training (without the quality gain, which is applied per step), so a step
costs only the small conditional networks.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import save_file

from lic.io.imageio import list_images
from lic.models.rate import cosine_learning_rate, rate_bpp
from lic.models.registry import get_spec
from lic.models.weights import load_base, load_model, save_weights
from lic.train.config import config_from_values, read_toml


@dataclass
class InterTrainConfig:
    """Everything a P-frame training run depends on; stored in the weights it produces.

    ``base_weights`` is the intra model's weights file ("": the shipped one);
    ``init_weights`` a weights file of this model to continue from ("": start from zero
    corrections); ``static_fraction`` the share of still-photo pairs whose motion is a whole
    number of latents (0 or +-16 pixels per axis) plus mild noise, like a static background
    under a fixed camera; the other fields are as in :class:`lic.train.config.TrainConfig`.
    """

    model: str = "elic-s-video"
    base_weights: str = ""
    init_weights: str = ""
    video_dirs: list[str] = field(default_factory=lambda: ["../shared/datasets/video/vimeo_septuplet_sample"])
    still_dirs: list[str] = field(default_factory=lambda: ["../shared/datasets/train"])
    out_dir: str = "runs/elic-s-video"
    crop: int = 192
    max_shift: int = 16
    static_fraction: float = 0.0
    steps: int = 3000
    batch_size: int = 16
    lr: float = 1e-4
    lr_final: float = 1e-5
    clip: float = 1.0
    log_every: int = 50
    save_every: int = 200
    threads: int = 0
    seed: int = 0
    data_seed: int = 0

    def __post_init__(self) -> None:
        if self.crop < 64 or self.crop % 64 or self.steps < 1 or self.batch_size < 1:
            raise ValueError("crop must be a positive multiple of 64, steps and batch_size positive")

    @classmethod
    def from_toml(cls, path: Path) -> InterTrainConfig:
        """Reads a config; unknown keys are an error."""
        return config_from_values(cls, read_toml(path), path)


def _load(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def video_pairs(folders: list[str], crop: int, rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Crops of consecutive frames (distance 1 and 2) of every folder of frames below ``folders``."""
    pairs = []
    for root in folders:
        for clip in sorted({p.parent for p in Path(root).rglob("*.png")}):
            frames = [_load(p) for p in list_images(clip)]
            for distance in (1, 2):
                for a, b in zip(frames, frames[distance:]):
                    h, w = a.shape[:2]
                    if h < crop or w < crop:
                        continue
                    top, left = rng.integers(0, h - crop + 1), rng.integers(0, w - crop + 1)
                    pairs.append((a[top : top + crop, left : left + crop], b[top : top + crop, left : left + crop]))
    return pairs


def still_pairs(folders: list[str], crop: int, max_shift: int, rng: np.random.Generator,
                static_fraction: float = 0.0) -> list[tuple[np.ndarray, np.ndarray]]:
    """A crop of each still photo and the same crop moved by a random shift (and sometimes zoom);
    a ``static_fraction`` of them move by whole latents only, with noise of 2 code values."""
    pairs = []
    for root in folders:
        for path in list_images(Path(root)):
            image = _load(path)
            h, w = image.shape[:2]
            if h < crop + 2 * max_shift or w < crop + 2 * max_shift:
                image = np.asarray(Image.fromarray(image).resize((max(w, crop + 2 * max_shift) * 2,
                                                                  max(h, crop + 2 * max_shift) * 2)))
                h, w = image.shape[:2]
            top = rng.integers(max_shift, h - crop - max_shift + 1)
            left = rng.integers(max_shift, w - crop - max_shift + 1)
            static = rng.random() < static_fraction
            if static:
                dy, dx = (rng.integers(-1, 2, 2) * 16).clip(-max_shift, max_shift)
            else:
                dy, dx = rng.integers(-max_shift, max_shift + 1, 2)
            first = image[top : top + crop, left : left + crop]
            second = image[top + dy : top + dy + crop, left + dx : left + dx + crop]
            if static:
                noisy = second.astype(np.float32) + rng.normal(0, 2, second.shape)
                second = np.clip(np.round(noisy), 0, 255).astype(np.uint8)
            elif rng.random() < 0.3:  # a slow zoom: scale the moved crop by 1-4% around its centre
                size = int(round(crop * (1 + rng.uniform(0.01, 0.04))))
                zoomed = np.asarray(Image.fromarray(second).resize((size, size), Image.BICUBIC))
                offset = (size - crop) // 2
                second = zoomed[offset : offset + crop, offset : offset + crop]
            pairs.append((first, second))
    return pairs


@torch.inference_mode()
def analyze_pairs(intra: torch.nn.Module, pairs: list[tuple[np.ndarray, np.ndarray]],
                  batch: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Intra analysis (before the quality gain) of every reference and frame."""
    refs, frames = [], []
    for i in range(0, len(pairs), batch):
        chunk = pairs[i : i + batch]
        for index, out in ((0, refs), (1, frames)):
            x = torch.from_numpy(np.stack([p[index] for p in chunk])).permute(0, 3, 1, 2).float() / 255
            out.append(intra.g_a(x.contiguous(memory_format=torch.channels_last)).contiguous())
    return torch.cat(refs), torch.cat(frames)


def learning_rate(config: InterTrainConfig, step: int) -> float:
    """Cosine decay from ``lr`` to ``lr_final`` over the run (no warm-up)."""
    return cosine_learning_rate(config.lr, config.lr_final, config.steps, step)


def train_inter(config: InterTrainConfig) -> Path:
    """Trains the P-frame codec; writes ``<out_dir>/<model>.safetensors`` and a CSV log."""
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed + 1)  # batches and qualities; the pairs use their own generator
    out_dir = Path(config.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    module = get_spec(config.model).build()
    load_base(module, path=Path(config.base_weights) if config.base_weights else None)
    if config.init_weights:
        module.inter.load_state_dict(load_model(config.model, Path(config.init_weights)).module.inter.state_dict())
    module.intra.eval().requires_grad_(False)
    started = time.perf_counter()
    refs, frames = _training_latents(config, module.intra, np.random.default_rng(config.data_seed),
                                     out_dir.parent / f"{config.model}.pairs-{_data_tag(config)}.safetensors")
    print(f"{len(refs)} training pairs ready in {time.perf_counter() - started:.0f} s", flush=True)
    inter = module.inter.train()
    params = list(inter.parameters())
    optimizer = torch.optim.Adam(params, lr=config.lr)
    levels = module.rate_levels
    pixels = config.batch_size * config.crop**2
    log = [("step", "bpp", "lr", "seconds")]
    for step in range(config.steps):
        index = torch.from_numpy(rng.integers(0, len(refs), config.batch_size))
        gain = module.intra.gain.gain(float(rng.uniform(0, levels - 1)))
        y = frames[index] * gain
        reference = refs[index] * gain
        reference = reference + torch.empty_like(reference).uniform_(-0.5, 0.5)  # decoded-latent proxy
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(config, step)
        _, likelihoods = inter(y, reference)
        bpp = rate_bpp(likelihoods, pixels)
        optimizer.zero_grad()
        bpp.backward()
        torch.nn.utils.clip_grad_norm_(params, config.clip)
        optimizer.step()
        if step % config.log_every == 0 or step == config.steps - 1:
            log.append((step, f"{bpp.item():.5f}", f"{learning_rate(config, step):.2e}",
                        f"{time.perf_counter() - started:.0f}"))
            print(f"step {step}: {bpp.item():.4f} bpp (P-frame latent and hyper-latent)", flush=True)
        if (step + 1) % config.save_every == 0 or step == config.steps - 1:
            path = _save(config, module, out_dir, step + 1, len(refs), time.perf_counter() - started, log)
            inter.train()
    return path


def _save(config: InterTrainConfig, module: torch.nn.Module, out_dir: Path, steps: int, pairs: int,
          seconds: float, log: list[tuple]) -> Path:
    """Writes the weights after ``steps`` steps (a run stopped early keeps its last save) and the log."""
    (out_dir / "train-log.csv").write_text("\n".join(",".join(map(str, row)) for row in log) + "\n")
    path = out_dir / f"{config.model}.safetensors"
    training = {**dataclasses.asdict(config), "pairs": pairs, "seconds": round(seconds), "steps_done": steps,
                "device": "cpu"}
    save_weights(config.model, module.eval(), path, training)
    return path


def _data_tag(config: InterTrainConfig) -> str:
    return f"seed{config.data_seed}" + (f"-static{config.static_fraction:g}" if config.static_fraction else "")


def _training_latents(config: InterTrainConfig, intra: torch.nn.Module, rng: np.random.Generator,
                      cache: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """The analysed pairs (crops from ``data_seed``), from ``cache`` when a run on the same data wrote it."""
    fields = ("video_dirs", "still_dirs", "crop", "max_shift", "data_seed", "static_fraction")
    key = json.dumps({k: getattr(config, k) for k in fields if k != "static_fraction" or config.static_fraction},
                     sort_keys=True)
    if cache.exists():
        with safe_open(str(cache), "pt") as f:
            if f.metadata().get("data") == key:
                return f.get_tensor("references"), f.get_tensor("frames")
    pairs = video_pairs(config.video_dirs, config.crop, rng) + still_pairs(
        config.still_dirs, config.crop, config.max_shift, rng, config.static_fraction)
    refs, frames = analyze_pairs(intra, pairs)
    save_file({"references": refs, "frames": frames}, str(cache), metadata={"data": key})
    return refs, frames
