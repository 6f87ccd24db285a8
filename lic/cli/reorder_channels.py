"""``lic reorder-channels``: order a trained model's latent channels by importance."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lic.cli.common import check_output
from lic.errors import LicError


def run(args: argparse.Namespace) -> int:
    """``lic reorder-channels``: writes the reordered weights."""
    from lic.models.channel_order import channel_importance, reorder_channels
    from lic.models.elic import ElicModel
    from lic.models.weights import load_model, save_weights

    out = Path(args.output)
    check_output(out, args.force)
    model = load_model(args.model, args.weights)
    if not isinstance(model.module, ElicModel):
        raise LicError(f"model {args.model} has no channel slices to reorder")
    quality = model.default_quality if args.quality is None else args.quality
    importance = channel_importance(model.module, quality)
    scores = importance.scores[importance.order]
    share = float(scores[:16].sum() / scores.sum())
    print(f"{model.name} (weights {model.digest.hex()[:16]}), importance at quality {quality:g}: the top 16 of "
          f"{len(scores)} channels carry {share:.1%}; max/median {float(scores[0] / scores.median()):.1f}x")
    print(f"order (most important first): {importance.order}")
    print(f"slices of equal importance: {importance.groups} (the model's: {model.module.config.groups})")
    print(f"redundant channel pairs (synthesis filters, cosine > 0.9): {len(importance.redundant_pairs)}")
    reorder_channels(model.module, importance.order)
    training = json.loads(model.metadata.get("lic.training", "{}"))
    training["reordered"] = {"from_weights": model.digest.hex(), "quality": quality, "order": importance.order}
    digest = save_weights(model.name, model.module, out, training)
    print(f"wrote {out} (weights {digest.hex()[:16]}); its context model must be fine-tuned before use: "
          f"lic train with init_weights = \"{out}\"")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Adds the command to the ``lic`` parser."""
    from lic.models import DEFAULT_MODEL

    p = sub.add_parser("reorder-channels", help="order a trained model's latent channels by importance estimated "
                                                "from its weights (ISCS); fine-tune the result before use")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"model name (default {DEFAULT_MODEL})")
    p.add_argument("--weights", type=Path, help="weights to reorder instead of the shipped ones")
    p.add_argument("-q", "--quality", type=float, default=None, help="quality the importance is taken at "
                                                                      "(default: the model's default)")
    p.add_argument("-o", "--output", required=True, help="reordered weights (.safetensors)")
    p.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")
    p.set_defaults(func=run)
