"""Encode-time latent refinement: same decoder, bit-exact, and a lower RD cost than plain encoding."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import torch
from test_cli import run_lic

from lic.codec.image import _to_tensor, decode_image, encode_image
from lic.codec.refine import RefineConfig, lambda_at, refine_latent, refine_learning_rate, training_lambdas
from lic.codec.tiles import crop_pixels
from lic.eval.metrics import psnr
from lic.format.geometry import Box
from lic.io.imageio import read_image
from lic.models.rate import rate_bpp
from lic.models.weights import load_model


def _objective(model, y: torch.Tensor, x: torch.Tensor, quality: float, height: int,  # noqa: ANN001
               width: int) -> float:
    """``lambda * 255^2 * MSE + bpp`` of latent ``y`` on the ``height x width`` image inside ``x``."""
    with torch.no_grad():
        out = model.module.forward_latent(y, quality)
        mse = torch.mean((out["x_hat"][:, :, :height, :width].clamp(0, 1) - x[:, :, :height, :width]) ** 2)
        return float(lambda_at(model, quality) * 255**2 * mse + rate_bpp(out["likelihoods"], height * width))


def _photo_crop() -> np.ndarray:
    """48 x 56 pixels of the bundled photo: not a multiple of 64, so the encoder pads it."""
    pixels, _ = read_image(Path(str(resources.files("lic").joinpath("data", "astronaut.png"))))
    return np.ascontiguousarray(pixels[64:112, 192:248])


def test_refinement_lowers_the_rd_cost_of_a_photo(tiny_model) -> None:  # noqa: ANN001
    """Refinement must find a better latent than the analysis (not merely keep it), measured
    on the model's objective and on the real coded stream, which decodes to the encoder's output."""
    pixels = _photo_crop()
    height, width = pixels.shape[:2]
    x = _to_tensor(crop_pixels(pixels, Box(0, 0, 64, 64)), torch.device("cpu"))
    config = RefineConfig(steps=5, lr=0.5)
    with torch.no_grad():
        plain = tiny_model.module.analyze(x, 0.5)
    refined = refine_latent(tiny_model, x, 0.5, height, width, config)
    before = _objective(tiny_model, plain, x, 0.5, height, width)
    assert _objective(tiny_model, refined, x, 0.5, height, width) < 0.99 * before

    lmbda = lambda_at(tiny_model, 0.5)

    def coded_cost(encoded) -> float:  # noqa: ANN001
        decoded, _ = decode_image(encoded.data, tiny_model)
        np.testing.assert_array_equal(decoded, encoded.reconstruction)
        return lmbda * float(np.mean((decoded.astype(np.float64) - pixels) ** 2)) + encoded.bpp

    plain_file = encode_image(pixels, tiny_model, 0.5)
    refined_file = encode_image(pixels, tiny_model, 0.5, refine=config)
    assert refined_file.data != plain_file.data
    assert coded_cost(refined_file) < 0.99 * coded_cost(plain_file)
    assert len(training_lambdas(tiny_model)) == tiny_model.module.rate_levels


def test_refine_through_the_cli_decodes_exactly(tmp_path: Path, tiny_weights: Path) -> None:
    rng = np.random.default_rng(1)
    from PIL import Image

    Image.fromarray(rng.integers(0, 256, (48, 72, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    common = ["--model", "elic-tiny", "--weights", str(tiny_weights)]
    assert run_lic("encode", "a.png", "-o", "a.lic", "--refine", "3", "--recon", "r.png", *common,
                   cwd=tmp_path).returncode == 0
    assert run_lic("decode", "a.lic", "-o", "d.png", "--weights", str(tiny_weights), cwd=tmp_path).returncode == 0
    np.testing.assert_array_equal(read_image(tmp_path / "d.png")[0], read_image(tmp_path / "r.png")[0])
    bad = run_lic("encode", "a.png", "-o", "b.lic", "--refine", "-1", *common, cwd=tmp_path)
    assert bad.returncode == 2


def test_refine_lowers_the_rd_cost_with_the_shipped_model() -> None:
    model = load_model("elic-s")
    pixels, _ = read_image(Path(str(resources.files("lic").joinpath("data", "astronaut.png"))))
    pixels = np.ascontiguousarray(pixels[64:192, 192:320])
    lmbda = lambda_at(model, 3.0)

    def cost(encoded) -> float:  # noqa: ANN001
        decoded, _ = decode_image(encoded.data, model)
        np.testing.assert_array_equal(decoded, encoded.reconstruction)
        mse = 255**2 / 10 ** (psnr(pixels, decoded) / 10)
        return lmbda * mse + encoded.bpp

    plain = encode_image(pixels, model, 3.0)
    refined = encode_image(pixels, model, 3.0, refine=RefineConfig(steps=10))
    assert cost(refined) < cost(plain)
    assert lambda_at(model, 3.0) == pytest.approx(0.013)


def test_relaxed_likelihoods_are_those_of_the_unrounded_latent(tiny_model) -> None:  # noqa: ANN001
    """``forward_latent(relaxed=True)`` adds the likelihoods of ``y`` itself; the coded ones are
    unchanged, and a latent already on the rounding grid has equal coded and relaxed likelihoods."""
    module = tiny_model.module
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        y = module.analyze(x, 1.0)
        plain = module.forward_latent(y, 1.0)
        relaxed = module.forward_latent(y, 1.0, relaxed=True)
        torch.testing.assert_close(relaxed["likelihoods"]["y"], plain["likelihoods"]["y"])
        torch.testing.assert_close(relaxed["x_hat"], plain["x_hat"])
        assert not torch.equal(relaxed["relaxed_likelihoods"]["y"], plain["likelihoods"]["y"])
        assert "relaxed_likelihoods" not in plain
        hyper, _ = module.hyper(y)
        y_hat, coded, _ = module.context.forward_relaxed(y, hyper)
        _, coded_again, relaxed_again = module.context.forward_relaxed(y_hat, hyper)
        torch.testing.assert_close(relaxed_again, coded_again)


def test_the_default_step_size_follows_lambda() -> None:
    """0.01 at the middle trade-off (lambda 0.013), larger steps at higher qualities."""
    assert refine_learning_rate(0.013) == pytest.approx(0.01)
    assert refine_learning_rate(0.0035) < 0.004 < 0.2 < refine_learning_rate(0.18) < 0.3
