"""``lic bdrate``: BD-rate and BD-PSNR between RD results files or published curves."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lic.cli.results import curve_source, curve_sources
from lic.errors import LicError


def run(args: argparse.Namespace) -> int:
    """``lic bdrate``: a table (or ``--json``) of BD-rate and BD-quality."""
    from lic.eval.anchors import published_results
    from lic.eval.bd_rows import bd_row, per_image_rows

    if len(args.curves) == 1:
        published = published_results(args.dataset)
        unknown = sorted(set(args.anchor or []) - set(published))
        if unknown:
            raise LicError(f"unknown anchor {', '.join(unknown)}; known: {', '.join(published)}")
        tests = [curve_source(args.curves[0], args.dataset)]
        anchors = [published[k] for k in (args.anchor or published)]
    else:
        if args.anchor:
            raise LicError("--anchor goes with a single results file; with several, the first is the anchor")
        anchor, *tests = curve_sources(args.curves, args.dataset)
        anchors = [anchor]
    if args.per_image:
        rows = [row for test in tests for anchor in anchors for row in per_image_rows(test, anchor, args.metric)]
    else:
        rows = [bd_row(test, anchor, args.metric) for test in tests for anchor in anchors]
    if args.json:
        print(json.dumps({"metric": args.metric, "rows": rows}, indent=2))
        return 0
    unit = "dB" if args.metric != "ms-ssim-rgb" else ""
    print(f"BD-rate ({args.metric}; negative = fewer bits than the anchor at equal quality), "
          f"BD-{args.metric} (positive = better at equal rate)")
    for row in rows:
        label = f"{row['test']} vs {row['anchor']}" if "image" not in row else \
            f"{Path(row['image']).stem}: {row['test']} vs {row['anchor']}"
        if row["bd_rate_percent"] is None:
            print(f"  {label:44s}     n/a   ({row['error']})")
            continue
        if "quality_range" not in row:  # the mean of the per-image rows
            print(f"  {label:44s} {row['bd_rate_percent']:+8.2f} %")
            continue
        lo, hi = row["quality_range"]
        warning = f"  WARNING: curves overlap on only {row['overlap']:.0%} of the test's range" \
            if row["overlap"] < 0.5 else ""
        delta = "    n/a" if row["bd_psnr_db"] is None else f"{row['bd_psnr_db']:+7.3f}"
        print(f"  {label:44s} {row['bd_rate_percent']:+8.2f} %  {delta} {unit}  "
              f"over {lo:.2f}-{hi:.2f}{warning}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Adds the command to the ``lic`` parser."""
    from lic.eval.results import METRICS

    p = sub.add_parser("bdrate", help="BD-rate and BD-PSNR between RD results files or published curves")
    p.add_argument("curves", nargs="+", metavar="CURVE",
                   help="results files (lic eval / lic bench / CompressAI layout) or published keys (vtm, bpg, "
                        "jpeg, ...). One: compared with every published curve. Several: the first is the anchor")
    p.add_argument("--anchor", nargs="+", help="with one CURVE: only these published anchors")
    p.add_argument("--metric", default="psnr-rgb", choices=METRICS, help="quality metric (default psnr-rgb)")
    p.add_argument("--dataset", default="kodak", choices=["kodak"], help="dataset of the published curves")
    p.add_argument("--per-image", action="store_true",
                   help="one row per image both files measured (their per_image lists), and the mean")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)
