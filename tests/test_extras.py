"""Optional extras (pyproject.toml): the core imports none of them, and a command that needs a
missing one stops with one line naming the extra to install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from test_cli import assert_one_line_error, run_lic

from lic.errors import LicError
from lic.train.regions import segment_batch

CORE_CHECK = """
import sys
import numpy as np
import lic.api, lic.cli.main, lic.train.loop, lic.video_api
from lic.codec.image import decode_image, encode_image
from lic.models.weights import load_model
model = load_model("elic-s")
decode_image(encode_image(np.zeros((64, 64, 3), np.uint8), model, 3.0).data, model)
print(sorted(m for m in ("matplotlib", "skimage") if m in sys.modules))
"""


def test_coding_and_training_imports_need_no_optional_extra() -> None:
    result = subprocess.run([sys.executable, "-c", CORE_CHECK], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_plot_without_matplotlib_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    result = run_lic("plot", "jpeg", "-o", "rd.png", cwd=tmp_path)
    assert_one_line_error(result, "lic plot needs matplotlib, which is not installed (pip install 'lic[plot]')")
    assert not list(tmp_path.iterdir())


def test_region_masks_without_scikit_image_name_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "skimage", None)
    monkeypatch.setitem(sys.modules, "skimage.segmentation", None)
    with pytest.raises(LicError, match=r"needs scikit-image, which is not installed \(pip install 'lic\[train\]'\)"):
        segment_batch(torch.rand(1, 3, 16, 16))
