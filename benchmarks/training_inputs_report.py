"""Issue 17, step 1: what a trained elic-s was given: its configured lambdas and learned gains,
and how its training photos were prepared (JPEG quantization tables, chroma subsampling, sizes),
with the PSNR that the same JPEG settings give on Kodak (the noise floor of the training data).

    python benchmarks/training_inputs_report.py -o benchmarks/results/issue17/training-inputs.json
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image, JpegImagePlugin

from lic.models.weights import load_model
from lic.train.config import TrainConfig


def gains_report(weights: str | None) -> dict:
    """Configured lambdas of the run and the mean learned log-gain per level (with its start)."""
    model = load_model("elic-s", Path(weights) if weights else None)
    training = json.loads(model.metadata["lic.training"])
    fields = set(TrainConfig.__dataclass_fields__)
    lambdas = TrainConfig(**{k: v for k, v in training["config"].items() if k in fields}).rd_lambdas
    start = 0.5 * (np.log(lambdas) - np.mean(np.log(lambdas)))  # ElicModel.initialize_gains
    gain = model.module.gain.log_gain.detach().numpy()
    inverse = model.module.inverse_gain.log_gain.detach().numpy()
    return {"lambdas": lambdas, "levels": [
        {"level": i, "log_gain_mean": float(gain[i].mean()), "log_gain_std": float(gain[i].std()),
         "log_gain_start": float(start[i]), "inverse_log_gain_mean": float(inverse[i].mean())}
        for i in range(len(lambdas))]}


def data_report(folders: list[str]) -> dict:
    """Luma quantization table (first entries), chroma subsampling and short sides of the photos."""
    tables, sampling, short = collections.Counter(), collections.Counter(), []
    for folder in folders:
        for path in sorted(Path(folder).iterdir()):
            if path.suffix.lower() not in (".jpg", ".jpeg"):
                continue
            with Image.open(path) as im:
                tables[str(im.quantization[0][:4])] += 1
                sampling[{0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}.get(JpegImagePlugin.get_sampling(im), "other")] += 1
                short.append(min(im.size))
    return {"images": len(short), "luma_table_first_entries": dict(tables), "subsampling": dict(sampling),
            "short_side": {"min": int(min(short)), "median": float(np.median(short)), "max": int(max(short))}}


def jpeg_floor(images: list[str], quality: int) -> list[dict]:
    """PSNR-RGB and bpp of re-encoding each image as the training photos were saved."""
    rows = []
    for path in images:
        with Image.open(path) as im:
            original = im.convert("RGB")
        buf = io.BytesIO()
        original.save(buf, "JPEG", quality=quality, subsampling=0, optimize=True)
        a = np.asarray(original, dtype=np.float64)
        b = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"), dtype=np.float64)
        rows.append({"image": Path(path).name, "bpp": len(buf.getvalue()) * 8 / (a.shape[0] * a.shape[1]),
                     "psnr": 10 * math.log10(255**2 / np.mean((a - b) ** 2))})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=None, help="elic-s weights (default: the shipped ones)")
    parser.add_argument("--train-dirs", nargs="+", default=["../shared/datasets/train", "../shared/datasets/train2"])
    parser.add_argument("--kodak", nargs="+",
                        default=[f"../shared/datasets/kodak/kodim{i:02d}.png" for i in (1, 5, 13, 23)])
    parser.add_argument("--jpeg-quality", type=int, default=95)
    parser.add_argument("-o", "--output", default="")
    args = parser.parse_args()
    report = {"gains": gains_report(args.weights), "training_data": data_report(args.train_dirs),
              f"kodak_jpeg_q{args.jpeg_quality}_444": jpeg_floor(args.kodak, args.jpeg_quality)}
    text = json.dumps(report, indent=1)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")


if __name__ == "__main__":
    main()
