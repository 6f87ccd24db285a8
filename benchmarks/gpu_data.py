"""Splits the training photos into parts that fit the device machine's 64 MiB transfer limit.

    python benchmarks/gpu_data.py                # writes .gpudata/a and .gpudata/b (git-ignored)

The device tool sends the working tree (about 25 MiB with the shipped weights) plus the carried
paths, 64 MiB in all, so one call can carry about a third of ``train`` + ``train2`` (102 MiB).
Two calls to one warm machine carry ``a`` then ``b``; the first copies ``a`` to ``/tmp/data/a``.
The order is the SHA-256 of each file name, so the parts are the same on every machine; what
does not fit is left out (the run's notes say how many). Part ``a`` also holds the six Kodak
images of the overfit table for ``benchmarks/gpu_check.py``'s determinism section.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
from pathlib import Path

SIX_KODAK = ("kodim01", "kodim04", "kodim08", "kodim14", "kodim19", "kodim23")
MIB = 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--out", type=Path, default=Path(".gpudata"))
    parser.add_argument("--mib", type=float, nargs=2, default=(31.0, 36.5), help="budget of parts a and b")
    args = parser.parse_args()
    files = [f for folder in ("train", "train2") for f in sorted((args.datasets / folder).glob("*.jpg"))]
    files.sort(key=lambda f: hashlib.sha256(f.name.encode()).hexdigest())
    if args.out.exists():
        shutil.rmtree(args.out)
    taken = 0
    for part, budget in zip("ab", args.mib):
        folder = args.out / part / "train"
        folder.mkdir(parents=True)
        used = 0
        while taken < len(files) and used + files[taken].stat().st_size <= budget * MIB:
            shutil.copy2(files[taken], folder / files[taken].name)
            used += files[taken].stat().st_size
            taken += 1
        print(f"{part}: {len(list(folder.iterdir()))} photos, {used / MIB:.1f} MiB")
    print(f"left out: {len(files) - taken} of {len(files)}")
    kodak = args.out / "a" / "kodak"
    kodak.mkdir()
    for name in SIX_KODAK:
        shutil.copy2(args.datasets / "kodak" / f"{name}.png", kodak)


if __name__ == "__main__":
    main()
