"""The registry of trainers: which configuration and training function serve a model architecture.

Adding an architecture that trains ahead of time is one :func:`register_trainer` call here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lic.errors import LicError
from lic.models.registry import get_spec
from lic.train.config import TrainConfig
from lic.train.inter import InterTrainConfig, train_inter
from lic.train.loop import train


@dataclass(frozen=True)
class Trainer:
    """How models of one architecture are trained.

    Attributes:
        config: the configuration dataclass a TOML file is read into.
        run: trains (or resumes) a run of that configuration; returns the final weights.
        reports_path: whether the command line prints the weights path (``run`` does not log it).
    """

    config: type
    run: Callable[[Any], Path]
    reports_path: bool = False


_TRAINERS: dict[str, Trainer] = {}
_FITTED_PER_INPUT = {"inr": "its networks are fitted to each clip by lic encode --mode inr"}


def register_trainer(architecture: str, trainer: Trainer) -> None:
    """Trains models of ``architecture`` with ``trainer``."""
    if architecture in _TRAINERS:
        raise ValueError(f"architecture {architecture!r} already has a trainer")
    _TRAINERS[architecture] = trainer


def trainer_for(model: str) -> Trainer:
    """The trainer of a registered model (the image trainer for architectures without their own)."""
    architecture = get_spec(model).architecture
    if architecture in _FITTED_PER_INPUT:
        raise LicError(f"{model} has nothing to train ahead of time: {_FITTED_PER_INPUT[architecture]}")
    return _TRAINERS.get(architecture, _TRAINERS["elic"])


register_trainer("elic", Trainer(TrainConfig, train))
register_trainer("elic-video", Trainer(InterTrainConfig, train_inter, reports_path=True))
