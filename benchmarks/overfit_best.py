"""A preset's best-of-N curve from single-seed runs of ``benchmarks/overfit_six.py``.

``lic encode --mode overfit`` with ``restarts = N`` fits seeds ``seed .. seed + N - 1`` and keeps,
per point, the candidate whose coded stream has the lowest ``MSE + lambda * bpp`` (the headers are
the same for every candidate, so file bpp ranks them as payload bpp does). Running each seed as its
own ``overfit_six.py --restarts 1 --seed S`` workdir and keeping the same candidate here gives the
same curve (``tests/test_overfit.py`` checks that the encoder's result does not depend on how its
fits are run), while each seed's run can be resumed and spread over cores or sessions:

    python benchmarks/overfit_best.py runs/of3/seed0 runs/of3/seed1 --preset fast \\
        -o benchmarks/results/six-overfit-fast.json

Only points that every workdir has are combined. Each kept point names the file it came from
(``from``) and its cost (``cost``); ``encoding_cpu_seconds`` is the sum over the candidates (the
CPU an encode spends), ``encoding_time`` the longest candidate's wall time (the fits of an encode
run side by side, one per core; a real two-core encode is a little slower: see docs/overfit.md).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from overfit_six import write_results

from lic.models.weights import load_model


def rd_cost(point: dict, lmbda: float) -> float:
    """``MSE + lambda * bpp`` of a measured point (MSE of pixels scaled to 0..1, from its PSNR-RGB)."""
    return 10 ** (-point["psnr-rgb"] / 10) + lmbda * point["bpp"]


def best_points(folders: list[Path]) -> list[dict]:
    """Per (image, quality) present in every folder of point JSONs, the candidate the encoder would keep."""
    config = load_model("overfit").module.config
    names = set.intersection(*({f.name for f in d.glob("*.json")} for d in folders))
    kept = []
    for name in sorted(names):
        files = [d / name for d in folders]
        candidates = [json.loads(f.read_text()) for f in files]
        lmbda = config.lmbda(candidates[0]["quality"])
        costs = [rd_cost(c, lmbda) for c in candidates]
        best = min(range(len(candidates)), key=costs.__getitem__)
        kept.append({**candidates[best], "cost": costs[best], "from": str(files[best]),
                     "candidate_costs": costs,
                     "encoding_cpu_seconds": sum(c["encoding_cpu_seconds"] for c in candidates),
                     "encoding_time": max(c["encoding_time"] for c in candidates)})
    return kept


def main() -> None:
    """Writes the combined summary (mean curve and ``per_image``) and says which seed each point kept."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdirs", type=Path, nargs="+", help="overfit_six.py workdirs, one per seed")
    parser.add_argument("--preset", default="fast")
    parser.add_argument("-q", "--qualities", type=float, nargs="+", default=[1.0, 3.0, 5.0, 7.0])
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    points = best_points([d / "points" for d in args.workdirs])
    write_results(points, args.preset, args.qualities, args.output)
    for image in sorted({p["image"] for p in points}):
        print(image, [f"q{p['quality']:g}: {Path(p['from']).parent.parent.name}" for p in points
                      if p["image"] == image])


if __name__ == "__main__":
    main()
