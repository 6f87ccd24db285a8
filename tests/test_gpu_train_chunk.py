"""``benchmarks/gpu_train_chunk.py`` sizes a run to its seconds and sends back weights that load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from lic.models.weights import load_model
from lic.train.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from gpu_train_chunk import chunk_steps, export, weights_from_checkpoint  # noqa: E402


def test_chunk_steps_fill_the_seconds_with_a_margin() -> None:
    assert chunk_steps(10.0, 400, 0.85, 200) == 3400
    assert chunk_steps(0.5, 10, 0.85, 200) == 400  # never shorter than twice the warm-up


def test_export_splits_large_files_into_parts_that_join(tmp_path: Path) -> None:
    data = np.random.default_rng(0).integers(0, 256, 40 * 2**20, dtype=np.uint8).tobytes()
    (tmp_path / "big.bin").write_bytes(data)
    (tmp_path / "small.csv").write_text("a,b\n")
    export([tmp_path / "big.bin", tmp_path / "small.csv"], tmp_path / "out")
    parts = sorted((tmp_path / "out").glob("big.bin.part*"))
    assert len(parts) == 3 and all(p.stat().st_size <= 16 * 2**20 for p in parts)
    assert b"".join(p.read_bytes() for p in parts) == data
    assert (tmp_path / "out" / "small.csv").read_text() == "a,b\n"


def test_a_tiny_cpu_chunk_exports_loadable_weights(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)).save(photos / f"{i}.png")
    config = tmp_path / "run.toml"
    config.write_text(f'model = "elic-s"\ntrain_dirs = ["{photos}"]\nval_dir = ""\nout_dir = "{tmp_path / "run"}"\n'
                      'batch_size = 1\ncrop = 64\nwarmup = 1\ndevice = "cpu"\nprogress = false\nthreads = 1\n')
    command = [sys.executable, str(ROOT / "benchmarks" / "gpu_train_chunk.py"), "--config", str(config),
               "--seconds", "2", "--rate", "1.5", "--export", str(tmp_path / "out")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    out = tmp_path / "out"
    assert json.loads((out / "run.json").read_text())["steps"] == 2
    joined = tmp_path / "elic-s.safetensors"
    joined.write_bytes(b"".join(p.read_bytes() for p in sorted(out.glob("elic-s.safetensors.part*"))))
    record = json.loads(load_model("elic-s", path=joined).metadata["lic.training"])
    assert record["config"]["steps"] == 2 and record["config"]["batch_size"] == 1
    assert (out / "log.csv").is_file()
    # What a chunk cut short sends back: the checkpoint's model as a weights file that loads.
    partial = weights_from_checkpoint(TrainConfig.from_toml(config), tmp_path / "run")
    assert partial.name == "elic-s.step-2.safetensors"
    assert json.loads(load_model("elic-s", path=partial).metadata["lic.training"])["steps"] == 2

