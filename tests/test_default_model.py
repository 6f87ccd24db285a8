"""The shipped default model on real photos: Kodak kodim01 through the CLI, and `lic demo`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED
from PIL import Image
from test_cli import run_lic

KODIM01 = SHARED / "kodak" / "kodim01.png"


@pytest.mark.skipif(not KODIM01.exists(), reason="needs ../shared/datasets/kodak")
def test_kodim01_round_trip(tmp_path: Path) -> None:
    enc = run_lic("encode", str(KODIM01), "-o", "a.lic", "--recon", "recon.png", cwd=tmp_path)
    assert enc.returncode == 0, enc.stderr
    dec = run_lic("decode", "a.lic", "-o", "a.png", cwd=tmp_path)
    assert dec.returncode == 0, dec.stderr
    decoded = np.asarray(Image.open(tmp_path / "a.png"))
    np.testing.assert_array_equal(decoded, np.asarray(Image.open(tmp_path / "recon.png")))
    info = json.loads(run_lic("info", "a.lic", "--json", cwd=tmp_path).stdout)
    assert (info["width"], info["height"], info["model"]) == (768, 512, "elic-s")
    assert info["bpp"] == pytest.approx((tmp_path / "a.lic").stat().st_size * 8 / (768 * 512), abs=1e-6)
    original = np.asarray(Image.open(KODIM01).convert("RGB")).astype(np.float64)
    psnr = 10 * np.log10(255**2 / np.mean((original - decoded) ** 2))
    assert psnr > 24.0, f"the shipped model reconstructs kodim01 at only {psnr:.2f} dB"


def test_demo(tmp_path: Path) -> None:
    result = run_lic("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "decoded == encoder reconstruction: True" in result.stdout
    assert "bpp" in result.stdout and "PSNR" in result.stdout
