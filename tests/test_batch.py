"""Batch jobs: folders in, folders out, failures reported, re-runs resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from test_cli import run_lic


def _folder(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ["a.png", "b.jpg", "sub/c.png"]:
        Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(src / name)
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return src


def test_batch_encode_decode_resume(tmp_path: Path, tiny_weights: Path) -> None:
    src = _folder(tmp_path)
    args = ["--model", "elic-tiny", "--weights", str(tiny_weights), "-q", "0.5"]
    first = run_lic("encode", str(src), "-o", "out", "--workers", "2", *args, cwd=tmp_path)
    assert first.returncode == 1, "one input failed"
    assert "4 files: 3 encoded, 0 already done, 1 failed" in first.stdout
    assert "broken.png" in first.stderr and "Traceback" not in first.stderr
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.lic")) == [
        "a.lic", "b.lic", "sub/c.lic"]

    (tmp_path / "out" / "b.lic").write_bytes((tmp_path / "out" / "b.lic").read_bytes()[:-5])  # damaged output
    again = run_lic("encode", str(src), "-o", "out", *args, cwd=tmp_path)
    assert "4 files: 1 encoded, 2 already done, 1 failed" in again.stdout

    decoded = run_lic("decode", "out", "-o", "png", "--weights", str(tiny_weights), cwd=tmp_path)
    assert decoded.returncode == 0, decoded.stderr
    assert "3 files: 3 decoded" in decoded.stdout
    assert Image.open(tmp_path / "png" / "sub" / "c.png").size == (40, 30)


def test_batch_needs_an_output_folder(tmp_path: Path) -> None:
    src = _folder(tmp_path)
    (tmp_path / "file.lic").write_bytes(b"x")
    result = run_lic("encode", str(src), "-o", "file.lic", cwd=tmp_path)
    assert result.returncode == 1 and "not a directory" in result.stderr
