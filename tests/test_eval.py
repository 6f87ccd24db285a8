"""lic eval (RD points through real files) and lic bdrate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_cli import run_lic

from lic.eval.anchors import published_curves
from lic.eval.bdrate import RDCurve, bd_rate


def test_bd_rate_of_a_curve_against_itself_and_a_scaled_copy() -> None:
    vtm = published_curves()["vtm"]
    assert bd_rate(vtm, vtm) == pytest.approx(0.0, abs=1e-9)
    cheaper = RDCurve("cheaper", tuple(b * 0.9 for b in vtm.bpp), vtm.psnr)
    assert bd_rate(cheaper, vtm) == pytest.approx(-10.0, abs=1e-6)


def test_bd_rate_of_published_curves_orders_the_codecs() -> None:
    curves = published_curves()
    assert bd_rate(curves["jpeg"], curves["vtm"]) > bd_rate(curves["webp"], curves["vtm"]) > bd_rate(
        curves["bpg"], curves["vtm"]) > 0


def test_bd_rate_needs_overlap() -> None:
    a = RDCurve("a", (0.1, 0.2), (20.0, 22.0))
    b = RDCurve("b", (0.1, 0.2), (30.0, 32.0))
    with pytest.raises(ValueError, match="share no quality range"):
        bd_rate(a, b)


def test_eval_and_bdrate_commands(tmp_path: Path, tiny_weights: Path) -> None:
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)).save(tmp_path / f"img{i}.png")
    result = run_lic("eval", str(tmp_path), "-q", "0", "1", "--model", "elic-tiny", "--weights", str(tiny_weights),
                     "-o", "rd.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rd = json.loads((tmp_path / "rd.json").read_text())
    assert rd["images"] == 2 and [p["quality"] for p in rd["points"]] == [0.0, 1.0]
    assert all(p["bpp"] > 0 for p in rd["points"])
    bd = run_lic("bdrate", "rd.json", "--json", cwd=tmp_path)
    assert bd.returncode == 0, bd.stderr
    assert set(json.loads(bd.stdout)["anchors"]) == set(published_curves())
    bad = run_lic("bdrate", "rd.json", "--anchor", "nope", cwd=tmp_path)
    assert bad.returncode == 1 and "unknown anchor" in bad.stderr
