"""Image coding end to end with a tiny untrained model: exactness, colour formats, errors."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lic.codec.image import decode_image, encode_image, lanes_for
from lic.errors import CorruptStreamError, ModelMismatchError, UnsupportedInputError
from lic.format.container import read_image_header, read_image_stream, write_image_stream
from lic.format.header import ColourFormat
from lic.io.imageio import from_pil, read_image
from lic.models.registry import get_spec
from lic.models.weights import LoadedModel


def _smooth_image(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    base = 128 + 60 * np.sin(xx / 7.0)[..., None] * np.cos(yy / 11.0)[..., None] * np.array([1.0, 0.6, -0.8])
    return np.clip(base + rng.normal(0, 8, (h, w, 3)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("size", [(1, 1), (3, 70), (17, 33), (64, 64), (80, 130)])
@pytest.mark.parametrize("quality", [0.0, 0.4, 1.0])
def test_decode_equals_encoder_reconstruction(tiny_model: LoadedModel, rng, size, quality) -> None:  # noqa: ANN001
    pixels = _smooth_image(rng, *size)
    encoded = encode_image(pixels, tiny_model, quality)
    decoded, header = decode_image(encoded.data, tiny_model)
    assert decoded.shape == pixels.shape and decoded.dtype == np.uint8
    np.testing.assert_array_equal(decoded, encoded.reconstruction)
    assert (header.width, header.height) == (size[1], size[0])
    assert header.quality == pytest.approx(quality)
    assert encoded.bpp == len(encoded.data) * 8 / (size[0] * size[1])


def test_grayscale_round_trip(tiny_model: LoadedModel, rng) -> None:  # noqa: ANN001
    pixels = _smooth_image(rng, 40, 50)[..., 0].copy()
    encoded = encode_image(pixels, tiny_model, 0.5)
    decoded, header = decode_image(encoded.data, tiny_model)
    assert header.colour == ColourFormat.GRAY and decoded.shape == (40, 50)
    np.testing.assert_array_equal(decoded, encoded.reconstruction)


def test_lanes_follow_image_size(tiny_model: LoadedModel, rng) -> None:  # noqa: ANN001
    assert lanes_for(64, 64) == 1 and lanes_for(768, 512) == 4
    encoded = encode_image(_smooth_image(rng, 64, 64), tiny_model, 0.5, lanes=3)
    assert len(read_image_header(encoded.data).lane_sizes) == 3
    decoded, _ = decode_image(encoded.data, tiny_model, threads=3)
    np.testing.assert_array_equal(decoded, encoded.reconstruction)


def test_other_weights_are_refused(tiny_model: LoadedModel, rng) -> None:  # noqa: ANN001
    torch.manual_seed(1)
    other = LoadedModel.from_module("elic-tiny", get_spec("elic-tiny").build())
    assert other.digest != tiny_model.digest
    encoded = encode_image(_smooth_image(rng, 32, 32), tiny_model, 0.5)
    with pytest.raises(ModelMismatchError, match="other|weights"):
        decode_image(encoded.data, other)


def test_quality_out_of_range(tiny_model: LoadedModel, rng) -> None:  # noqa: ANN001
    with pytest.raises(UnsupportedInputError, match="quality"):
        encode_image(_smooth_image(rng, 8, 8), tiny_model, 5.0)


def test_pil_modes() -> None:
    rgb = Image.new("RGB", (5, 4), (10, 20, 30))
    assert from_pil(rgb)[1] == ColourFormat.RGB
    assert from_pil(rgb.convert("L"))[1] == ColourFormat.GRAY
    assert from_pil(rgb.convert("P"))[0].shape == (4, 5, 3)
    assert from_pil(rgb.convert("CMYK"))[0].shape == (4, 5, 3)
    assert from_pil(rgb.convert("RGBA"))[1] == ColourFormat.RGB  # opaque alpha is dropped
    transparent = rgb.convert("RGBA")
    transparent.putpixel((0, 0), (0, 0, 0, 10))
    with pytest.raises(UnsupportedInputError, match="transparency"):
        from_pil(transparent)
    with pytest.raises(UnsupportedInputError, match="8 bits"):
        from_pil(Image.new("I;16", (4, 4)))


@pytest.mark.parametrize("seed", range(4))
def test_forged_payload_with_valid_checksums(tiny_model: LoadedModel, rng, seed: int) -> None:  # noqa: ANN001
    """Random coded bytes behind a valid header and CRCs: a clean error, never a hang or a crash."""
    encoded = encode_image(_smooth_image(rng, 48, 48), tiny_model, 0.5)
    header, tiles = read_image_stream(encoded.data)
    forged = [np.random.default_rng(seed).bytes(len(b)) for b in tiles[0]]
    forged = [[b"\xff\xff\xff\xff" + b[4:] for b in forged]]  # a valid initial state (>= 2^31)
    with pytest.raises(CorruptStreamError):
        decode_image(write_image_stream(header, forged), tiny_model)


def test_exact_whatever_the_callers_thread_setting(rng) -> None:  # noqa: ANN001
    """Encoder with 1 torch thread, decoder with 3: still bit-exact (coding pins its own count).

    Needs a full-width model on a real photo: with elic-tiny, or on small smooth images, 1 and
    3 threads happen to agree even without pinning, and the test would prove nothing.
    """
    torch.manual_seed(0)
    module = get_spec("elic-s").build()
    with torch.no_grad():
        module.gain.log_gain.fill_(3.0)  # many non-zero symbols, as in a trained model at high rate
    model = LoadedModel.from_module("elic-s", module)
    pixels, _ = read_image(Path(str(resources.files("lic").joinpath("data", "astronaut.png"))))
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        encoded = encode_image(pixels, model, 7.0)
        torch.set_num_threads(3)
        decoded, _ = decode_image(encoded.data, model)
    finally:
        torch.set_num_threads(previous)
    np.testing.assert_array_equal(decoded, encoded.reconstruction)
    assert torch.get_num_threads() == previous


def test_target_bpp_search(tiny_model: LoadedModel, rng) -> None:  # noqa: ANN001
    from lic.codec.image import encode_image_to_bpp

    pixels = _smooth_image(rng, 64, 96)
    low, high = encode_image(pixels, tiny_model, 0.0), encode_image(pixels, tiny_model, 1.0)
    assert low.bpp < high.bpp
    target = (low.bpp + high.bpp) / 2
    hit = encode_image_to_bpp(pixels, tiny_model, target)
    assert hit.bpp <= target and 0.0 < hit.header.quality < 1.0
    assert encode_image_to_bpp(pixels, tiny_model, low.bpp / 2).header.quality == 0.0
    assert encode_image_to_bpp(pixels, tiny_model, high.bpp * 2).header.quality == 1.0
    with pytest.raises(UnsupportedInputError):
        encode_image_to_bpp(pixels, tiny_model, 0.0)
