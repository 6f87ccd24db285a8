"""The results table of an overfit preset on the six images (docs/overfit.md), from results files.

    python benchmarks/overfit_table.py benchmarks/results/six-overfit-fast.json \\
        --anchors benchmarks/results/six-vtm.json benchmarks/results/six-x265.json benchmarks/results/six-avif.json

Prints a Markdown table: per image, the BD-rate (PSNR-RGB) against each anchor (both files'
``per_image`` lists, as ``lic bdrate --per-image``), the encode CPU seconds of a point (all its
fits; ``meta.per_point`` of ``overfit_six.py`` / ``overfit_best.py``) and the decode wall seconds;
then the mean of the per-image BD-rates and the BD-rate of the mean curves (``lic bdrate``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lic.eval.bdrate import bd_rate
from lic.eval.results import RDResults


def _bd(test: RDResults, anchor: RDResults) -> float | None:
    try:
        return bd_rate(test.curve(), anchor.curve())
    except ValueError:
        return None


def _cell(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f} %"


def table(curve: RDResults, anchors: list[RDResults]) -> list[str]:
    """The Markdown lines of the table."""
    points = curve.meta.get("per_point", [])
    header = ["image", *(f"vs {a.name}" for a in anchors), "encode CPU s per point (all fits)", "decode s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    mine = curve.images()
    per_anchor: list[list[float]] = [[] for _ in anchors]
    for source, results in mine.items():
        cells = []
        for i, anchor in enumerate(anchors):
            value = _bd(results, anchor.images()[source]) if source in anchor.images() else None
            cells.append(_cell(value))
            if value is not None:
                per_anchor[i].append(value)
        cpu = [p["encoding_cpu_seconds"] for p in points if p["image"] == source]
        decode = results.results.get("decoding_time", [])
        cpu_cell = f"{min(cpu):.0f}–{max(cpu):.0f}" if cpu else "–"
        decode_cell = f"{min(decode):.2f}–{max(decode):.2f}" if decode else "–"
        lines.append(f"| {Path(source).stem} | " + " | ".join(cells) + f" | {cpu_cell} | {decode_cell} |")
    means = [_cell(float(np.mean(v)) if v else None) for v in per_anchor]
    lines.append(f"| mean of the {len(mine)} per-image BD-rates | " + " | ".join(means) + " | | |")
    complete = all(n == len(mine) for n in curve.results.get("images", []))  # every point over every image
    whole = [_cell(_bd(curve, anchor)) if complete and set(anchor.images()) == set(mine) else "n/a (other images)"
             for anchor in anchors]
    lines.append("| mean curves (`lic bdrate`) | " + " | ".join(whole) + " | | |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("curve", type=Path, help="overfit_six.py / overfit_best.py summary")
    parser.add_argument("--anchors", type=Path, nargs="+", required=True, help="results files with per_image")
    args = parser.parse_args()
    print("\n".join(table(RDResults.read(args.curve), [RDResults.read(a) for a in args.anchors])))


if __name__ == "__main__":
    main()
