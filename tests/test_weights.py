"""Weights files: safetensors only, digests, tables derived deterministically, the shipped default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from lic.errors import LicError, ModelMismatchError
from lic.models import DEFAULT_MODEL
from lic.models.registry import get_spec
from lic.models.weights import load_model, save_weights, shipped_weights_path, weights_digest

TABLE_KEYS = ("_quantized_cdf", "_cdf_length", "_offset")


def _tables(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items() if k.rsplit(".", 1)[-1] in TABLE_KEYS}


def test_tables_are_derived_deterministically(tiny_weights: Path) -> None:
    model = load_model("elic-tiny", tiny_weights)
    stored = _tables(model.module)
    assert stored, "weights carry their CDF tables"
    model.module.update_tables()
    recomputed = _tables(model.module)
    assert stored.keys() == recomputed.keys()
    for key in stored:
        assert torch.equal(stored[key], recomputed[key]), key


def test_digest_is_canonical(tmp_path: Path, tiny_weights: Path) -> None:
    """Same content, same digest, whatever order safetensors writes its header in; any change shows."""
    model = load_model("elic-tiny", tiny_weights)
    tensors = load_file(str(tiny_weights))
    assert model.digest == weights_digest(tensors, model.metadata)
    for i in range(3):
        copy = tmp_path / f"copy{i}.safetensors"
        save_file(dict(reversed(list(tensors.items()))), str(copy),
                  metadata=dict(reversed(list(model.metadata.items()))))
        assert load_model("elic-tiny", copy).digest == model.digest
    key = next(k for k in tensors if k.endswith("weight"))
    tensors[key] = tensors[key].clone()
    tensors[key].view(-1)[0] += 1e-6
    save_file(tensors, str(tmp_path / "changed.safetensors"), metadata=model.metadata)
    assert load_model("elic-tiny", tmp_path / "changed.safetensors").digest != model.digest


def test_wrong_or_broken_weights(tmp_path: Path, tiny_weights: Path) -> None:
    with pytest.raises(ModelMismatchError, match="for model 'elic-tiny'"):
        load_model("elic-s", tiny_weights)
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(tiny_weights.read_bytes()[:100])
    with pytest.raises(LicError, match="not valid safetensors"):
        load_model("elic-tiny", broken)
    with pytest.raises(LicError, match="cannot read weights"):
        load_model("elic-tiny", tmp_path / "missing.safetensors")


def test_same_weights_same_digest(tmp_path: Path) -> None:
    torch.manual_seed(3)
    module = get_spec("elic-tiny").build()
    assert save_weights("elic-tiny", module, tmp_path / "a.safetensors") == save_weights(
        "elic-tiny", module, tmp_path / "b.safetensors"
    )


def test_shipped_default_weights() -> None:
    path = shipped_weights_path(DEFAULT_MODEL)
    assert path.exists(), "the package ships the default model's weights"
    model = load_model(DEFAULT_MODEL)
    training = json.loads(model.metadata["lic.training"])
    assert training["steps"] > 0 and training["config"]["model"] == DEFAULT_MODEL
    assert not any("kodak" in d or d.rstrip("/").endswith("/val") for d in training["config"]["train_dirs"])
    stored = _tables(model.module)
    model.module.update_tables()
    assert all(torch.equal(stored[k], v) for k, v in _tables(model.module).items())


def test_weights_of_a_nested_configuration_load_after_options_were_added() -> None:
    """A video model's configuration nests the image model's: options added to the inner one
    later (at their defaults) still match, a changed option does not."""
    from dataclasses import asdict, replace

    from lic.models.weights import _same_config

    config = get_spec("elic-s-video").config
    stored = json.loads(json.dumps(asdict(config)))
    inner = next(key for key, value in stored.items() if isinstance(value, dict) and "region_adaptive" in value)
    older = {**stored, inner: {k: v for k, v in stored[inner].items() if k not in ("region_adaptive", "regions")}}
    assert _same_config(older, config)
    changed = replace(config, **{inner: replace(getattr(config, inner), region_adaptive=True)})
    assert not _same_config(older, changed)
    assert not _same_config({**stored, "unknown_option": 1}, config)
    assert load_model("elic-s-video").name == "elic-s-video"
