"""Training configuration (a dataclass, read from TOML)."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from lic.models.rate import COMPRESSAI_MS_SSIM_LAMBDAS, COMPRESSAI_MSE_LAMBDAS

# MS-SSIM's five scales with an 11-pixel window need crops of more than 160 pixels.
MS_SSIM_MIN_CROP = 161


def read_toml(path: Path) -> dict:
    """The options of a training configuration file."""
    with open(path, "rb") as f:
        return tomllib.load(f)


def config_from_values(cls: type, values: dict, source: Path):  # noqa: ANN201
    """``cls(**values)`` for a configuration dataclass; unknown keys are an error naming ``source``."""
    unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
        raise ValueError(f"unknown training options in {source}: {', '.join(unknown)}")
    return cls(**values)


@dataclass
class TrainConfig:
    """Everything a training run depends on; stored in the weights it produces.

    Attributes:
        model: registered model name.
        train_dirs: folders of training images (never Kodak or the validation set).
        val_dir: folder of validation images ("" to skip validation).
        out_dir: where checkpoints, logs and final weights go.
        steps: total optimizer steps of the run (the schedule spans them).
        batch_size / crop: random crops per step and their side in pixels.
        lr / lr_final / warmup: Adam learning rate, cosine-decayed to ``lr_final`` after ``warmup`` steps.
        distortion: "mse" or "ms-ssim" (the loss's distortion term).
        lambdas: one rate-distortion trade-off per quality level of the model; empty
            means CompressAI's published lambdas for ``distortion``.
        clip: gradient-norm clipping.
        checkpoint_every / validate_every / log_every: periods in steps.
        val_images: number of validation images used.
        threads: torch CPU threads (0: torch's default).
        seed: random seed.
        device: "cpu", "cuda" or "auto" (under torchrun: one GPU per process).
        amp: "bf16" runs the transforms in bfloat16 autocast on CUDA (entropy models
            and the loss stay float32); "off" trains in float32. Ignored on CPU.
        channels_last: NHWC memory layout on CUDA (faster convolutions with bf16).
        progress: show a progress bar when stderr is a terminal.
        init_weights: weights file to start from when there is no checkpoint in ``out_dir``
            (continues an earlier run with a fresh optimizer); "" starts from scratch.
        region_weight: weight of the segmentation-mask loss of models with region-adaptive
            transforms (:mod:`lic.train.regions`); ignored by other models.
        max_cpu_seconds: stop (and write the final weights) once the training steps have
            used this much CPU time of the process, summed over resumed runs; 0 means no
            limit. CPU time, unlike wall time, compares runs on a shared machine; the
            learning-rate schedule still spans ``steps``.
    """

    model: str = "elic-s"
    train_dirs: list[str] = field(default_factory=lambda: ["../shared/datasets/train"])
    val_dir: str = "../shared/datasets/val"
    out_dir: str = "runs/elic-s"
    steps: int = 2000
    batch_size: int = 8
    crop: int = 128
    lr: float = 1e-4
    lr_final: float = 1e-5
    warmup: int = 50
    distortion: str = "mse"
    lambdas: list[float] = field(default_factory=list)
    clip: float = 1.0
    checkpoint_every: int = 100
    validate_every: int = 500
    log_every: int = 10
    val_images: int = 8
    threads: int = 0
    seed: int = 0
    device: str = "auto"
    init_weights: str = ""
    amp: str = "bf16"
    channels_last: bool = True
    progress: bool = True
    region_weight: float = 0.1
    max_cpu_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.distortion not in ("mse", "ms-ssim"):
            raise ValueError(f"distortion must be mse or ms-ssim, not {self.distortion!r}")
        if self.distortion == "ms-ssim" and self.crop < MS_SSIM_MIN_CROP:
            raise ValueError(f"ms-ssim training needs crop >= {MS_SSIM_MIN_CROP} (MS-SSIM's five scales)")
        if self.amp not in ("bf16", "off"):
            raise ValueError(f"amp must be bf16 or off, not {self.amp!r}")
        if self.steps < 1 or self.batch_size < 1 or self.crop < 64 or self.crop % 64:
            raise ValueError("steps and batch_size must be positive and crop a positive multiple of 64")
        if self.max_cpu_seconds < 0:
            raise ValueError("max_cpu_seconds must be 0 (no limit) or positive")

    @property
    def rd_lambdas(self) -> list[float]:
        """The trade-off of each quality level."""
        if self.lambdas:
            return list(self.lambdas)
        return list(COMPRESSAI_MSE_LAMBDAS if self.distortion == "mse" else COMPRESSAI_MS_SSIM_LAMBDAS)

    @classmethod
    def from_toml(cls, path: Path) -> TrainConfig:
        """Reads a config; unknown keys are an error."""
        return config_from_values(cls, read_toml(path), path)

    def to_dict(self) -> dict:
        """Plain dict (stored as JSON in the weights' metadata)."""
        return dataclasses.asdict(self)
