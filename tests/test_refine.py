"""Encode-time latent refinement: same decoder, bit-exact, never worse on the RD objective."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import torch
from test_cli import run_lic

from lic.codec.image import _to_tensor, decode_image, encode_image
from lic.codec.refine import RefineConfig, lambda_at, refine_latent, training_lambdas
from lic.eval.metrics import psnr
from lic.io.imageio import read_image
from lic.models.rate import rate_bpp
from lic.models.weights import load_model


def _objective(model, y: torch.Tensor, x: torch.Tensor, quality: float) -> float:  # noqa: ANN001
    with torch.no_grad():
        out = model.module.forward_latent(y, quality)
        mse = torch.mean((out["x_hat"].clamp(0, 1) - x) ** 2)
        return float(lambda_at(model, quality) * 255**2 * mse + rate_bpp(out["likelihoods"], x.shape[2] * x.shape[3]))


def test_refined_latent_never_scores_worse(tiny_model) -> None:  # noqa: ANN001
    rng = np.random.default_rng(0)
    x = _to_tensor(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), torch.device("cpu"))
    with torch.no_grad():
        plain = tiny_model.module.analyze(x, 0.5)
    refined = refine_latent(tiny_model, x, 0.5, 64, 64, RefineConfig(steps=5))
    assert _objective(tiny_model, refined, x, 0.5) <= _objective(tiny_model, plain, x, 0.5)
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
