"""The rate training optimizes (lic.train.loss.rate_bpp on the model's likelihoods) is the rate
the range coder achieves: the coded lanes of a real file are within a few percent of it."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import torch

from lic.codec.image import _to_tensor, encode_image
from lic.format.container import read_image_stream
from lic.io.imageio import read_image
from lic.models.rate import rate_bpp
from lic.models.weights import LoadedModel, load_model


@pytest.fixture(scope="module")
def shipped() -> LoadedModel:
    return load_model("elic-s")


@pytest.mark.parametrize("quality", [0.0, 3.0, 7.0])
def test_training_rate_estimate_matches_the_coded_bytes(shipped: LoadedModel, quality: float) -> None:
    pixels, _ = read_image(Path(str(resources.files("lic").joinpath("data", "astronaut.png"))))
    pixels = np.ascontiguousarray(pixels[:256, :256])
    x = _to_tensor(pixels, torch.device("cpu"))
    module = shipped.module.eval()
    with torch.no_grad():
        out = module.forward_latent(module.analyze(x, quality), quality)
        estimate = float(rate_bpp(out["likelihoods"], 256 * 256)) * 256 * 256
    _, tiles = read_image_stream(encode_image(pixels, shipped, quality).data)
    coded = 8 * sum(len(lane) for tile in tiles for lane in tile)
    # measured (elic-s, this crop): coded / estimate = 1.007 (q0), 1.014 (q3), 1.007 (q7)
    assert 0.99 * estimate <= coded <= 1.03 * estimate + 64
