"""Decodes here the overfit streams another machine wrote, and checks each against that machine's encoder.

    python benchmarks/overfit_check_streams.py runs/ofgpu/seed0 runs/ofgpu/seed1

Each ``WORKDIR`` is one of ``benchmarks/overfit_six.py``'s: ``<image>-q<quality>.lic`` beside
``points/<image>-q<quality>.json``, whose ``reconstruction_sha256`` is the SHA-256 of the encoder's
reconstruction there. A stream fitted on a GPU (``--device cuda``) and decoded on this CPU must
give those pixels bit for bit. Prints one line per stream and exits with 1 if any differs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from lic.codec.image import decode_image
from lic.models.weights import load_model


def main() -> None:
    """Checks every stream of the given work folders."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdirs", type=Path, nargs="+")
    args = parser.parse_args()
    model = load_model("overfit")
    checked, differing = 0, 0
    for workdir in args.workdirs:
        for point_file in sorted((workdir / "points").glob("*.json")):
            point = json.loads(point_file.read_text())
            stream = workdir / f"{point_file.stem}.lic"
            pixels, _ = decode_image(stream.read_bytes(), model)
            same = hashlib.sha256(np.ascontiguousarray(pixels)).hexdigest() == point["reconstruction_sha256"]
            checked, differing = checked + 1, differing + (not same)
            print(f"{stream}: {point.get('fit_device', '?')} -> here: {'identical' if same else 'DIFFERENT'}")
    print(f"{checked} streams, {differing} differing")
    sys.exit(1 if differing or not checked else 0)


if __name__ == "__main__":
    main()
