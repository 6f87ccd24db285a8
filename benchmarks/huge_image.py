"""Huge images through the CLI: time, peak RSS, and the cost of tiling.

Builds a mosaic photo from the Kodak images (each upscaled 2x, Lanczos), codes it with
``lic encode`` / ``lic decode`` in child processes measured by ``/usr/bin/time``, and
checks the decoded file against the encoder's reconstruction. ``--seams`` also codes a
smaller mosaic whole (``--tile-size 0``) and tiled, and compares PSNR and bpp overall and
in 16-pixel bands along the tile borders.

    python benchmarks/huge_image.py --width 16000 --height 12000 --work /tmp/huge \\
        -o benchmarks/results/huge-16000x12000.json
    python benchmarks/huge_image.py --width 4096 --height 3072 --seams --work /tmp/seams \\
        -o benchmarks/results/tiles-4096x3072.json
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from lic.hardware import machine_description

Image.MAX_IMAGE_PIXELS = None
BAND = 16


def mosaic(kodak: Path, width: int, height: int) -> np.ndarray:
    """A ``height x width`` RGB mosaic of Kodak images upscaled 2x, row-major, cycling."""
    tiles = []
    for path in sorted(kodak.glob("kodim*.png")):
        with Image.open(path) as image:
            tiles.append(np.asarray(image.convert("RGB").resize((image.width * 2, image.height * 2), Image.LANCZOS)))
    out = np.empty((height, width, 3), np.uint8)
    index, top = 0, 0
    while top < height:
        left, row_height = 0, 1024
        while left < width:
            tile = tiles[index % len(tiles)][:row_height]
            h, w = min(tile.shape[0], height - top), min(tile.shape[1], width - left)
            out[top : top + h, left : left + w] = tile[:h, :w]
            left += w
            index += 1
        top += row_height
    return out


def psnr(a: np.ndarray, b: np.ndarray, rows: int = 256) -> float:
    """PSNR in dB, summed in chunks of rows (float64 copies of a whole 16000x12000 image need 18 GiB)."""
    total = sum(float(np.sum((a[i : i + rows].astype(np.float64) - b[i : i + rows]) ** 2))
                for i in range(0, a.shape[0], rows))
    mse = total / a.size
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def run_measured(args: list[str]) -> tuple[float, float]:
    """Runs ``lic ARGS``; returns wall seconds and peak RSS in MiB (from /usr/bin/time)."""
    start = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-f", "PEAK_KB %M", "lic", *args], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"lic {' '.join(args)} failed: {result.stderr.strip()}")
    peak_kb = int(re.search(r"PEAK_KB (\d+)", result.stderr).group(1))
    return seconds, peak_kb / 1024


def code(source: Path, pixels: np.ndarray, work: Path, name: str, extra: list[str]) -> dict:
    """Encodes and decodes ``source``; returns sizes, PSNR, times and peak memory."""
    stream, recon, decoded = work / f"{name}.lic", work / f"{name}-recon.ppm", work / f"{name}-decoded.ppm"
    enc_s, enc_mb = run_measured(["encode", str(source), "-o", str(stream), "--recon", str(recon), "--force",
                                  *extra])
    dec_s, dec_mb = run_measured(["decode", str(stream), "-o", str(decoded), "--force"])
    reconstruction = np.asarray(Image.open(recon))
    output = np.asarray(Image.open(decoded))
    info = json.loads(subprocess.run(["lic", "info", str(stream), "--json"], capture_output=True, text=True,
                                     check=True).stdout)
    return {
        "bytes": stream.stat().st_size,
        "bpp": stream.stat().st_size * 8 / (pixels.shape[0] * pixels.shape[1]),
        "psnr_rgb": psnr(pixels, output),
        "decoded_equals_encoder_reconstruction": bool(np.array_equal(reconstruction, output)),
        "tile_size": info["tile_size"],
        "tiles": len(info["tiles"]),
        "encode_seconds": round(enc_s, 1),
        "decode_seconds": round(dec_s, 1),
        "encode_peak_rss_mib": round(enc_mb),
        "decode_peak_rss_mib": round(dec_mb),
        "output": output,
    }


def border_mask(height: int, width: int, tile_size: int) -> np.ndarray:
    """Pixels within ``BAND`` of an inner tile border."""
    mask = np.zeros((height, width), bool)
    for edge in range(tile_size, height, tile_size):
        mask[max(0, edge - BAND) : edge + BAND] = True
    for edge in range(tile_size, width, tile_size):
        mask[:, max(0, edge - BAND) : edge + BAND] = True
    return mask


def main() -> None:
    """Parses arguments, builds the mosaic, codes it, writes the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, default=16000)
    parser.add_argument("--height", type=int, default=12000)
    parser.add_argument("--kodak", type=Path, default=Path("../shared/datasets/kodak"))
    parser.add_argument("--work", type=Path, required=True, help="scratch folder for the big files")
    parser.add_argument("--quality", type=float, default=3.0)
    parser.add_argument("--seams", action="store_true", help="also code the image whole and compare")
    parser.add_argument("--tile-size", type=int, default=2048)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    pixels = mosaic(args.kodak, args.width, args.height)
    source = args.work / "source.ppm"
    Image.fromarray(pixels).save(source)
    quality = ["-q", str(args.quality)]
    report = {"image": f"{args.width}x{args.height} mosaic of Kodak images upscaled 2x", "quality": args.quality,
              "machine": machine_description(torch.device("cpu")), "command": " ".join(sys.argv)}
    tiled = code(source, pixels, args.work, "tiled", [*quality, "--tile-size", str(args.tile_size)])
    if args.seams:
        whole = code(source, pixels, args.work, "whole", [*quality, "--tile-size", "0"])
        mask = border_mask(args.height, args.width, args.tile_size)
        for result in (tiled, whole):
            result["psnr_border_band"] = psnr(pixels[mask], result["output"][mask])
            result["psnr_interior"] = psnr(pixels[~mask], result["output"][~mask])
        report["whole"] = {k: v for k, v in whole.items() if k != "output"}
        report["tiled_minus_whole"] = {"psnr_db": tiled["psnr_rgb"] - whole["psnr_rgb"],
                                       "bpp_percent": 100 * (tiled["bpp"] / whole["bpp"] - 1),
                                       "border_band_psnr_db": tiled["psnr_border_band"] - whole["psnr_border_band"]}
    report["tiled"] = {k: v for k, v in tiled.items() if k != "output"}
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
