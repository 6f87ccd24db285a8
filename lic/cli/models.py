"""``lic models``: registered models with their size and complexity."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    """``lic models``: one line per registered model."""
    from lic.models import overfit
    from lic.models.complexity import describe
    from lic.models.inr import InrCodec, macs_per_pixel, parameter_count
    from lic.models.registry import get_spec, model_names
    from lic.models.weights import default_quality, shipped_weights_path

    for name in model_names():
        spec = get_spec(name)
        module = spec.build()
        if isinstance(module, InrCodec):  # fitted per clip: the size of the default level's network
            shape = module.shape_at(default_quality(module.rate_levels))
            params, macs = parameter_count(shape), macs_per_pixel(shape)
        elif isinstance(module, overfit.OverfitCodec):  # fitted per image: the default network size
            shape = overfit.OverfitShape()
            params, macs = overfit.parameter_count(shape), overfit.macs_per_pixel(shape)
        else:
            params, macs = describe(module)
        shipped = "weights shipped" if shipped_weights_path(name).exists() else "no weights"
        print(f"{name:18s} {params / 1e6:6.2f} M params {macs / 1e3:7.1f} kMAC/pixel  {shipped}  {spec.description}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Adds the command to the ``lic`` parser."""
    p = sub.add_parser("models", help="list registered models with parameters and MACs per pixel")
    p.set_defaults(func=run)
