"""One training chunk on a lent GPU, sized to the seconds it has, with the weights sent back.

    python benchmarks/gpu_train_chunk.py --config benchmarks/gpu_run9.toml \
        --seconds 420 --rate-from /tmp/gpu-check.json --export $OUT

The learning-rate schedule spans ``steps``, so a chunk that stops early ends at a high rate. This
script sets ``steps`` to what the GPU does in ``--seconds`` (steps per second from
``benchmarks/gpu_check.py``'s training section, or ``--rate``, times ``--safety``) before it trains,
so the cosine decay ends inside the chunk. Afterwards the final weights go to ``--export`` in parts
under the device tool's 16 MiB a file (join them with ``cat PART.* > FILE``), with the run's
``log.csv`` and the config it ran. If the run did not end (a timeout sent SIGINT, or it failed),
the last checkpoint's model goes instead, as a weights file recording the step it reached.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import time
from pathlib import Path

from safetensors.torch import load_file

from lic.models.registry import get_spec
from lic.models.weights import save_weights
from lic.train.config import TrainConfig
from lic.train.loop import CHECKPOINT, checkpoint_progress, train, training_record

PART_BYTES = 15 * 2**20


def chunk_steps(rate: float, seconds: float, safety: float, warmup: int) -> int:
    """Steps that fit in ``seconds`` at ``rate`` steps/s, with a margin, never below twice the warm-up."""
    return max(2 * warmup, int(rate * seconds * safety))


def export(files: list[Path], folder: Path) -> None:
    """Copies ``files`` into ``folder``, splitting any larger than PART_BYTES into ``NAME.partN``."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in files:
        data = path.read_bytes()
        if len(data) <= PART_BYTES:
            shutil.copy2(path, folder / path.name)
            continue
        for index, start in enumerate(range(0, len(data), PART_BYTES)):
            (folder / f"{path.name}.part{index}").write_bytes(data[start:start + PART_BYTES])


def weights_from_checkpoint(config: TrainConfig, out_dir: Path) -> Path:
    """The last checkpoint's model as a weights file (``NAME.step-N.safetensors``) with its training record."""
    checkpoint = out_dir / CHECKPOINT
    step, wall, cpu = checkpoint_progress(checkpoint)
    model = get_spec(config.model).build()
    model.load_state_dict(load_file(str(checkpoint)))
    path = out_dir / f"{config.model}.step-{step}.safetensors"
    save_weights(config.model, model.eval(), path, training_record(config, step, wall, cpu, None))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--seconds", type=float, required=True, help="wall seconds the training may take")
    parser.add_argument("--rate-from", type=Path, help="gpu_check.py's JSON (training.steps_per_second)")
    parser.add_argument("--rate", type=float, default=8.0, help="steps/s when --rate-from has none")
    parser.add_argument("--safety", type=float, default=0.85)
    parser.add_argument("--export", type=Path, required=True)
    args = parser.parse_args()
    config = TrainConfig.from_toml(args.config)
    measured = None
    if args.rate_from and args.rate_from.is_file():
        measured = json.loads(args.rate_from.read_text()).get("training", {}).get("steps_per_second")
    rate = measured or args.rate
    steps = chunk_steps(rate, args.seconds, args.safety, config.warmup)
    config = dataclasses.replace(config, steps=steps)
    print(f"gpu_train_chunk: {rate:.2f} steps/s ({'measured' if measured else '--rate'}), "
          f"{steps} steps planned in {args.seconds:.0f} s", flush=True)
    began = time.perf_counter()
    out_dir = Path(config.out_dir)
    try:
        weights = train(config)
    except BaseException as exc:  # noqa: BLE001 - a timeout (SIGINT) or a failure still sends the checkpoint back
        print(f"gpu_train_chunk: training stopped early ({type(exc).__name__}: {exc})", flush=True)
        weights = weights_from_checkpoint(config, out_dir) if (out_dir / CHECKPOINT).is_file() else None
    print(f"gpu_train_chunk: trained for {time.perf_counter() - began:.0f} s", flush=True)
    args.export.mkdir(parents=True, exist_ok=True)
    (args.export / "run.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
    export([path for path in (weights, out_dir / "log.csv") if path is not None and path.is_file()], args.export)


if __name__ == "__main__":
    main()
