"""``lic train``: train a model from a TOML configuration."""

from __future__ import annotations

import argparse
from pathlib import Path

from lic.errors import LicError


def run(args: argparse.Namespace) -> int:
    """``lic train``: runs (or resumes) the training run of a TOML configuration."""
    import tomllib

    from lic.train.config import TrainConfig, config_from_values, read_toml
    from lic.train.trainers import trainer_for

    try:
        values = read_toml(Path(args.config))
        model = values.get("model", TrainConfig.model)
        trainer = trainer_for(model)
        config = config_from_values(trainer.config, values, Path(args.config))
    except FileNotFoundError:
        raise LicError(f"{args.config}: no such file") from None
    except (ValueError, TypeError, tomllib.TOMLDecodeError) as exc:
        raise LicError(f"{args.config}: {exc}") from None
    overrides = {k: v for k, v in (("steps", args.steps), ("out_dir", args.out_dir), ("device", args.device),
                                   ("max_cpu_seconds", args.max_cpu_seconds)) if v}
    for key, value in overrides.items():
        if not hasattr(config, key):
            raise LicError(f"--{key.replace('_', '-')} does not apply to {model} training")
        setattr(config, key, value)
    weights = trainer.run(config)
    if trainer.reports_path:
        print(f"weights written to {weights}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Adds the command to the ``lic`` parser."""
    p = sub.add_parser("train", help="train a model from a TOML configuration")
    p.add_argument("--config", required=True, help="training configuration (TOML)")
    p.add_argument("--steps", type=int, help="override the total number of steps")
    p.add_argument("--out-dir", help="override the output folder")
    p.add_argument("--device", choices=["cpu", "cuda", "auto"], help="override the device")
    p.add_argument("--max-cpu-seconds", type=float, help="override the CPU-seconds budget of the training steps")
    p.set_defaults(func=run)
