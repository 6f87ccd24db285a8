"""RD points of ``lic encode --mode overfit`` on the six evaluation images, resumable.

Each (image, quality) point is encoded to a real ``.lic`` file, read back, decoded and checked
bit-exact against the encoder's reconstruction (as ``lic eval --mode overfit`` does for any one
point); its figures go to ``WORKDIR/points/<image>-q<quality>.json`` as soon as it is done, so
a rerun skips finished points. The summary (CompressAI layout: one point per quality, the mean
over the images that have it, plus every image's own figures in ``per_image``, as ``lic eval``
writes them, so ``lic bdrate --per-image ANCHOR SUMMARY`` compares image by image) is rewritten
after each point.

    nice -n 10 python benchmarks/overfit_six.py --preset fast -q 1 3 5 7 \\
        --workdir runs/overfit-fast -o benchmarks/results/overfit-fast-six.json

``--device cuda`` fits on a GPU (``lic encode --mode overfit --device cuda``; quantizing, coding and
the decode check stay on the CPU): another float path than a CPU fit, so other streams of the same
preset and seed; each point records where it was fitted (``fit_device``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from overfit_recipe import overridden
from PIL import Image

from lic.cli.overfit import preset_fit
from lic.codec.image import decode_image
from lic.codec.overfit import encode_overfit
from lic.codec.overfit_fit import PRESETS
from lic.eval.points import measure_round_trip
from lic.hardware import machine_description, usable_cores
from lic.io.imageio import read_image
from lic.models.weights import load_model

SIX = ("kodim01", "kodim04", "kodim08", "kodim14", "kodim19", "kodim23")


def _cpu_seconds() -> float:
    """CPU seconds of this process and of its finished children (restarts fitted in other processes)."""
    times = os.times()
    return time.process_time() + times.children_user + times.children_system


def run_point(path: Path, quality: float, preset: str, steps: int | None, workdir: Path, seed: int | None = None,
              restarts: int | None = None, device: str = "cpu", settings: list[str] | None = None) -> dict:
    """Encodes (fitting on ``device``), decodes (on the CPU) and measures one image at one quality."""
    model = load_model("overfit")
    fit = overridden(preset_fit(preset, steps), settings or [])
    fit = replace(fit, seed=fit.seed if seed is None else seed, restarts=fit.restarts if restarts is None else restarts)
    pixels, _ = read_image(path)
    workers = usable_cores()
    encoded = None
    load_before = os.getloadavg()

    cpu = {}

    def encode() -> bytes:
        nonlocal encoded
        start = _cpu_seconds()
        encoded = encode_overfit(pixels, model, quality, fit, workers=workers, device=device)
        cpu["encode"] = _cpu_seconds() - start
        return encoded.data

    def decode(data: bytes) -> np.ndarray:
        start = time.process_time()
        pixels = decode_image(data, model)[0]
        cpu["decode"] = time.process_time() - start
        return pixels

    measurement, decoded = measure_round_trip(pixels, encode, decode, workdir / f"{path.stem}-q{quality:g}.lic")
    Image.fromarray(encoded.reconstruction).save(workdir / f"{path.stem}-q{quality:g}.recon.png")
    return {"image": path.name, "quality": quality, "bpp": measurement.bpp, "psnr-rgb": measurement.psnr,
            "ms-ssim-rgb": measurement.ms_ssim, "encoding_time": measurement.encode_seconds,
            "decoding_time": measurement.decode_seconds,
            "encoding_cpu_seconds": cpu["encode"], "decoding_cpu_seconds": cpu["decode"],
            "exact": bool(np.array_equal(decoded, encoded.reconstruction)),
            "reconstruction_sha256": hashlib.sha256(np.ascontiguousarray(encoded.reconstruction)).hexdigest(),
            "steps": fit.steps, "coarse_steps": fit.coarse_steps, "seed": fit.seed,
            "lr": fit.lr, "latent_lr": fit.latent_lr, "soap": fit.soap, "clip": fit.clip, "set": settings or [],
            "hard_lr": fit.hard_lr, "hard_latent_lr": fit.hard_latent_lr,
            "exponents": list(encoded.exponents), "weight_steps": "per tensor",
            "load_average_before": list(load_before),
            "load_average_after": list(os.getloadavg()), "threads": torch.get_num_threads(),
            "restarts": fit.restarts, "workers": workers,
            "fit_device": machine_description(torch.device(device))}


def summary(points: list[dict], preset: str, qualities: list[float]) -> dict:
    """CompressAI-layout results of the finished points."""
    keys = ("bpp", "psnr-rgb", "ms-ssim-rgb", "encoding_time", "decoding_time")
    results: dict[str, list] = {"quality": [], "images": [], **{k: [] for k in keys}}
    per_image: dict[str, dict[str, list]] = {}  # image -> its own lists, as lic eval's per_image entries
    for quality in qualities:
        done = [p for p in points if p["quality"] == quality]
        if not done:
            continue
        results["quality"].append(quality)
        results["images"].append(len(done))
        for key in keys:
            results[key].append(float(np.mean([p[key] for p in done])))
    for p in sorted(points, key=lambda p: (p["image"], p["quality"])):
        row = per_image.setdefault(p["image"], {"source": p["image"], **{k: [] for k in ("quality", *keys)}})
        for key in ("quality", *keys):
            row[key].append(p[key])
    return {
        "name": f"lic-overfit-{preset}",
        "description": f"lic --mode overfit --preset {preset} on kodim01/04/08/14/19/23, through real .lic files "
                       "(decoded bit-exact with the encoder's reconstruction); each point is the mean over "
                       "results.images images; encode/decode wall-clock seconds per image (process CPU seconds "
                       "and the machine's load average in meta.per_point); reproduce: benchmarks/overfit_six.py",
        "results": results,
        "meta": {"device": machine_description(torch.device("cpu")), "torch": torch.__version__, "per_point": points},
        "per_image": list(per_image.values()),
    }


def main() -> None:
    """Runs the missing points, image by image (each image's curve is complete early), then writes the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="fast", choices=sorted(PRESETS))
    parser.add_argument("--steps", type=int, help="override the preset's steps")
    parser.add_argument("--seed", type=int, help="override the preset's seed")
    parser.add_argument("--restarts", type=int, help="override the preset's restarts")
    parser.add_argument("-q", "--qualities", type=float, nargs="+", default=[1.0, 3.0, 5.0, 7.0])
    parser.add_argument("--images", nargs="+", default=list(SIX))
    parser.add_argument("--kodak", default="../shared/datasets/kodak")
    parser.add_argument("--device", default="cpu", help="where the fits run (cpu or cuda)")
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                        help="override FitConfig fields, as benchmarks/overfit_recipe.py does")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    points_dir = args.workdir / "points"
    points_dir.mkdir(parents=True, exist_ok=True)
    for image in args.images:
        for quality in args.qualities:
            point_file = points_dir / f"{image}-q{quality:g}.json"
            if point_file.exists():
                continue
            start = time.strftime("%H:%M:%S")
            point = run_point(Path(args.kodak) / f"{image}.png", quality, args.preset, args.steps, args.workdir,
                              args.seed, args.restarts, args.device, args.set)
            partial = point_file.with_suffix(".json.partial")  # queues beside this one read points/*.json
            partial.write_text(json.dumps(point, indent=2))
            partial.replace(point_file)
            print(f"{start} {image} q{quality:g}: {point['bpp']:.4f} bpp {point['psnr-rgb']:.2f} dB, encode "
                  f"{point['encoding_time']:.0f} s, decode {point['decoding_time']:.2f} s, exact {point['exact']}",
                  flush=True)
            write_summary(points_dir, args)
    write_summary(points_dir, args)


def write_summary(points_dir: Path, args: argparse.Namespace) -> None:
    """The summary of every finished point in ``points_dir`` (any process's) to ``args.output``."""
    points = [json.loads(f.read_text()) for f in sorted(points_dir.glob("*.json"))]
    write_results(points, args.preset, args.qualities, args.output)


def write_results(points: list[dict], preset: str, qualities: list[float], output: Path) -> None:
    """The summary of ``points`` (mean curve and ``per_image``) to ``output``."""
    output.write_text(json.dumps(summary(points, preset, qualities), indent=2) + "\n")


if __name__ == "__main__":
    main()
