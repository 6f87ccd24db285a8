"""Ablation of lic's research components at equal training budget.

Trains every run in ``--models`` with the same configuration (data, steps, crops,
schedule: the base TOML with only ``model``, ``seed`` and ``out_dir`` changed), evaluates
each on the given images through real files, and writes a Markdown table: bpp and PSNR per
quality, BD-rate against the first run, parameters, MACs/pixel and CPU encode/decode
seconds per image.

A run is ``MODEL`` or ``MODEL@SEED`` (default seed: the base configuration's). Giving the
baseline twice with two seeds (``elic-s elic-s@7 ...``) measures the seed-to-seed spread
at this budget: a variant whose BD-rate against the baseline is within that spread is not
separated from it, and the table says so.

Training resumes from each run's checkpoint and each run's results are kept beside it
(``RUNS/<run>-rd.json``, reused while it names the run's weights digest), so the script can be
re-run across short sessions, or started in several processes on disjoint runs and once
more with all of them to write the table.

    python benchmarks/ablation.py --config lic/models/pretrained/elic-s.run1.toml --steps 20000 \\
        --models elic-s elic-s@7 elic-s-swinv2 elic-s-tokenmix elic-s-eca --images ../shared/datasets/kodak \\
        --out docs/ablation.md
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lic.eval.bdrate import bd_rate
from lic.eval.rd import evaluate
from lic.eval.results import RDResults
from lic.io.imageio import list_images
from lic.models.complexity import describe
from lic.models.registry import get_spec
from lic.models.weights import LoadedModel, load_model
from lic.train.config import TrainConfig
from lic.train.loop import train


@dataclass(frozen=True)
class Run:
    """One training run of the ablation: a registered model and a seed."""

    model: str
    seed: int

    @classmethod
    def parse(cls, text: str, default_seed: int) -> Run:
        """``MODEL`` or ``MODEL@SEED``."""
        model, _, seed = text.partition("@")
        return cls(model, int(seed) if seed else default_seed)

    @property
    def label(self) -> str:
        """The run's folder name and table label."""
        return f"{self.model}@{self.seed}"


def _results(run: Run, base: TrainConfig, runs: Path, images: list[Path], qualities: list[float]) -> RDResults:
    config = dataclasses.replace(base, model=run.model, seed=run.seed, out_dir=str(runs / run.label),
                                 init_weights="")
    model = _finished(run.model, config) or load_model(run.model, train(config))
    cached = runs / f"{run.label}-rd.json"
    if cached.exists():
        results = RDResults.from_json(cached.read_text(), str(cached))
        if results.meta.get("weights_sha256") == model.digest.hex() and results.results["quality"] == qualities:
            return results
    with tempfile.TemporaryDirectory() as tmp:
        results = evaluate(model, images, qualities, Path(tmp), progress=print)
    cached.write_text(results.to_json())
    return results


def _finished(name: str, config: TrainConfig) -> LoadedModel | None:
    """The run's final weights if it has reached ``config.steps`` (training again would
    rewrite them with new timing metadata, and so a new digest)."""
    final = Path(config.out_dir) / f"{name}.safetensors"
    if not final.exists():
        return None
    model = load_model(name, final)
    return model if json.loads(model.metadata.get("lic.training", "{}")).get("steps") == config.steps else None


def _bd(curve, anchor) -> float | None:  # noqa: ANN001
    try:
        return bd_rate(curve, anchor)
    except ValueError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="base training configuration (TOML)")
    parser.add_argument("--models", nargs="+", required=True,
                        help="runs, MODEL or MODEL@SEED; the first is the baseline")
    parser.add_argument("--steps", type=int, help="override the steps of the base configuration")
    parser.add_argument("--images", required=True, help="evaluation images (folder)")
    parser.add_argument("--qualities", type=float, nargs="+", default=[0, 2, 4, 6, 7])
    parser.add_argument("--runs", default="runs/ablation", help="folder of the training runs")
    parser.add_argument("--out", required=True, help="Markdown table to write")
    args = parser.parse_args()

    base = TrainConfig.from_toml(Path(args.config))
    if args.steps:
        base = dataclasses.replace(base, steps=args.steps)
    images = list_images(Path(args.images))
    runs = [Run.parse(text, base.seed) for text in args.models]
    Path(args.runs).mkdir(parents=True, exist_ok=True)
    results = {run: _results(run, base, Path(args.runs), images, args.qualities) for run in runs}

    baseline = runs[0]
    anchor = results[baseline].curve()
    repeats = [run for run in runs[1:] if run.model == baseline.model]
    spread = [bd for bd in (_bd(results[run].curve(), anchor) for run in repeats) if bd is not None]
    noise = max((abs(bd) for bd in spread), default=None)
    lines = [
        f"Training budget per run: {base.steps} steps from scratch, batch {base.batch_size} x {base.crop}px "
        f"crops, lr {base.lr} -> {base.lr_final} (cosine, {base.warmup} warm-up steps), data "
        f"{', '.join(base.train_dirs)}; evaluated through real files on the {len(images)} images of "
        f"{args.images} at qualities {', '.join(f'{q:g}' for q in args.qualities)}. Produced by "
        f"`python benchmarks/ablation.py --config {args.config} --steps {base.steps} --models "
        f"{' '.join(args.models)} --images {args.images} --out {args.out}`.",
        "",
    ]
    if noise is not None:
        lines += [f"Seed-to-seed spread of the baseline at this budget: {noise:.1f}% BD-rate. A variant within "
                  "that of the baseline is marked *not separated*: the budget cannot tell it apart.", ""]
    lines += [
        f"| run | params | kMAC/px | bpp @ q | PSNR-RGB @ q | BD-rate vs {baseline.label} | enc s | dec s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        table = results[run].results
        params, macs = describe(get_spec(run.model).build())
        bpp = " / ".join(f"{b:.3f}" for b in table["bpp"])
        psnr = " / ".join(f"{p:.2f}" for p in table["psnr-rgb"])
        bd = _bd(results[run].curve(), anchor)
        if run == baseline:
            cell = "0 (baseline)"
        elif bd is None:
            cell = "n/a (no shared quality range)"
        else:
            verdict = " (seed spread)" if run in repeats else \
                " (not separated)" if noise is not None and abs(bd) <= noise else ""
            cell = f"{bd:+.1f}%{verdict}"
        enc = sum(table["encoding_time"]) / len(args.qualities)
        dec = sum(table["decoding_time"]) / len(args.qualities)
        lines.append(f"| {run.label} | {params / 1e6:.2f} M | {macs / 1e3:.1f} | {bpp} | {psnr} | {cell} | "
                     f"{enc:.2f} | {dec:.2f} |")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(json.dumps({"written": args.out}))


if __name__ == "__main__":
    main()
