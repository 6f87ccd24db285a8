"""Smoke runs of the fuzz targets in tests/fuzz (long runs: see tests/fuzz/README.md)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris")

FUZZ = Path(__file__).parent / "fuzz"


@pytest.mark.parametrize("target, corpus, runs", [
    ("container", "streams", 2000),
    ("range_decoder", "lanes", 2000),
    ("decompress", "streams", 40),
])
def test_fuzz_target_runs_clean(target: str, corpus: str, runs: int, tmp_path: Path) -> None:
    """libFuzzer mutates the seed corpus for ``runs`` inputs; any crash, leak or timeout fails."""
    work = tmp_path / "corpus"
    shutil.copytree(FUZZ / "corpus" / corpus, work)
    result = subprocess.run(
        [sys.executable, str(FUZZ / f"fuzz_{target}.py"), f"-runs={runs}", "-seed=1", "-timeout=60",
         "-rss_limit_mb=4096", f"-artifact_prefix={tmp_path}/", str(work)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    done = re.search(r"Done (\d+) runs", result.stderr)
    assert done and int(done.group(1)) >= runs  # libFuzzer may count one run more than asked
