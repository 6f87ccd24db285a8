"""The Python API and the Pillow plugin."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from test_cli import run_lic

import lic
from lic.api import Codec, from_pixels, to_pixels


@pytest.fixture(scope="module")
def codec(tiny_weights: Path) -> Codec:
    return Codec("elic-tiny", tiny_weights)


def _photo() -> np.ndarray:
    yy, xx = np.mgrid[0:40, 0:60]
    base = 120 + 70 * np.sin(xx / 5.0 + yy / 9.0)
    return np.stack([base, base * 0.8, 255 - base], axis=2).astype(np.uint8)


def test_numpy_pil_torch_inputs_give_the_same_stream(codec: Codec) -> None:
    pixels = _photo()
    as_numpy = codec.compress(pixels, quality=0.5)
    assert codec.compress(Image.fromarray(pixels), quality=0.5) == as_numpy
    assert codec.compress(torch.from_numpy(pixels).permute(2, 0, 1).float() / 255, quality=0.5) == as_numpy
    assert codec.compress(torch.from_numpy(pixels).permute(2, 0, 1)[None], quality=0.5) == as_numpy


def test_outputs_and_exactness(codec: Codec) -> None:
    encoded = codec.encode(_photo(), quality=0.7)
    pixels = codec.decompress(encoded.data)
    np.testing.assert_array_equal(pixels, encoded.reconstruction)
    np.testing.assert_array_equal(np.asarray(codec.decompress(encoded.data, "pil")), pixels)
    tensor = codec.decompress(encoded.data, "torch")
    assert tensor.shape == (3, 40, 60) and tensor.dtype == torch.float32
    np.testing.assert_array_equal(to_pixels(tensor), pixels)


def test_api_output_equals_cli_output(codec: Codec, tmp_path: Path, tiny_weights: Path) -> None:
    Image.fromarray(_photo()).save(tmp_path / "p.png")
    result = run_lic("encode", "p.png", "-o", "p.lic", "-q", "0.25", "--model", "elic-tiny", "--weights",
                     str(tiny_weights), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "p.lic").read_bytes() == codec.compress(_photo(), quality=0.25)
    assert lic.open(tmp_path / "p.lic").width == 60


def test_conversion_errors() -> None:
    with pytest.raises(lic.UnsupportedInputError):
        to_pixels(np.zeros((4, 4, 4), np.uint8))
    with pytest.raises(lic.UnsupportedInputError):
        to_pixels("not an image")
    with pytest.raises(ValueError):
        from_pixels(_photo(), "jpeg")  # type: ignore[arg-type]


def test_pillow_plugin_round_trip(tmp_path: Path) -> None:
    """``img.save('x.lic')`` and ``Image.open('x.lic')`` with the shipped default model."""
    image = Image.fromarray(_photo())
    image.save(tmp_path / "b.lic", quality=2)
    with Image.open(tmp_path / "b.lic") as opened:
        assert opened.format == "LIC" and opened.size == (60, 40) and opened.mode == "RGB"
        decoded = np.asarray(opened.convert("RGB"))
    cli = run_lic("decode", "b.lic", "-o", "b.png", cwd=tmp_path)
    assert cli.returncode == 0, cli.stderr
    np.testing.assert_array_equal(decoded, np.asarray(Image.open(tmp_path / "b.png")))
