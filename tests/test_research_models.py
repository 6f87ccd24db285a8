"""The research components (SwinV2 stages, token-mixing blocks, channel reweighting) in
registered models: they train, and code images bit-exactly through real files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import write_noise_images

from lic.codec.image import decode_image, encode_image
from lic.models.blocks import (
    ChannelReweighting,
    ContextPositionalEmbedding,
    RegionAdaptiveTransform,
    SwinV2Block,
    SwinV2Stage,
    TokenMixerBlock,
)
from lic.models.registry import get_spec
from lic.models.weights import LoadedModel, load_model, save_weights
from lic.train.config import TrainConfig
from lic.train.loop import train
from lic.train.regions import region_loss, segment_batch

VARIANTS = ["elic-tiny-swinv2", "elic-tiny-tokenmix", "elic-tiny-eca", "elic-tiny-acgc", "elic-tiny-global",
            "elic-tiny-posemb", "elic-tiny-rat"]


@pytest.mark.parametrize("shape", [(1, 16, 8, 8), (2, 16, 13, 21), (1, 16, 3, 5)])
def test_swinv2_block_keeps_shape_on_any_size(shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    x = torch.randn(shape)
    for block in (SwinV2Block(16, 4, 8, 0), SwinV2Block(16, 4, 8, 4), SwinV2Stage(16, 4, 8)):
        assert block(x).shape == x.shape
    assert TokenMixerBlock(16)(x).shape == x.shape
    assert ChannelReweighting(16)(x).shape == x.shape


def test_shifted_windows_do_not_mix_across_the_wrap_around() -> None:
    torch.manual_seed(0)
    block = SwinV2Block(8, 2, 4, 2).eval()
    x = torch.randn(1, 8, 8, 8)
    changed = x.clone()
    changed[:, :, 7, 7] += 10.0  # bottom-right corner; the roll moves it next to the top-left
    with torch.no_grad():
        diff = (block(changed) - block(x)).abs().sum(dim=1)[0]
    assert diff[0, 0] == 0 and diff[7, 7] > 0


@pytest.mark.parametrize("name", VARIANTS)
def test_variant_trains_a_step_and_round_trips_exactly(name: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    module = get_spec(name).build()
    module.initialize_gains([0.0005, 0.5])
    out = module(torch.rand(2, 3, 64, 64), 1.0)
    loss = out["x_hat"].square().mean() + sum(-torch.log2(v).sum() for v in out["likelihoods"].values())
    loss.backward()
    assert all(p.grad is not None for n, p in module.named_parameters() if not n.endswith("quantiles"))
    path = tmp_path / f"{name}.safetensors"
    save_weights(name, module, path)
    model = load_model(name, path)
    rng = np.random.default_rng(0)
    for size in [(40, 56), (67, 93)]:
        pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        encoded = encode_image(pixels, model, 0.7)
        file = tmp_path / "image.lic"
        file.write_bytes(encoded.data)
        decoded, header = decode_image(file.read_bytes(), model)
        assert header.model == name
        np.testing.assert_array_equal(decoded, encoded.reconstruction)


def test_shipped_weights_still_load_after_config_options_were_added() -> None:
    model = load_model("elic-s")
    assert isinstance(model, LoadedModel) and model.module.config.transform == "bottleneck"


def _two_region_batch(generator: torch.Generator) -> torch.Tensor:
    """Images of two flat areas (a random vertical border) with mild noise."""
    x = torch.empty(4, 3, 32, 32)
    for i in range(4):
        border = int(torch.randint(8, 24, (1,), generator=generator))
        x[i, :, :, :border] = torch.rand(3, 1, 1, generator=generator) * 0.4
        x[i, :, :, border:] = 0.6 + torch.rand(3, 1, 1, generator=generator) * 0.4
    return (x + 0.02 * torch.randn(x.shape, generator=generator)).clamp(0, 1)


def test_region_adaptive_transform_starts_as_identity_and_learns_the_masks() -> None:
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    block = RegionAdaptiveTransform(3, regions=4)
    x = _two_region_batch(generator)
    torch.testing.assert_close(block(x), x)  # zero-initialised scale affine layer
    labels = segment_batch(x)
    assert all(len(torch.unique(lab)) == 2 for lab in labels)  # Felzenszwalb finds the two areas
    optimizer = torch.optim.Adam(block.parameters(), lr=0.05)
    losses = []
    for _ in range(60):
        x = _two_region_batch(generator)
        block(x)
        loss = region_loss(block, segment_batch(x), generator)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:3])
    block.eval()
    block(x)
    assert block.assignment is None  # no masks, nothing kept, at coding time


def _region_parameters(weights: Path) -> dict[str, torch.Tensor]:
    model = load_model("elic-tiny-rat", weights).module
    return {n: p.detach().clone() for n, p in model.named_parameters() if ".assign." in n}


def test_region_adaptive_model_trains_with_masks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every step segments its own batch and adds the region loss; that loss, and the masks in
    it, change what the model learns; the trained model codes without masks, bit-exactly."""
    import lic.train.loop as loop

    images = write_noise_images(tmp_path / "images", 2, (72, 80), seed=0)
    config = TrainConfig(model="elic-tiny-rat", train_dirs=[str(images)], val_dir="", out_dir=str(tmp_path / "run"),
                         steps=2, batch_size=2, crop=64, lambdas=[0.01, 0.05], warmup=1, log_every=1, device="cpu")
    batches, region_losses = [], []

    def segment_spy(x: torch.Tensor) -> torch.Tensor:
        labels = segment_batch(x)
        batches.append((x.shape, labels))
        return labels

    def region_loss_spy(model: torch.nn.Module, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        value = region_loss(model, labels, generator)
        region_losses.append(value.item())
        return value

    monkeypatch.setattr(loop, "segment_batch", segment_spy)
    monkeypatch.setattr(loop, "region_loss", region_loss_spy)
    weights = train(config)
    assert [shape for shape, _ in batches] == [(2, 3, 64, 64)] * 2
    assert all(len(torch.unique(labels)) > 1 for _, labels in batches)  # real segments, not one label
    assert len(region_losses) == 2 and all(np.isfinite(v) and v > 0 for v in region_losses)
    trained = _region_parameters(weights)
    again = train(dataclasses.replace(config, out_dir=str(tmp_path / "again")))
    assert all(torch.equal(p, _region_parameters(again)[n]) for n, p in trained.items())  # runs are repeatable

    without_loss = train(dataclasses.replace(config, region_weight=0.0, out_dir=str(tmp_path / "no-loss")))
    monkeypatch.setattr(loop, "segment_batch", lambda x: torch.zeros(x.shape[0], *x.shape[2:], dtype=torch.int64))
    one_segment = train(dataclasses.replace(config, out_dir=str(tmp_path / "one-segment")))
    for other in (without_loss, one_segment):
        changed = _region_parameters(other)
        assert any(not torch.equal(trained[n], changed[n]) for n in trained), f"{other.parent.name} trained the same"

    model = load_model("elic-tiny-rat", weights)
    pixels = np.random.default_rng(0).integers(0, 256, (40, 48, 3), dtype=np.uint8)
    encoded = encode_image(pixels, model, 0.5)
    np.testing.assert_array_equal(decode_image(encoded.data, model)[0], encoded.reconstruction)


def test_context_positional_embedding_starts_as_identity_and_codes_exactly(tmp_path: Path) -> None:
    torch.manual_seed(0)
    block = ContextPositionalEmbedding(6, frequencies=3)
    hyper = torch.randn(1, 6, 5, 7)
    torch.testing.assert_close(block(hyper), hyper)  # zero-initialised projection
    waves = block.sinusoids(5, 7, torch.device("cpu"))
    assert waves.shape == (1, 12, 5, 7)
    torch.testing.assert_close(waves[0, 0, 2], torch.zeros(7), atol=1e-6, rtol=0)  # period 2: sin(pi * row) = 0
    module = get_spec("elic-tiny-posemb").build()
    module.initialize_gains([0.0005, 0.5])
    with torch.no_grad():  # a trained-looking embedding, so coding depends on it
        module.context.position.project.weight.normal_(0, 0.5)
    assert not module.context.fixed_point
    path = tmp_path / "posemb.safetensors"
    save_weights("elic-tiny-posemb", module, path)
    model = load_model("elic-tiny-posemb", path)
    pixels = np.random.default_rng(1).integers(0, 256, (70, 90, 3), dtype=np.uint8)
    encoded = encode_image(pixels, model, 0.7)
    np.testing.assert_array_equal(decode_image(encoded.data, model)[0], encoded.reconstruction)
