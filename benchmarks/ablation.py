"""Ablation of lic's research components at equal training budget.

Trains every model in ``--models`` with the same configuration (data, steps, crops,
schedule, seed: the base TOML with only ``model`` and ``out_dir`` changed), evaluates each
on the given images through real files, and writes a Markdown table: bpp and PSNR per
quality, BD-rate against the first model, parameters, MACs/pixel and CPU encode/decode
seconds. Training resumes from each run's checkpoint, so the script can be re-run across
short GPU sessions until every run reaches ``steps``.

    python benchmarks/ablation.py --config lic/models/pretrained/elic-s.run1.toml --steps 20000 \\
        --models elic-s elic-s-swinv2 elic-s-tokenmix elic-s-eca --images ../shared/datasets/kodak \\
        --out docs/ablation.md
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from pathlib import Path

from lic.codec.imageio import list_images
from lic.eval.bdrate import bd_rate
from lic.eval.rd import evaluate
from lic.models.complexity import describe
from lic.models.registry import get_spec
from lic.models.weights import load_model
from lic.train.config import TrainConfig
from lic.train.loop import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="base training configuration (TOML)")
    parser.add_argument("--models", nargs="+", required=True, help="registered models; the first is the baseline")
    parser.add_argument("--steps", type=int, help="override the steps of the base configuration")
    parser.add_argument("--images", required=True, help="evaluation images (folder)")
    parser.add_argument("--qualities", type=float, nargs="+", default=[0, 2, 4, 6, 7])
    parser.add_argument("--runs", default="runs/ablation", help="folder of the training runs")
    parser.add_argument("--out", required=True, help="Markdown table to write")
    args = parser.parse_args()

    base = TrainConfig.from_toml(Path(args.config))
    if args.steps:
        base.steps = args.steps
    images = list_images(Path(args.images))
    rows, curves = [], {}
    for name in args.models:
        config = dataclasses.replace(base, model=name, out_dir=str(Path(args.runs) / name), init_weights="")
        weights = train(config)
        model = load_model(name, weights)
        with tempfile.TemporaryDirectory() as tmp:
            results = evaluate(model, images, args.qualities, Path(tmp), progress=print)
        Path(args.runs, f"{name}-rd.json").write_text(results.to_json())
        params, macs = describe(get_spec(name).build())
        curves[name] = results.curve()
        rows.append((name, results, params, macs))

    baseline = curves[args.models[0]]
    lines = [
        f"Training budget per model: {base.steps} steps, batch {base.batch_size} x {base.crop}px crops, "
        f"lr {base.lr} -> {base.lr_final}, data {', '.join(base.train_dirs)}; evaluated on {len(images)} images "
        f"of {args.images}. Produced by `python benchmarks/ablation.py` (see its docstring).",
        "",
        "| model | params | kMAC/px | bpp @ q | PSNR @ q | BD-rate vs " + args.models[0] + " | enc s | dec s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, results, params, macs in rows:
        bpp = " / ".join(f"{b:.3f}" for b in results.results["bpp"])
        psnr = " / ".join(f"{p:.2f}" for p in results.results["psnr-rgb"])
        try:
            bd = "0 (baseline)" if name == args.models[0] else f"{bd_rate(curves[name], baseline):+.1f}%"
        except ValueError:
            bd = "n/a (no shared quality range)"
        enc = sum(results.results["encoding_time"]) / len(args.qualities)
        dec = sum(results.results["decoding_time"]) / len(args.qualities)
        lines.append(f"| {name} | {params / 1e6:.2f} M | {macs / 1e3:.1f} | {bpp} | {psnr} | {bd} | {enc:.2f} | {dec:.2f} |")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(json.dumps({"written": args.out}))


if __name__ == "__main__":
    main()
