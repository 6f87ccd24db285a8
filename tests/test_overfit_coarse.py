"""Hyperlatents and coarse-grid features of the overfit mode (bitstream-spec.md section 6): the C++ ARM against
the fixed-point reference, exact round trips, the half-resolution phase's mapping, hostile headers."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from test_overfit import _image, decoded_with_one_and_two_threads

from lic.codec.image import decode_image
from lic.codec.overfit import encode_overfit, read_shape
from lic.codec.overfit_fit import FitConfig, FittedImage, _half_resolution_shape, _refine_from
from lic.entropy import _rans
from lic.errors import CorruptStreamError
from lic.format.container import read_image_stream, write_image_stream
from lic.models.overfit import CONTEXT, ExactNetwork, OverfitNetwork, OverfitShape, macs_per_pixel, parameter_count
from lic.models.row_mlp import context_rows
from lic.models.weights import LoadedModel

SHAPE = OverfitShape(grids=4, arm_width=8, arm_layers=2, synthesis_width=8, hyper_grids=2, coarse_features=3,
                     coarse_feature_grids=2)


@pytest.fixture(scope="module")
def encoded(overfit_model: LoadedModel) -> tuple[np.ndarray, object]:
    """A 35x21 image fitted with :data:`SHAPE` and coded."""
    return _image(21, 35), encode_overfit(_image(21, 35), overfit_model, 4.0, FitConfig(steps=40, shape=SHAPE))


def test_grids_are_coded_coarse_to_fine_with_features_from_coarser_grids() -> None:
    assert SHAPE.levels() == [0, 1, 2, 3, 2, 3]  # four latent grids, then hyperlatents at the two coarsest levels
    assert SHAPE.coding_order() == [5, 4, 3, 2, 1, 0]
    assert SHAPE.feature_sources(0) == [1, 2, 3, 4, 5] and SHAPE.feature_sources(1) == [2, 3, 4, 5]
    assert OverfitShape().coding_order() == list(range(7))  # the shipped shape: finest first, as before
    plain = OverfitShape(grids=4, arm_width=8, arm_layers=2, synthesis_width=8)
    assert parameter_count(SHAPE) == parameter_count(plain) + 8 * 3 + 3 * (5 + 4) + 2 * 3
    assert macs_per_pixel(SHAPE) > macs_per_pixel(plain)


def test_features_start_at_zero_and_leave_the_rest_of_the_network_as_without_them() -> None:
    plain_shape = OverfitShape(grids=4, arm_width=8, arm_layers=2, synthesis_width=8)
    torch.manual_seed(3)
    plain = OverfitNetwork(plain_shape)
    torch.manual_seed(3)
    coarse = OverfitNetwork(SHAPE)
    assert torch.equal(coarse.arm[0].weight[:, :16], plain.arm[0].weight)
    assert coarse.arm[0].weight[:, 16:].abs().min() > 0
    assert not any(w.any() for w in coarse.feature_weights)
    ours, theirs = coarse.tensors(), plain.tensors()
    arm = 2 * (SHAPE.arm_layers + 1)
    same = list(zip(ours[1:arm], theirs[1:arm])) + list(zip(ours[arm + 2 * SHAPE.coarse_feature_grids :], theirs[arm:],
                                                           strict=True))
    assert all(torch.equal(a, b) for a, b in same)


def test_round_trip_is_bit_exact_and_the_header_says_the_shape(overfit_model: LoadedModel, encoded) -> None:  # noqa: ANN001
    pixels, result = encoded
    lane0 = read_image_stream(result.data)[1][0][0]
    assert lane0[0] == 0x80 | 0x40 | SHAPE.grids
    assert read_shape(lane0)[0] == SHAPE
    one, two = decoded_with_one_and_two_threads(result.data, overfit_model)
    assert np.array_equal(one, result.reconstruction) and np.array_equal(two, result.reconstruction)
    assert np.mean((one.astype(float) - pixels.astype(float)) ** 2) < np.var(pixels.astype(float))


def _nearest(grid: np.ndarray, steps: int, size: tuple[int, int]) -> np.ndarray:
    ys, xs = np.arange(size[0]) >> steps, np.arange(size[1]) >> steps
    return grid[ys][:, xs]


def test_cpp_arm_with_features_equals_the_fixed_point_reference(overfit_model: LoadedModel) -> None:
    """The C++ tables of every latent (coding order, features from the grids coded before) equal FixedPointLayer's
    float64 path of spec section 6.3."""
    rng = np.random.default_rng(2)
    tensors = [t.detach() for t in OverfitNetwork(SHAPE).tensors()]
    network = ExactNetwork.of(SHAPE, [rng.integers(-300, 300, t.shape).astype(np.int32) for t in tensors],
                              [10] * len(tensors))
    c = overfit_model.module.config
    arm = _rans.ArmModel(network.cpp_arm_layers(), [dy for dy, _ in CONTEXT], [dx for _, dx in CONTEXT], c.scale_base,
                         c.scale_step, c.scale_levels, c.mean_bits, SHAPE.coarse_features, network.cpp_feature_layers())
    sizes = SHAPE.latent_sizes(23, 13)
    grids = [rng.integers(-30, 30, size).astype(np.int32) for size in sizes]
    levels = SHAPE.levels()
    order = SHAPE.coding_order()
    symbols, indexes = arm.symbols([sizes[i][0] for i in order], [sizes[i][1] for i in order],
                                   np.concatenate([grids[i].reshape(-1) for i in order]), [levels[i] for i in order])
    expected_symbols, expected_indexes = [], []
    for i in order:
        a = (context_rows(torch.from_numpy(grids[i]).double(), CONTEXT) * 4096).clamp(-2**24, 2**24)
        features = torch.zeros(a.shape[0], SHAPE.coarse_features, dtype=torch.float64)
        if i < SHAPE.coarse_feature_grids:
            sources = [_nearest(grids[j], levels[j] - levels[i], sizes[i]).reshape(-1)
                       for j in SHAPE.feature_sources(i)]
            u = (torch.from_numpy(np.stack(sources, 1)).double() * 4096).clamp(-2**24, 2**24)
            features = network.feature_layers[i].on_rows(u)
            assert features.abs().max() > 0
        a = torch.cat([a, features], 1)
        for layer in network.arm:
            a = layer.on_rows(a)
        out = a.numpy().astype(np.int64)
        mean_q = np.floor((out[:, 0] + 128) / 256).astype(np.int64)
        row = np.clip(np.floor((out[:, 1] - c.scale_base + c.scale_step // 2) / c.scale_step), 0, c.scale_levels - 1)
        expected_indexes.append(row.astype(np.int64) * 16 + (mean_q & 15))
        expected_symbols.append(grids[i].reshape(-1) - (mean_q >> 4))
    assert np.array_equal(indexes, np.concatenate(expected_indexes).astype(np.int32))
    assert np.array_equal(symbols, np.concatenate(expected_symbols).astype(np.int32))


def test_cpp_arm_refuses_features_of_grids_not_coded_before(overfit_model: LoadedModel) -> None:
    c = overfit_model.module.config
    layers = [(np.zeros((2, 16 + 1), np.int64), np.zeros(2, np.int64), False)]
    feature = (0, [1], np.zeros((1, 1), np.int64), np.zeros(1, np.int64))  # grid 0 reading grid 1 (coded after it)
    arm = _rans.ArmModel(layers, [dy for dy, _ in CONTEXT], [dx for _, dx in CONTEXT], c.scale_base, c.scale_step,
                         c.scale_levels, c.mean_bits, 1, [feature])
    with pytest.raises(ValueError, match="not coded before"):
        arm.symbols([4, 2], [4, 2], np.zeros(20, np.int32), [0, 1])


def test_half_resolution_phase_hands_its_features_one_grid_finer() -> None:
    """Grid i of the half-resolution phase is grid i + 1 at full resolution: its feature layer too, and the
    hyperlatents stay at their (absolute) resolutions."""
    coarse_shape = _half_resolution_shape(SHAPE)
    assert (coarse_shape.grids, coarse_shape.hyper_grids, coarse_shape.coarse_feature_grids) == (3, 2, 1)
    half = OverfitNetwork(coarse_shape)
    with torch.no_grad():
        half.feature_weights[0].normal_()
        half.feature_biases[0].normal_()
    target = torch.rand(1, 3, 16, 24)
    latents = [torch.randn(h, w) for h, w in coarse_shape.latent_sizes(12, 8)]
    start = _refine_from(FittedImage(half, latents), SHAPE, target)
    assert torch.equal(start.network.feature_weights[1], half.feature_weights[0])
    assert torch.equal(start.network.feature_biases[1], half.feature_biases[0])
    assert not start.network.feature_weights[0].any()
    assert [tuple(y.shape) for y in start.latents] == SHAPE.latent_sizes(24, 16)
    assert all(torch.equal(a, b) for a, b in zip(start.latents[1:], latents, strict=True))


def test_small_images_get_shapes_that_fit() -> None:
    fit = FitConfig(shape=OverfitShape(hyper_grids=3, coarse_features=6, coarse_feature_grids=3)).sized_for(6, 5)
    fit.shape.validate()
    _half_resolution_shape(fit.shape).validate()
    assert (fit.shape.grids, fit.shape.hyper_grids, fit.shape.coarse_feature_grids) == (2, 0, 1)
    tiny = FitConfig(shape=OverfitShape(hyper_grids=3, coarse_features=6, coarse_feature_grids=3)).sized_for(1, 1)
    assert (tiny.shape.grids, tiny.shape.hyper_grids, tiny.shape.coarse_feature_grids) == (1, 0, 0)
    assert tiny.shape.coarse_features == 0 and not tiny.shape.coarse_order  # no feature weights to code
    tiny.shape.validate()
    for grids, hyper in ((7, 3), (4, 2), (3, 0), (6, 4)):  # every feature grid's sources at its level or coarser
        shape = FitConfig(shape=OverfitShape(grids=grids, hyper_grids=hyper, coarse_features=2,
                                             coarse_feature_grids=8)).sized_for(4096, 4096).shape
        shape.validate()
        _half_resolution_shape(shape).validate()
        levels = shape.levels()
        assert all(levels[j] >= levels[k] for k in range(shape.coarse_feature_grids) for j in shape.feature_sources(k))


def _with_lane0(data: bytes, lane0: bytes) -> bytes:
    header, tiles = read_image_stream(data)
    lanes = [lane0, tiles[0][1]]
    return write_image_stream(dataclasses.replace(header, tiles=(tuple(len(b) for b in lanes),)), [lanes])


@pytest.mark.parametrize("change, message", [
    (lambda lane: lane[:4] + bytes([0, 0]) + lane[6:], "without hyperlatents or features"),
    (lambda lane: lane[:4] + bytes([5]) + lane[5:], "hyperlatent grids"),
    (lambda lane: lane[:5] + bytes([3 | 5 << 4]) + lane[6:], "coarse-grid features"),
    (lambda lane: lane[:5] + bytes([3 | 4 << 4]) + lane[6:], "coarse-grid features"),  # grid 3 above hyperlatent 0
    (lambda lane: lane[:4] + bytes([4]) + lane[5:], "hyperlatent grids"),  # as many as the latent grids
    (lambda lane: lane[:5] + bytes([9 | 2 << 4]) + lane[6:], "coarse-grid features out of"),
    (lambda lane: bytes([0x40 | SHAPE.grids]) + lane[1:], "symmetric layout"),
    (lambda lane: bytes([0x80 | 0x20 | 0x40 | SHAPE.grids]) + lane[1:], "reserved bits"),
])
def test_forged_coarse_headers_are_refused(overfit_model: LoadedModel, encoded, change, message: str) -> None:  # noqa: ANN001
    _, result = encoded
    lane0 = read_image_stream(result.data)[1][0][0]
    with pytest.raises(CorruptStreamError, match=message):
        decode_image(_with_lane0(result.data, change(lane0)), overfit_model)


def test_a_coarse_flag_without_its_two_bytes_is_refused(encoded) -> None:  # noqa: ANN001
    """(A container refuses lanes under 8 bytes first; read_shape also serves ``lic info``.)"""
    lane0 = read_image_stream(encoded[1].data)[1][0][0]
    with pytest.raises(CorruptStreamError, match="damaged"):
        read_shape(lane0[:5])


def test_info_names_the_hyperlatents_and_features(tmp_path: Path, encoded) -> None:  # noqa: ANN001
    path = tmp_path / "coarse.lic"
    path.write_bytes(encoded[1].data)
    out = subprocess.run([sys.executable, "-m", "lic", "info", str(path)], capture_output=True, text=True, check=True)
    assert "2 hyperlatent grids, 3 coarse-grid features for the 2 finest grids" in out.stdout
