"""Per-point coded RD cost of one set of overfit points against another (same images and qualities).

    python benchmarks/overfit_point_costs.py benchmarks/results/overfit-slow-seed0 \\
        benchmarks/results/overfit-medium-soap-seed0

Each argument is a folder of point JSONs as ``benchmarks/overfit_six.py`` writes them (a workdir's
``points/`` or their committed copy). For every (image, quality) in both, prints the relative
difference of ``MSE + lambda * bpp`` (:func:`overfit_best.rd_cost`, lower is better) and the new
point's encode CPU seconds, then the mean and how many points are lower. Before a whole curve
exists (a BD-rate needs four qualities per image), this compares two recipes point by point; with
the same seed, both fits start from the same networks and latents.

``--with-new`` and ``--with-old`` add folders of other seeds to a side: each point then keeps its
lowest RD cost among them, as a best-of-N preset would (only points present in every folder of
both sides count).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from overfit_best import best_points, rd_cost

from lic.models.weights import load_model


def points_by_key(folders: list[Path]) -> dict[tuple[str, float], dict]:
    """The best-of-N points of the folders (:func:`overfit_best.best_points`) by (image, quality)."""
    return {(p["image"], p["quality"]): p for p in best_points(folders)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("new", type=Path)
    parser.add_argument("old", type=Path)
    parser.add_argument("--with-new", type=Path, nargs="+", default=[], metavar="DIR",
                        help="more fits (other seeds) of the new recipe: best of them per point")
    parser.add_argument("--with-old", type=Path, nargs="+", default=[], metavar="DIR",
                        help="more fits (other seeds) of the old recipe: best of them per point")
    args = parser.parse_args()
    config = load_model("overfit").module.config
    new = points_by_key([args.new, *args.with_new])
    old = points_by_key([args.old, *args.with_old])
    changes = []
    for key in sorted(new.keys() & old.keys()):
        lmbda = config.lmbda(key[1])
        change = rd_cost(new[key], lmbda) / rd_cost(old[key], lmbda) - 1
        changes.append(change)
        print(f"{key[0]} q{key[1]:g}: {100 * change:+.2f} %  ({new[key]['encoding_cpu_seconds']:.0f} CPU s)")
    if not changes:
        raise SystemExit("no (image, quality) in both folders")
    lower = sum(c < 0 for c in changes)
    print(f"mean {100 * sum(changes) / len(changes):+.2f} %, {lower} of {len(changes)} lower")


if __name__ == "__main__":
    main()
