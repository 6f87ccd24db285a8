"""Per-point coded RD cost of one set of overfit points against another (same images and qualities).

    python benchmarks/overfit_point_costs.py benchmarks/results/overfit-slow-seed0 \\
        benchmarks/results/overfit-medium-soap-seed0

Each argument is a folder of point JSONs as ``benchmarks/overfit_six.py`` writes them (a workdir's
``points/`` or their committed copy). For every (image, quality) in both, prints the relative
difference of ``MSE + lambda * bpp`` (:func:`overfit_best.rd_cost`, lower is better) and the new
point's encode CPU seconds, then the mean and how many points are lower. Before a whole curve
exists (a BD-rate needs four qualities per image), this compares two recipes point by point; with
the same seed, both fits start from the same networks and latents.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from overfit_best import rd_cost

from lic.models.weights import load_model


def point_costs(folder: Path) -> dict[tuple[str, float], dict]:
    """The points of a folder by (image, quality)."""
    points = (json.loads(f.read_text()) for f in sorted(folder.glob("*.json")))
    return {(p["image"], p["quality"]): p for p in points}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("new", type=Path)
    parser.add_argument("old", type=Path)
    args = parser.parse_args()
    config = load_model("overfit").module.config
    new, old = point_costs(args.new), point_costs(args.old)
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
