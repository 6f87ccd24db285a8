"""Everything the first GPU run should measure, in one script and one JSON file.

    python benchmarks/gpu_check.py --out benchmarks/results/gpu-check.json   # needs a CUDA GPU
    python benchmarks/gpu_check.py --dry-run --out /tmp/gpu-check-dry.json  # anywhere, about a minute

Sections (each writes into the JSON as soon as it ends, so a timeout keeps what finished;
an error in one is recorded there and the others still run):

* ``determinism``: every Kodak image at quality 3, encoded on the CPU and decoded on the GPU,
  and encoded on the GPU and decoded on the CPU (``benchmarks/determinism_kodak.py``'s
  comparison): whether the decoded latent equals the encoder's (it must: fixed-point entropy
  parameters, ``bitstream-spec.md`` 3.1) and how many pixels differ (float synthesis);
* ``speed``: encode and decode milliseconds on the GPU of kodim01 at 768x512 and resized to
  3840x2160 (``benchmarks/speed.py``'s timing, best of ``--repeats``), with the Triton kernels
  (``LIC_KERNELS=1``) and without (``LIC_KERNELS=0``), whether both give the same bytes, and
  how far a stream encoded without them decodes from the encoder's pixels, through them and
  without them (the H200 run of 2026-12-04 found the first not identical, without counting);
* ``training``: steps per second of ``elic-s`` at batch 16 x 256 px in bf16 autocast through
  the real training loop (``lic.train.loop.train``), after one logging period of warm-up.

``--dry-run`` runs all of it on the CPU on tiny inputs (one 64x64 Kodak crop, 128x64 for
"4K", three training steps at batch 2 x 64 px): the "GPU" is the CPU with ``LIC_KERNELS=1``,
the kernels running under the Triton interpreter. It proves the script and the kernels run
end to end; its numbers mean nothing.
"""

from __future__ import annotations

import os
import sys

if "--dry-run" in sys.argv:
    os.environ.setdefault("TRITON_INTERPRET", "1")  # read when torch first imports Triton
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS for the encoder side

import argparse
import csv
import json
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from determinism_kodak import compare_image, summary
from PIL import Image
from speed import test_image, time_lic

from lic.codec.image import decode_image, encode_image
from lic.hardware import machine_description
from lic.kernels.selection import kernel_setting
from lic.models.weights import LoadedModel, load_model
from lic.train.config import TrainConfig
from lic.train.loop import train

QUALITY = 3.0


@dataclass(frozen=True)
class Plan:
    """What one run measures, and on what."""

    gpu: str
    gpu_kernels: str
    crop: int | None
    max_images: int | None
    sizes: dict[str, tuple[int, int]]
    repeats: int
    train_steps: int
    train_batch: int
    train_crop: int
    train_log_every: int


FULL = Plan(gpu="cuda", gpu_kernels="1", crop=None, max_images=None,
            sizes={"kodak": (768, 512), "3840x2160": (3840, 2160)}, repeats=3,
            train_steps=120, train_batch=16, train_crop=256, train_log_every=20)
DRY_RUN = Plan(gpu="cpu", gpu_kernels="1", crop=64, max_images=1, sizes={"kodak": (64, 64), "3840x2160": (128, 64)},
               repeats=1, train_steps=3, train_batch=2, train_crop=64, train_log_every=1)


def kodak_images(folder: Path, plan: Plan) -> list[tuple[str, np.ndarray]]:
    """The Kodak images (top-left ``plan.crop`` squares in a dry run)."""
    paths = sorted(folder.glob("kodim*.png"))[: plan.max_images]
    if not paths:
        if plan.crop is None:
            raise FileNotFoundError(f"no kodim*.png in {folder} (give --kodak)")
        return [("sample", test_image(folder, plan.crop, plan.crop))]
    images = []
    for path in paths:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"))
        images.append((path.name, pixels[: plan.crop, : plan.crop] if plan.crop else pixels))
    return images


def determinism(plan: Plan, images: list[tuple[str, np.ndarray]], cpu_model: LoadedModel,
                gpu_model: LoadedModel) -> dict:
    """Both directions of CPU <-> GPU coding on every image: exact latents, differing pixels."""
    report = {}
    directions = {"cpu_to_gpu": (cpu_model, gpu_model, "0", plan.gpu_kernels),
                  "gpu_to_cpu": (gpu_model, cpu_model, plan.gpu_kernels, "0")}
    for name, (encoder, decoder, encode_kernels, decode_kernels) in directions.items():
        rows = []
        for image, pixels in images:
            rows.append({"image": image, **compare_image(pixels, encoder, decoder, QUALITY, 4, 4,
                                                         encode_kernels, decode_kernels)})
            print(name, rows[-1], flush=True)
        report[name] = {**summary(rows), "rows": rows}
    return report


