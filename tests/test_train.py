"""lic train: a tiny run, resumed, produces loadable weights that record their training."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import write_noise_images

from lic.codec.image import decode_image, encode_image
from lic.models.weights import load_model
from lic.train.config import TrainConfig
from lic.train.loop import learning_rate, train


def test_train_resume_and_code(tmp_path: Path) -> None:
    images = write_noise_images(tmp_path / "images", 3, (80, 96), seed=0)
    rng = np.random.default_rng(3)
    config = TrainConfig(model="elic-tiny", train_dirs=[str(images)], val_dir=str(images),
                         out_dir=str(tmp_path / "run"),
                         steps=3, batch_size=2, crop=64, lambdas=[0.01, 0.05], warmup=1, checkpoint_every=1,
                         validate_every=3, log_every=1, val_images=1, device="cpu")
    train(config)
    config.steps = 5
    final = train(config)  # resumes from step 3
    with open(tmp_path / "run" / "log.csv") as f:
        steps = [int(row["step"]) for row in csv.DictReader(f)]
    assert steps == [1, 2, 3, 4, 5]
    model = load_model("elic-tiny", final)
    assert json.loads(model.metadata["lic.training"])["steps"] == 5
    pixels = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    encoded = encode_image(pixels, model, 0.5)
    np.testing.assert_array_equal(decode_image(encoded.data, model)[0], encoded.reconstruction)


def test_cpu_seconds_budget_stops_and_survives_resume(tmp_path: Path) -> None:
    images = write_noise_images(tmp_path / "images", 2, (64, 64), seed=1)
    config = TrainConfig(model="elic-tiny", train_dirs=[str(images)], val_dir="", out_dir=str(tmp_path / "run"),
                         steps=10_000, batch_size=1, crop=64, lambdas=[0.01, 0.05], warmup=1,
                         checkpoint_every=1000, log_every=1, device="cpu", max_cpu_seconds=0.5)
    final = train(config)
    with open(tmp_path / "run" / "log.csv") as f:
        rows = list(csv.DictReader(f))
    cpu = [float(row["cpu_s"]) for row in rows]
    assert 1 <= len(rows) < 10_000 and cpu[-1] >= 0.5 and all(c <= 0.505 for c in cpu[:-1])  # logged to 0.01 s
    assert all(float(row["grad_norm"]) > 0 for row in rows)
    training = json.loads(load_model("elic-tiny", final).metadata["lic.training"])
    assert training["steps"] == len(rows) and training["cpu_seconds"] >= 0.5
    train(config)  # the checkpoint's CPU seconds count: the budget is already spent
    with open(tmp_path / "run" / "log.csv") as f:
        assert len(list(csv.DictReader(f))) == len(rows)
    config.max_cpu_seconds = round(cpu[-1] + 0.3, 2)  # a larger budget (0.01 s, as logged) continues
    train(config)
    with open(tmp_path / "run" / "log.csv") as f:
        more = list(csv.DictReader(f))
    assert len(more) > len(rows) and int(more[len(rows)]["step"]) == len(rows) + 1
    assert float(more[-1]["cpu_s"]) >= config.max_cpu_seconds


def test_config_from_toml_rejects_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('model = "elic-tiny"\nsteps = 7\n')
    assert TrainConfig.from_toml(path).steps == 7
    path.write_text("stepz = 7\n")
    try:
        TrainConfig.from_toml(path)
    except ValueError as exc:
        assert "stepz" in str(exc)
    else:
        raise AssertionError("unknown key accepted")


def test_learning_rate_schedule() -> None:
    config = TrainConfig(steps=100, lr=1e-3, lr_final=1e-5, warmup=10)
    assert learning_rate(config, 0) == 1e-4
    assert learning_rate(config, 10) == 1e-3
    assert abs(learning_rate(config, 100) - 1e-5) < 1e-12


def test_ms_ssim_training_needs_big_crops_and_runs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="crop >= 161"):
        TrainConfig(distortion="ms-ssim", crop=128)
    images = write_noise_images(tmp_path / "images", 2, (192, 200))
    config = TrainConfig(model="elic-tiny", train_dirs=[str(images)], val_dir="", out_dir=str(tmp_path / "run"),
                         steps=2, batch_size=1, crop=192, distortion="ms-ssim", lambdas=[2.4, 60.5], warmup=1,
                         log_every=1, device="cpu")
    final = train(config)
    with open(tmp_path / "run" / "log.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [1, 2]
    assert all(0 < float(r["distortion"]) < 1 for r in rows)  # 1 - MS-SSIM
    assert json.loads(load_model("elic-tiny", final).metadata["lic.training"])["config"]["distortion"] == "ms-ssim"


def test_train_under_torchrun_with_two_processes(tmp_path: Path) -> None:
    images = write_noise_images(tmp_path / "images", 2, (64, 64))
    config = tmp_path / "tiny.toml"
    config.write_text(f'model = "elic-tiny"\ntrain_dirs = ["{images}"]\nval_dir = ""\nout_dir = "{tmp_path / "run"}"\n'
                      'steps = 2\nbatch_size = 1\ncrop = 64\nlambdas = [0.01, 0.05]\nwarmup = 1\nlog_every = 1\n'
                      'device = "cpu"\nthreads = 1\n')
    torchrun = Path(sys.executable).parent / "torchrun"
    result = subprocess.run([str(torchrun), "--standalone", "--nproc-per-node=2", "-m", "lic", "train",
                             "--config", str(config)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "2 x cpu" in result.stdout
    model = load_model("elic-tiny", tmp_path / "run" / "elic-tiny.safetensors")
    assert json.loads(model.metadata["lic.training"])["device"].startswith("2 x ")


def test_checkpoint_weights_equal_the_final_weights(tmp_path: Path) -> None:
    """benchmarks/checkpoint_weights.py: a run's last checkpoint gives the tensors of its final file."""
    images = write_noise_images(tmp_path / "images", 2, (64, 64), seed=2)
    config_path = tmp_path / "run.toml"
    config_path.write_text(f'model = "elic-tiny"\ntrain_dirs = ["{images}"]\nval_dir = ""\n'
                           f'out_dir = "{tmp_path / "run"}"\nsteps = 2\nbatch_size = 1\ncrop = 64\n'
                           'lambdas = [0.01, 0.05]\nwarmup = 1\ncheckpoint_every = 1\ndevice = "cpu"\n')
    final = train(TrainConfig.from_toml(config_path))
    out = tmp_path / "from-checkpoint.safetensors"
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "checkpoint_weights.py"
    subprocess.run([sys.executable, str(script), str(tmp_path / "run" / "checkpoint.safetensors"),
                    "--config", str(config_path), "-o", str(out)], check=True, capture_output=True)
    converted, shipped = load_model("elic-tiny", out), load_model("elic-tiny", final)
    assert json.loads(converted.metadata["lic.training"])["steps"] == 2
    ours, theirs = converted.module.state_dict(), shipped.module.state_dict()
    assert ours.keys() == theirs.keys()
    for name, tensor in ours.items():
        assert torch.equal(tensor, theirs[name]), name
