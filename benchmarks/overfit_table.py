"""The results table of an overfit preset on the six images (docs/overfit.md), from results files.

    python benchmarks/overfit_table.py benchmarks/results/six-overfit-fast.json \\
        --anchors benchmarks/results/six-vtm.json benchmarks/results/six-x265.json benchmarks/results/six-avif.json

Prints a Markdown table: per image, the BD-rate (PSNR-RGB) against each anchor (both files'
``per_image`` lists: the rows of ``lic bdrate --per-image``), the encode CPU seconds of a point (all its
fits; ``meta.per_point`` of ``overfit_six.py`` / ``overfit_best.py``) and the decode wall seconds;
then the mean of the per-image BD-rates and the BD-rate of the mean curves (``lic bdrate``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lic.eval.bd_rows import bd_row, per_image_rows
from lic.eval.results import RDResults


def _cell(row: dict) -> str:
    return "n/a" if row["bd_rate_percent"] is None else f"{row['bd_rate_percent']:+.2f} %"


def table(curve: RDResults, anchors: list[RDResults]) -> list[str]:
    """The Markdown lines of the table."""
    points = curve.meta.get("per_point", [])
    header = ["image", *(f"vs {a.name}" for a in anchors), "encode CPU s per point (all fits)", "decode s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    mine = curve.images()
    columns = [per_image_rows(curve, anchor, "psnr-rgb") for anchor in anchors]  # per image, then their mean
    by_image = [{row["image"]: row for row in column[:-1]} for column in columns]
    for source, results in mine.items():
        cells = [_cell(rows[source]) if source in rows else "n/a" for rows in by_image]
        cpu = [p["encoding_cpu_seconds"] for p in points if p["image"] == source]
        decode = results.results.get("decoding_time", [])
        cpu_cell = f"{min(cpu):.0f}–{max(cpu):.0f}" if cpu else "–"
        decode_cell = f"{min(decode):.2f}–{max(decode):.2f}" if decode else "–"
        lines.append(f"| {Path(source).stem} | " + " | ".join(cells) + f" | {cpu_cell} | {decode_cell} |")
    lines.append("| mean of the per-image BD-rates | " + " | ".join(_cell(column[-1]) for column in columns) + " | | |")
    complete = all(n == len(mine) for n in curve.results.get("images", []))  # every point over every image
    whole = [_cell(bd_row(curve, anchor, "psnr-rgb")) if complete and set(anchor.images()) == set(mine)
             else "n/a (other images)" for anchor in anchors]
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
