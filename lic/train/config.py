"""Training configuration (a dataclass, read from TOML)."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

# MSE rate-distortion trade-offs of CompressAI's quality levels 1..8 (loss = lambda * 255^2 * MSE + bpp).
COMPRESSAI_MSE_LAMBDAS = (0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483, 0.0932, 0.1800)


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
        lambdas: one rate-distortion trade-off per quality level of the model.
        clip: gradient-norm clipping.
        checkpoint_every / validate_every / log_every: periods in steps.
        val_images: number of validation images used.
        threads: torch CPU threads (0: torch's default).
        seed: random seed.
        device: "cpu", "cuda" or "auto".
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
    lambdas: list[float] = field(default_factory=lambda: list(COMPRESSAI_MSE_LAMBDAS))
    clip: float = 1.0
    checkpoint_every: int = 100
    validate_every: int = 500
    log_every: int = 10
    val_images: int = 8
    threads: int = 0
    seed: int = 0
    device: str = "auto"

    @classmethod
    def from_toml(cls, path: Path) -> "TrainConfig":
        """Reads a config; unknown keys are an error."""
        with open(path, "rb") as f:
            values = tomllib.load(f)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown training options in {path}: {', '.join(unknown)}")
        return cls(**values)

    def to_dict(self) -> dict:
        """Plain dict (stored as JSON in the weights' metadata)."""
        return dataclasses.asdict(self)
