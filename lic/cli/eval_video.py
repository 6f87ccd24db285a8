"""``lic eval-video``: RD points of lic on video clips, through real ``.lic`` files."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from lic.cli.common import check_output, device_option
from lic.cli.results import write_results
from lic.models import DEFAULT_VIDEO_MODEL


def run(args: argparse.Namespace) -> int:
    """``lic eval-video``: RD points of a model on clips."""
    from lic.codec.inr import FitConfig
    from lic.eval.video_rd import evaluate_video
    from lic.models.weights import load_model

    if args.output:
        check_output(Path(args.output), args.force)
    model = load_model(args.model, args.weights, args.device)
    qualities = args.qualities or list(range(model.module.rate_levels))
    with tempfile.TemporaryDirectory() as tmp:
        results = evaluate_video(model, [Path(c) for c in args.clips], [float(q) for q in qualities], Path(tmp),
                                 args.frames, progress=print, intra_period=args.intra_period,
                                 fit=FitConfig(steps=args.inr_steps) if args.inr_steps else None)
    write_results(results, args.output, args.force)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Adds the command to the ``lic`` parser."""
    p = sub.add_parser("eval-video", help="RD points of lic on video clips, through real .lic files")
    p.add_argument("clips", nargs="+", help="video files or folders of PNG frames")
    p.add_argument("-q", "--qualities", type=float, nargs="+", help="qualities (default: every trained level)")
    p.add_argument("--frames", type=int, help="code at most this many frames of each clip")
    p.add_argument("--model", default=DEFAULT_VIDEO_MODEL, help=f"model name (default {DEFAULT_VIDEO_MODEL})")
    p.add_argument("--intra-period", type=int, default=None, metavar="N",
                   help="an intra frame every N frames (default: 8 for a video model; 1: all intra); "
                        "for the INR model (nerv), frames per fitted network (default 32)")
    p.add_argument("--inr-steps", type=int, default=None, metavar="N",
                   help="INR model: optimizer steps per group of frames (default 1500)")
    p.add_argument("--weights", type=Path, help="weights file to use instead of the shipped one")
    p.add_argument("-o", "--output", help="write the results as JSON")
    p.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")
    device_option(p)
    p.set_defaults(func=run)
