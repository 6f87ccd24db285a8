"""Coding does not import CompressAI (whose package import loads torch_geometric), and the
layers and stored entropy models that replace it on the coding path match CompressAI's."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
import torch

from lic.entropy.priors import FactorizedPrior, GaussianPrior, stored_entropy_models
from lic.entropy.stored import StoredEntropyModel
from lic.models import standard_layers
from lic.models.weights import LoadedModel, load_model


def _modules_after(code: str) -> set[str]:
    script = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True)
    return set(done.stdout.split())


def test_importing_the_api_loads_neither_compressai_nor_torch_geometric() -> None:
    loaded = _modules_after("import lic.api")
    assert "torch" in loaded  # the API is torch-backed: the check below is not vacuous
    assert not {m for m in loaded if m.split(".")[0] in ("torch_geometric", "compressai")}


def test_a_coding_round_trip_does_not_import_compressai(tiny_weights: Path) -> None:
    loaded = _modules_after(
        "import numpy as np\n"
        "from lic.api import Codec\n"
        f"codec = Codec('elic-tiny', {str(tiny_weights)!r})\n"
        "assert codec.decompress(codec.compress(np.full((64, 64, 3), 90, np.uint8))).shape == (64, 64, 3)"
    )
    assert "lic.codec.image" in loaded
    assert not {m for m in loaded if m.split(".")[0] in ("torch_geometric", "compressai")}


LAYERS = [
    ("conv", lambda lib: lib.conv(8, 12, 5, 2), (1, 8, 16, 16)),
    ("deconv", lambda lib: lib.deconv(8, 12, 5, 2), (1, 8, 16, 16)),
    ("MaskedConv2d", lambda lib: lib.MaskedConv2d(8, 12, 5, padding=2, mask_type="B"), (1, 8, 16, 16)),
    ("CheckerboardMaskedConv2d", lambda lib: lib.CheckerboardMaskedConv2d(8, 12, 5, padding=2), (1, 8, 16, 16)),
    ("AttentionBlock", lambda lib: lib.AttentionBlock(16), (1, 16, 8, 8)),
]


@pytest.mark.parametrize("name,build,shape", LAYERS, ids=[layer[0] for layer in LAYERS])
def test_standard_layers_match_compressai(name: str, build: Callable[[ModuleType], torch.nn.Module],
                                          shape: tuple[int, ...]) -> None:
    import compressai.layers
    import compressai.models.utils

    compressai_lib = compressai.models.utils if name in ("conv", "deconv") else compressai.layers
    torch.manual_seed(5)
    ours = build(standard_layers)
    torch.manual_seed(5)
    theirs = build(compressai_lib)
    ours_state, theirs_state = ours.state_dict(), theirs.state_dict()
    assert list(ours_state) == list(theirs_state)
    assert all(torch.equal(ours_state[k], theirs_state[k]) for k in ours_state)  # same initialisation order
    x = torch.randn(shape)
    assert torch.equal(ours(x), theirs(x))


@pytest.mark.parametrize("make", [lambda: FactorizedPrior(24), GaussianPrior], ids=["factorized", "gaussian"])
def test_stored_entropy_models_have_compressai_layout(make: Callable[[], FactorizedPrior | GaussianPrior]) -> None:
    trained = make()
    trained.update_tables()
    with stored_entropy_models():
        stored = make()
    assert isinstance(stored.model, StoredEntropyModel)
    stored.load_state_dict(trained.state_dict(), strict=True)
    assert {k: v.shape for k, v in stored.state_dict().items()} == {k: v.shape for k, v in trained.state_dict().items()}
    assert stored.tables().cdf.tolist() == trained.tables().cdf.tolist()


def test_a_loaded_model_swaps_in_compressai_for_training_maths(tiny_weights: Path, tiny_model: LoadedModel) -> None:
    loaded = load_model("elic-tiny", tiny_weights)
    prior = loaded.module.hyper.prior
    assert isinstance(prior.model, StoredEntropyModel)
    z = torch.randn(1, prior.channels, 4, 4)
    state = torch.random.get_rng_state()
    z_hat, likelihoods = prior(z)  # the swap leaves the random stream alone
    assert torch.equal(torch.random.get_rng_state(), state)
    assert not isinstance(prior.model, StoredEntropyModel)
    reference = tiny_model.module.hyper.prior
    reference.trainable()
    reference_z, reference_likelihoods = reference(z)
    assert torch.equal(z_hat, reference_z) and torch.equal(likelihoods, reference_likelihoods)
    assert {k: torch.equal(v, reference.state_dict()[k]) for k, v in prior.state_dict().items()} == \
        dict.fromkeys(reference.state_dict(), True)
