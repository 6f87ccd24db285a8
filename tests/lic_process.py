"""Running ``lic`` as a real process from a scratch folder, for the hostile-use, output-safety
and signal tests (helpers, not tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def lic_command(*args: str) -> list[str]:
    """The command line of ``lic ARGS`` running this checkout's code."""
    return [sys.executable, "-m", "lic", *args]


def lic_env() -> dict[str, str]:
    """The environment of a ``lic`` process: this checkout first on the path, one thread."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def run(*args: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """Runs ``lic ARGS`` to completion in ``cwd``; stdout and stderr as bytes."""
    return subprocess.run(lic_command(*args), cwd=cwd, env=lic_env(), input=stdin, capture_output=True,
                          timeout=300)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    """The single stderr line of a failed run (asserting it failed, without a traceback)."""
    stderr = result.stderr.decode()
    assert result.returncode != 0, stderr
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def noise_png(path: Path, size: tuple[int, int] = (64, 64), seed: int = 0) -> Path:
    """A random RGB PNG of ``size`` (rows, columns)."""
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(path)
    return path


def snapshot(folder: Path) -> dict[str, tuple[str, bytes | str]]:
    """Every entry below ``folder`` (links not followed): its kind and its content or link target."""
    entries: dict[str, tuple[str, bytes | str]] = {}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_symlink():
            entries[name] = ("link", os.readlink(path))
        elif path.is_dir():
            entries[name] = ("dir", "")
        elif path.is_file():
            entries[name] = ("file", path.read_bytes())
        else:
            entries[name] = ("special", oct(path.lstat().st_mode))
    return entries
