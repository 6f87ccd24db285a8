"""Entropy parameters that are the same numbers on every machine (bitstream-spec.md section 3.1)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lic.codec import image as image_codec
from lic.codec.container import ColourFormat
from lic.codec.image import decode_picture, encode_picture
from lic.entropy.range_coder import RangeDecoder
from lic.models.fixed_point import ACTIVATION_BITS, FixedPointNetwork, InexactNetworkError
from lic.models.weights import load_model


def _network() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(24, 32, 5, padding=2), nn.ReLU(), nn.ConvTranspose2d(32, 16, 5, 2, 2, 1),
                         nn.ReLU(), nn.Conv2d(16, 8, 1))


def _reordered(net: FixedPointNetwork, x: torch.Tensor) -> torch.Tensor:
    """The same network with every sum taken in another order: channels reversed, im2col by hand."""
    a = torch.round(x.double() * 2.0**ACTIVATION_BITS)
    for layer in net.layers:
        w = layer.weight
        if layer.transposed:
            a = F.conv_transpose2d(a.flip(1), w.flip(0), layer.bias, layer.stride, layer.padding, layer.output_padding)
        else:
            cols = F.unfold(a.flip(1), w.shape[2:], padding=layer.padding)
            flat = w.flip(1).reshape(w.shape[0], -1)
            acc = (flat.flip(1) @ cols.flip(1)) + layer.bias[:, None]
            a = acc.reshape(1, w.shape[0], a.shape[2], a.shape[3])
        a = torch.floor((a + 2.0**13) * 2.0**-14).clamp(0 if layer.relu else -(2**24), 2**24)
    return a * 2.0**-ACTIVATION_BITS


def test_fixed_point_network_is_independent_of_summation_order() -> None:
    module = _network()
    net = FixedPointNetwork(module)
    x = torch.randn(1, 24, 9, 13) * 3
    reference = net(x)
    assert torch.equal(net(x.contiguous(memory_format=torch.channels_last)), reference)
    assert torch.equal(_reordered(net, x), reference)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert torch.equal(net(x), reference)
    finally:
        torch.set_num_threads(threads)
    with torch.no_grad():
        assert (reference - module(x).double()).abs().max() < 0.05  # close to the float network it stands for


def test_fixed_point_outputs_are_multiples_of_the_activation_step() -> None:
    out = FixedPointNetwork(_network())(torch.randn(1, 24, 5, 5))
    assert torch.equal(out * 2**ACTIVATION_BITS, torch.round(out * 2**ACTIVATION_BITS))


def test_weights_that_could_overflow_are_refused() -> None:
    module = _network()
    with torch.no_grad():
        module[0].weight.fill_(1e6)
    with pytest.raises(InexactNetworkError, match="overflow"):
        FixedPointNetwork(module)


def test_layers_without_a_fixed_point_form_are_refused() -> None:
    with pytest.raises(InexactNetworkError, match="GELU"):
        FixedPointNetwork(nn.Sequential(nn.Conv2d(2, 2, 1), nn.GELU()))


def test_research_variants_with_attention_use_float_parameters(tiny_model) -> None:  # noqa: ANN001
    from lic.models.registry import get_spec

    assert tiny_model.module.fixed_point
    assert not get_spec("elic-tiny-acgc").build().fixed_point


@pytest.fixture(scope="module")
def shipped():  # noqa: ANN201
    return load_model("elic-s")


def _pixels() -> np.ndarray:
    rng = np.random.default_rng(3)
    base = rng.integers(0, 255, (12, 16, 3)).astype(np.float32)
    smooth = np.kron(base, np.ones((8, 8, 1)))[:, :, :] + rng.normal(0, 6, (96, 128, 3))
    return np.clip(smooth, 0, 255).astype(np.uint8)


def test_decoding_does_not_depend_on_threads_or_algorithms(shipped, monkeypatch) -> None:  # noqa: ANN001
    """Encode on 1 thread with deterministic algorithms, decode on 3 without: same latent, bit for bit."""
    pixels = _pixels()
    monkeypatch.setattr(image_codec, "CODING_THREADS", 1)
    torch.use_deterministic_algorithms(True)
    try:
        coded, reconstruction = encode_picture(pixels, shipped, 3.0)
        with torch.inference_mode():
            y_ref = shipped.module.decode(RangeDecoder(coded[0]), 3.0, (2, 2), torch.device("cpu"))
    finally:
        torch.use_deterministic_algorithms(False)
    monkeypatch.setattr(image_codec, "CODING_THREADS", 3)
    decoder = RangeDecoder(coded[0], threads=2)
    with torch.inference_mode():
        y_hat = shipped.module.decode(decoder, 3.0, (2, 2), torch.device("cpu"))
    decoder.check_exhausted()
    assert torch.equal(y_hat, y_ref)
    decoded = decode_picture(coded, shipped, 3.0, 128, 96, ColourFormat.RGB)
    assert np.abs(decoded.astype(int) - reconstruction).max() <= 1  # float synthesis: last-bit rounding only


def test_pointwise_networks_on_rows_equal_the_convolution() -> None:
    torch.manual_seed(1)
    net = FixedPointNetwork(nn.Sequential(nn.Conv2d(12, 20, 1), nn.ReLU(), nn.Conv2d(20, 6, 1)))
    x = torch.randn(1, 12, 7, 9) * 4
    full = net(x)
    mask = torch.rand(7, 9) > 0.5
    rows = net.apply_to_rows(x[0][:, mask].t())
    assert torch.equal(rows.t(), full[0][:, mask])
