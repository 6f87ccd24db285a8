"""The ELIC-style model (lic/models/elic.py): grid sizes of its stages, its configuration
checks, its rate control, and coding a latent through its own entropy model."""

from __future__ import annotations

import pytest
import torch

from lic.entropy.range_coder import RangeDecoder, RangeEncoder
from lic.models.elic import ElicConfig, ElicModel
from lic.models.registry import get_spec


@pytest.fixture(scope="module")
def model() -> ElicModel:
    torch.manual_seed(0)
    module = get_spec("elic-tiny").build().eval()
    module.initialize_gains([0.0005, 0.5])
    module.update_tables()
    return module


@pytest.mark.parametrize(("height", "width"), [(64, 64), (128, 192), (256, 64)])
def test_stages_downsample_by_the_declared_strides(model: ElicModel, height: int, width: int) -> None:
    x = torch.rand(1, 3, height, width)
    with torch.no_grad():
        y = model.analyze(x, 0.5)
        z = model.hyper.h_a(y)
        out = model(x, 0.5)
    stride = model.latent_stride
    assert y.shape == (1, model.config.M, height // stride, width // stride)
    assert z.shape == (1, model.config.Z, height // model.downsampling, width // model.downsampling)
    assert out["x_hat"].shape == x.shape
    assert out["likelihoods"]["y"].shape == y.shape and out["likelihoods"]["z"].shape == z.shape
    assert model.synthesize(torch.round(y), 0.5).shape == x.shape


def test_config_rejects_slices_that_do_not_fill_the_latent() -> None:
    with pytest.raises(ValueError, match="must sum to M"):
        ElicConfig(M=32, groups=(8, 8, 8))
    with pytest.raises(ValueError, match="transform must be one of"):
        ElicConfig(transform="dense")


def test_gains_spread_the_quality_levels_and_interpolate(model: ElicModel) -> None:
    low, high = model.gain.gain(0.0), model.gain.gain(1.0)
    assert (high > low).all()  # the larger lambda gets the finer quantization (larger gain)
    torch.testing.assert_close(high / low, torch.full_like(low, (0.5 / 0.0005) ** 0.5))
    for quality in (0.0, 0.3, 1.0):
        torch.testing.assert_close(model.gain.gain(quality) * model.inverse_gain.gain(quality),
                                   torch.ones_like(low))
    middle = model.gain.gain(0.5)
    assert (middle > low).all() and (middle < high).all()
    with torch.no_grad():
        rates = [sum(-torch.log2(v).sum() for v in model(torch.rand(1, 3, 64, 64, generator=torch.Generator()
                                                                    .manual_seed(1)), q)["likelihoods"].values())
                 for q in (0.0, 1.0)]
    assert rates[1] > rates[0]  # a higher quality costs more bits


def test_a_latent_decodes_to_what_the_encoder_coded(model: ElicModel) -> None:
    torch.manual_seed(1)
    x = torch.rand(1, 3, 128, 64)
    with torch.no_grad():
        encoder = RangeEncoder(2)
        y_hat = model.encode(x, 1.0, encoder)
        decoded = model.decode(RangeDecoder(encoder.finish()), 1.0, (2, 1), torch.device("cpu"))
        y = model.analyze(x, 1.0)
    assert torch.equal(decoded, y_hat)
    assert (y_hat - y).abs().max() <= 0.5 + 1e-4  # quantization moves every value by at most half a step
