"""``lic plot``: RD chart of results files and published curves."""

from __future__ import annotations

import argparse
from pathlib import Path

from lic.cli.results import curve_sources


def run(args: argparse.Namespace) -> int:
    """``lic plot``: writes the chart files."""
    from lic.eval.plot import plot_rd

    curves = curve_sources(args.curves, args.dataset)
    plot_rd(curves, [Path(o) for o in args.output], args.metric, args.title, args.force)
    for out in args.output:
        print(f"wrote {out}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Adds the command to the ``lic`` parser."""
    from lic.eval.results import METRICS

    p = sub.add_parser("plot", help="RD chart of results files and published curves (PNG, SVG, PDF)")
    p.add_argument("curves", nargs="+", metavar="CURVE", help="results files or published keys (vtm, bpg, ...)")
    p.add_argument("-o", "--output", nargs="+", required=True, help="chart files, e.g. rd.png rd.svg")
    p.add_argument("--metric", default="psnr-rgb", choices=METRICS, help="quality axis (default psnr-rgb)")
    p.add_argument("--title", default="", help="chart title")
    p.add_argument("--dataset", default="kodak", choices=["kodak"], help="dataset of the published curves")
    p.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
    p.set_defaults(func=run)