def speed(plan: Plan, kodak: Path, gpu_model: LoadedModel) -> dict:
    """GPU milliseconds with and without the kernels, and whether both paths agree."""
    report = {}
    for size, (width, height) in plan.sizes.items():
        pixels = test_image(kodak, width, height)
        row: dict = {"width": width, "height": height}
        streams = {}
        for label, setting in (("kernels", plan.gpu_kernels), ("torch", "0")):
            with kernel_setting(setting):
                timing = time_lic(pixels, plan.repeats, gpu_model)
                streams[label] = encode_image(pixels, gpu_model, QUALITY)
            row[label] = {phase: {"ms": 1000 * timing[phase]["seconds"]} for phase in ("encode", "decode")}
            print(size, label, row[label], flush=True)
        row["decode_speedup"] = row["torch"]["decode"]["ms"] / row["kernels"]["decode"]["ms"]
        row["same_bytes"] = streams["kernels"].data == streams["torch"].data
        expected = streams["torch"].reconstruction
        for label, setting in (("kernels", plan.gpu_kernels), ("torch", "0")):
            with kernel_setting(setting):
                decoded, _ = decode_image(streams["torch"].data, gpu_model)
            difference = np.abs(decoded.astype(np.int16) - expected.astype(np.int16))
            row[f"torch_stream_through_{label}"] = {"identical": bool(not difference.any()),
                                                    "values_differing": int(np.count_nonzero(difference)),
                                                    "max_difference": int(difference.max())}
        report[size] = row
    return report


def training(plan: Plan, train_dir: Path, device: str) -> dict:
    """Steps per second of elic-s in bf16 through the training loop, after a warm-up period."""
    with tempfile.TemporaryDirectory() as tmp:
        folders = [str(train_dir)]
        data = str(train_dir)
        if not train_dir.is_dir():
            folders, data = [_noise_images(Path(tmp) / "noise", plan.train_crop)], "random noise images"
        config = TrainConfig(model="elic-s", train_dirs=folders, val_dir="", out_dir=str(Path(tmp) / "run"),
                             steps=plan.train_steps, batch_size=plan.train_batch, crop=plan.train_crop,
                             log_every=plan.train_log_every, checkpoint_every=10**9, validate_every=10**9,
                             device=device, amp="bf16", progress=False)
        train(config)
        with open(Path(tmp) / "run" / "log.csv", newline="") as log:
            rows = list(csv.DictReader(log))
    first, last = rows[0], rows[-1]
    steps = int(last["step"]) - int(first["step"])
    seconds = float(last["wall_s"]) - float(first["wall_s"])
    return {"model": "elic-s", "batch": plan.train_batch, "crop": plan.train_crop, "amp": "bf16 autocast",
            "data": data, "steps_timed": steps, "seconds": seconds,
            "steps_per_second": steps / seconds if seconds > 0 else None,
            "warm_up_steps": int(first["step"])}


def _noise_images(folder: Path, crop: int, count: int = 16) -> str:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (2 * crop, 2 * crop, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return str(folder)


def main() -> int:
    """Runs the three sections, writing ``--out`` after each; non-zero exit if one failed."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--kodak", type=Path, default=Path("../shared/datasets/kodak"))
    parser.add_argument("--train-dir", type=Path, default=Path("../shared/datasets/train"),
                        help="training images (random noise images when the folder does not exist)")
    parser.add_argument("--dry-run", action="store_true", help="everything on the CPU, tiny inputs (see above)")
    parser.add_argument("--sections", nargs="+", default=["determinism", "speed", "training"],
                        choices=["determinism", "speed", "training"])
    args = parser.parse_args()
    plan = DRY_RUN if args.dry_run else FULL
    if not args.dry_run and not torch.cuda.is_available():
        print("gpu_check: no CUDA device (use --dry-run to check the script on the CPU)", file=sys.stderr)
        return 2
    start = time.perf_counter()
    report: dict = {"dry_run": args.dry_run, "plan": asdict(plan), "quality": QUALITY,
                    "cpu": machine_description(torch.device("cpu")),
                    "gpu": machine_description(torch.device(plan.gpu)) if plan.gpu == "cuda" else "none (dry run)",
                    "torch": torch.__version__, "triton": _triton_version(), "sections_seconds": {}}
    cpu_model = load_model(device="cpu")
    gpu_model = load_model(device=plan.gpu)
    sections: dict[str, Callable[[], dict]] = {
        "determinism": lambda: determinism(plan, kodak_images(args.kodak, plan), cpu_model, gpu_model),
        "speed": lambda: speed(plan, args.kodak, gpu_model),
        "training": lambda: training(plan, args.train_dir, plan.gpu),
    }
    failed = False
    for name in args.sections:
        began = time.perf_counter()
        try:
            report[name] = sections[name]()
        except Exception as exc:  # noqa: BLE001 - one failed section must not lose the others' GPU time
            failed = True
            report[name] = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
            print(f"gpu_check: section {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        report["sections_seconds"][name] = time.perf_counter() - began
        report["seconds"] = time.perf_counter() - start
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k not in ("determinism", "plan")}, indent=2, default=str))
    return 1 if failed else 0


def _triton_version() -> str | None:
    try:
        import triton
    except ImportError:
        return None
    return triton.__version__


if __name__ == "__main__":
    sys.exit(main())
