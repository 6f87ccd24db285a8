"""Every registered model meets the contracts (lic/models/protocols.py) the code drives it through."""

from __future__ import annotations

import pytest

from lic.models.protocols import CodingModel, ConditionalCodec, ImageModel, TrainableModel, VideoModel
from lic.models.registry import get_spec, model_names


@pytest.mark.parametrize("name", model_names())
def test_registered_model_meets_its_contracts(name: str) -> None:
    spec = get_spec(name)
    module = spec.build()
    assert isinstance(module, CodingModel)
    expected = {"elic": (ImageModel, TrainableModel), "elic-video": (VideoModel,), "inr": (), "overfit": ()}
    for contract in expected[spec.architecture]:
        assert isinstance(module, contract), f"{name} is not a {contract.__name__}"
    if spec.architecture == "elic-video":
        assert isinstance(module.intra, ImageModel) and isinstance(module.inter, ConditionalCodec)


def test_a_model_missing_a_member_is_refused() -> None:
    module = get_spec("elic-tiny").build()

    class NoSynthesis:
        rate_levels = module.rate_levels
        fixed_point = module.fixed_point
        downsampling = module.downsampling
        latent_stride = module.latent_stride
        update_tables = module.update_tables
        state_dict = module.state_dict
        parameters = module.parameters
        analyze = module.analyze
        forward_latent = module.forward_latent
        encode_latent = module.encode_latent
        decode = module.decode

    assert isinstance(NoSynthesis(), CodingModel)
    assert not isinstance(NoSynthesis(), ImageModel)
