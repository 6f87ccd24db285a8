"""A weights file from a `lic train` checkpoint, to evaluate a run that is still going.

    python benchmarks/checkpoint_weights.py runs/elic-s-run7/checkpoint.safetensors \
        --config lic/models/pretrained/elic-s.run7.toml -o runs/run7-step5100.safetensors
    lic eval ../shared/datasets/kodak --weights runs/run7-step5100.safetensors -o run7-kodak.json

A checkpoint holds the model's state and the run's step and CPU seconds, not a weights file's
metadata; this writes both (tables rebuilt, the run's record in ``lic.training`` with the
step it reached), like the file `lic train` writes at the end of a run. Copy the checkpoint
first if the run is still going: it is rewritten every ``checkpoint_every`` steps.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from safetensors.torch import load_file

from lic.models.registry import get_spec
from lic.models.weights import save_weights
from lic.train.config import TrainConfig
from lic.train.loop import checkpoint_progress, training_record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path, help="a lic train checkpoint.safetensors")
    parser.add_argument("--config", type=Path, required=True, help="the run's TOML configuration")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()

    config = TrainConfig.from_toml(args.config)
    model = get_spec(config.model).build()
    model.load_state_dict(load_file(str(args.checkpoint)))
    step, wall, cpu = checkpoint_progress(args.checkpoint)
    training = {**training_record(config, step, wall, cpu, device=None), "checkpoint": True}  # device not recorded
    digest = save_weights(config.model, model.eval(), args.output, training)
    print(f"wrote {args.output} (step {training['steps']}, {training['cpu_seconds']:.0f} CPU s, "
          f"digest {digest.hex()[:16]})")


if __name__ == "__main__":
    main()
