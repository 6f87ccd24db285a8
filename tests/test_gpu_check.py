"""``benchmarks/gpu_check.py --dry-run`` runs end to end on the CPU, so the GPU run cannot fail on a typo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("triton")

ROOT = Path(__file__).resolve().parents[1]
KODAK = ROOT.parent / "shared" / "datasets" / "kodak"


def test_gpu_check_dry_run(tmp_path: Path) -> None:
    out = tmp_path / "gpu-check.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TRITON_INTERPRET": "1"}
    command = [sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--dry-run", "--out", str(out),
               "--kodak", str(KODAK), "--train-dir", str(tmp_path / "no-such-folder")]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(out.read_text())
    assert report["dry_run"] is True
    for direction in ("cpu_to_gpu", "gpu_to_cpu"):
        section = report["determinism"][direction]
        assert section["images"] >= 1 and section["latent_exact"] == section["images"], section
    for size in ("kodak", "3840x2160"):
        row = report["speed"][size]
        assert row["same_bytes"], row
        assert row["torch_stream_through_kernels"]["identical"] and row["torch_stream_through_torch"]["identical"], row
        assert row["kernels"]["decode"]["ms"] > 0 and row["torch"]["decode"]["ms"] > 0
    assert report["training"]["data"] == "random noise images"
    assert report["training"]["steps_per_second"] > 0
