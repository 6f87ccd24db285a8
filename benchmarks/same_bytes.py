"""Encode a fixed set of inputs through the CLI and print each output's SHA-256.

Run it on two commits to show a change leaves every byte as it was::

    python benchmarks/same_bytes.py --kodak ../shared/datasets/kodak -o before.json
    git checkout NEW && python benchmarks/same_bytes.py --kodak ../shared/datasets/kodak -o after.json
    python benchmarks/same_bytes.py --compare before.json after.json

The set: kodim01 at qualities 0, 3 and 7 (elic-s), a P-frame clip and an INR clip (16 frames of
64x64 cut from the bundled sample with a moving window, so the inputs need no data set).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

SAMPLE = Path(__file__).resolve().parents[1] / "lic" / "data" / "astronaut.png"


def _clip_frames(folder: Path, count: int = 16, size: int = 64) -> Path:
    """Writes ``count`` PNG frames of a window panning across the sample image."""
    folder.mkdir(parents=True, exist_ok=True)
    image = np.asarray(Image.open(SAMPLE).convert("RGB"))
    for index in range(count):
        top, left = 100 + 2 * index, 150 + 3 * index
        Image.fromarray(image[top : top + size, left : left + size]).save(folder / f"{index:04d}.png")
    return folder


def _encode(args: list[str]) -> None:
    # One thread: the INR fit is float arithmetic whose sums depend on the thread count.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "lic", "encode", *args], check=True, env=env)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(kodak: Path, work: Path) -> dict[str, str]:
    """Encodes every case into ``work`` and returns name -> SHA-256 of the ``.lic`` file."""
    digests: dict[str, str] = {}
    for quality in (0, 3, 7):
        out = work / f"kodim01-q{quality}.lic"
        _encode([str(kodak / "kodim01.png"), "-o", str(out), "-q", str(quality)])
        digests[out.name] = _digest(out)
    frames = _clip_frames(work / "frames")
    cases = {
        "clip-pframes.lic": ["--intra-period", "8"],
        "clip-inr.lic": ["--mode", "inr", "--inr-steps", "30", "--intra-period", "16"],
    }
    for name, flags in cases.items():
        out = work / name
        _encode([str(frames), "--video", "-o", str(out), "-q", "3", *flags])
        digests[name] = _digest(out)
    return digests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kodak", type=Path, default=Path("../shared/datasets/kodak"))
    parser.add_argument("-o", "--output", type=Path, help="write the digests here (JSON)")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.compare:
        before, after = (json.loads(p.read_text()) for p in args.compare)
        for name in sorted(set(before) | set(after)):
            same = before.get(name) == after.get(name)
            print(f"{name:20s} {'identical' if same else 'DIFFERENT'}  {after.get(name, '-')[:16]}")
        return 0 if before == after else 1
    with tempfile.TemporaryDirectory() as tmp:
        digests = run(args.kodak, Path(tmp))
    for name, digest in digests.items():
        print(f"{name:20s} {digest}")
    if args.output:
        args.output.write_text(json.dumps(digests, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
