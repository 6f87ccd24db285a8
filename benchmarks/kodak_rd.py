"""RD points of a model on a folder of images, through real .lic files on disk.

Every image is encoded to a .lic file, the file is read back and decoded, and
bpp = file bytes x 8 / pixels, PSNR-RGB from the decoded image. Prints one line
per quality and writes JSON.

Usage: python benchmarks/kodak_rd.py [--images ../shared/datasets/kodak] [--qualities 0 3 7]
       [--weights FILE] [--out rd.json]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from lic.codec.image import decode_image, encode_image
from lic.codec.imageio import read_image
from lic.models import DEFAULT_MODEL
from lic.models.weights import load_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=Path, default=Path("../shared/datasets/kodak"))
    parser.add_argument("--qualities", type=float, nargs="+", default=[0, 1, 2, 3, 4, 5, 6, 7])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--weights", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    model = load_model(args.model, args.weights)
    paths = sorted(p for p in args.images.iterdir() if p.suffix.lower() == ".png")
    points = []
    with tempfile.TemporaryDirectory() as tmp:
        for quality in args.qualities:
            bpp, psnr, t_enc, t_dec = [], [], 0.0, 0.0
            for path in paths:
                pixels, _ = read_image(path)
                t0 = time.perf_counter()
                encoded = encode_image(pixels, model, quality)
                t_enc += time.perf_counter() - t0
                file = Path(tmp) / (path.stem + ".lic")
                file.write_bytes(encoded.data)
                data = file.read_bytes()
                t0 = time.perf_counter()
                decoded, _ = decode_image(data, model)
                t_dec += time.perf_counter() - t0
                assert np.array_equal(decoded, encoded.reconstruction)
                mse = np.mean((pixels.astype(np.float64) - decoded.astype(np.float64)) ** 2)
                bpp.append(len(data) * 8 / (pixels.shape[0] * pixels.shape[1]))
                psnr.append(10 * math.log10(255**2 / mse))
            point = {"quality": quality, "bpp": float(np.mean(bpp)), "psnr_rgb": float(np.mean(psnr)),
                     "encode_s_per_image": t_enc / len(paths), "decode_s_per_image": t_dec / len(paths)}
            points.append(point)
            print(f"q {quality:4.1f}  bpp {point['bpp']:.4f}  PSNR {point['psnr_rgb']:.2f} dB  "
                  f"enc {point['encode_s_per_image']:.2f} s  dec {point['decode_s_per_image']:.2f} s", flush=True)
    result = {"model": model.name, "weights_sha256": model.digest.hex(), "images": str(args.images),
              "count": len(paths), "points": points}
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
