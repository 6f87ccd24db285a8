"""lic train: a tiny run, resumed, produces loadable weights that record their training."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from PIL import Image

from lic.codec.image import decode_image, encode_image
from lic.models.weights import load_model
from lic.train.config import TrainConfig
from lic.train.loop import learning_rate, train


def test_train_resume_and_code(tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (80, 96, 3), dtype=np.uint8)).save(images / f"{i}.png")
    config = TrainConfig(model="elic-tiny", train_dirs=[str(images)], val_dir=str(images), out_dir=str(tmp_path / "run"),
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
