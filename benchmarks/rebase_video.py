"""Moves ``elic-s-video``'s base to the shipped ``elic-s`` weights (after a new elic-s ships).

    python benchmarks/rebase_video.py --note "the base elic-s became run 6 (elic-s.run6.toml)"

``elic-s-video`` codes its intra frames with elic-s and records the digest of the elic-s weights
it builds on (``lic.base_digest``); loading refuses any other base. Its own (refiner) tensors are
kept as they are: only ``lic.base_digest`` and the ``rebased`` record of ``lic.training`` (new and
former base digest, date, note) change. Re-measure the P-frame gain afterwards with
``benchmarks/inter_vs_intra.py`` (lic/models/pretrained/TRAINING.md).
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path

from safetensors import safe_open
from safetensors.torch import load_file, save_file

from lic.models.weights import load_model

VIDEO = Path(__file__).resolve().parent.parent / "lic/models/pretrained/elic-s-video.safetensors"


def main() -> None:
    """Rewrites the video weights file with the shipped elic-s as its base."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--note", required=True, help="what changed in the base, for lic.training.rebased")
    parser.add_argument("--weights", type=Path, default=VIDEO)
    args = parser.parse_args()
    with safe_open(args.weights, "pt") as f:
        metadata = dict(f.metadata())
    tensors = load_file(args.weights)
    base = load_model(metadata["lic.base_model"]).digest.hex()
    if base == metadata["lic.base_digest"]:
        raise SystemExit(f"{args.weights} already builds on {base[:16]}")
    training = json.loads(metadata["lic.training"])
    training["rebased"] = {"base_digest": base, "base_digest_before": metadata["lic.base_digest"],
                           "date": datetime.date.today().isoformat(), "note": args.note}
    metadata["lic.training"] = json.dumps(training, sort_keys=True)
    metadata["lic.base_digest"] = base
    save_file(tensors, args.weights, metadata)
    print(f"{args.weights}: base {metadata['lic.base_model']} {base[:16]}, "
          f"digest {load_model('elic-s-video', args.weights).digest.hex()[:16]}")


if __name__ == "__main__":
    main()
