"""``lic eval``: RD points of a model on images, through real ``.lic`` files."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from lic.cli.common import check_output, device_option
from lic.cli.distributed import check_ray_input, ray_option
from lic.cli.overfit import PRESET_NAMES
from lic.cli.results import collect_images, write_results
from lic.errors import LicError
from lic.models import OVERFIT_MODEL


def run(args: argparse.Namespace) -> int:
    """``lic eval``: RD points through real files, locally or on Ray."""
    from lic.codec.refine import RefineConfig
    from lic.eval.rd import evaluate
    from lic.models.weights import load_model, resolve_device

    if args.output:
        check_output(Path(args.output), args.force)
    if args.workers is not None and args.ray is None:
        raise LicError("--workers goes with --ray (lic eval otherwise runs in one process)")
    check_ray_input(args, folder=True)
    images = collect_images(args.images)
    encoder, fit, name, extra = None, None, None, {}
    device = args.device if args.ray is None else "cpu"
    if args.mode == "overfit":
        from lic.cli.overfit import overfit_encoder

        args.model = OVERFIT_MODEL
        model = load_model(args.model, args.weights)  # tables only: the fits run on the device
        encoder, fit, name, extra = overfit_encoder(model, args.preset, args.fit_steps, str(resolve_device(device)))
    elif args.preset or args.fit_steps:
        raise LicError("--preset and --fit-steps are for --mode overfit")
    else:
        model = load_model(args.model, args.weights, device)
    qualities = [float(q) for q in args.qualities or range(model.module.rate_levels)]
    if args.ray is not None:
        from lic.cli.distributed import eval_on_ray

        results = eval_on_ray(args, model, images, qualities, fit, name)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            results = evaluate(model, images, qualities, Path(tmp), progress=print, refine=RefineConfig(args.refine),
                               encoder=encoder, name=name)
    results.meta.update(extra)
    results.meta["inputs"] = list(args.images)
    write_results(results, args.output, args.force)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Adds the command to the ``lic`` parser."""
    from lic.models import DEFAULT_MODEL

    p = sub.add_parser("eval", help="RD points of a model on images, through real .lic files")
    p.add_argument("images", nargs="+", help="image files or folders (e.g. ../shared/datasets/kodak)")
    p.add_argument("-q", "--qualities", type=float, nargs="+", help="qualities (default: every trained level)")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"model name (default {DEFAULT_MODEL})")
    p.add_argument("--weights", type=Path, help="weights file to use instead of the shipped one")
    p.add_argument("--refine", type=int, default=0, metavar="N", help="encode-time latent refinement steps")
    p.add_argument("--mode", choices=["overfit"], default=None,
                   help="overfit: fit a codec to each image (lic encode --mode overfit) instead of --model")
    p.add_argument("--preset", choices=PRESET_NAMES, default=None,
                   help="--mode overfit: fitting budget (default fast)")
    p.add_argument("--fit-steps", type=int, default=None, metavar="N", help="--mode overfit: optimizer steps")
    p.add_argument("-o", "--output", help="write the results as JSON (CompressAI's results layout)")
    p.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")
    ray_option(p, "only with --ray (without it lic eval runs in one process)")
    device_option(p)
    p.set_defaults(func=run)
