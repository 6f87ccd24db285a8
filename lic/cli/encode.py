"""``lic encode``: an image, a folder of images, or a video into ``.lic``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from lic.cli.batch import run_batch
from lic.cli.common import finish_image_encode, finite_number, frame_rate, image_outputs, whole_number
from lic.cli.distributed import check_ray_input
from lic.cli.options import coding_options
from lic.cli.overfit import PRESET_NAMES
from lic.errors import LicError
from lic.io.output import is_stdio


def check_image_model(name: str) -> None:
    """Refuses a video or per-clip model for an image."""
    from lic.models import DEFAULT_MODEL
    from lic.models.registry import get_spec

    if get_spec(name).architecture != "elic":
        raise LicError(f"{name} is a video model; images are coded with an image model such as {DEFAULT_MODEL} "
                       "(see lic models)")


def run(args: argparse.Namespace) -> int:
    """``lic encode``: one image, a folder, or a video (by its input and ``--mode``)."""
    from lic.cli.video import cmd_encode_video
    from lic.io.imageio import read_image
    from lic.io.videoio import is_video_path
    from lic.models import DEFAULT_MODEL, INR_MODEL, OVERFIT_MODEL

    check_ray_input(args, not is_stdio(args.input) and Path(args.input).is_dir() and not args.video)
    if args.model == OVERFIT_MODEL and args.mode is None:
        args.mode = "overfit"
    if args.mode == "overfit" and not args.video and not (not is_stdio(args.input) and is_video_path(Path(args.input))):
        from lic.cli.overfit import cmd_encode_overfit

        return cmd_encode_overfit(args)
    if args.preset is not None or args.fit_steps is not None:
        raise LicError("--preset and --fit-steps are for --mode overfit")
    if args.video or (not is_stdio(args.input) and is_video_path(Path(args.input))):
        if args.mode == "overfit":
            raise LicError("--mode overfit is for images; for video use --mode frames or inr")
        if args.tile_size is not None:
            raise LicError("--tile-size is for images; video frames are coded in one piece")
        if args.mode == "inr" and args.model not in (None, INR_MODEL):
            raise LicError(f"--mode inr codes with model {INR_MODEL}, not {args.model}")
        if args.mode == "inr" and args.refine:
            raise LicError("--refine is for the frame codecs, not --mode inr")
        if args.mode != "inr" and args.inr_steps is not None:
            raise LicError("--inr-steps is for --mode inr")
        if args.model is None:
            from lic.codec.video import video_mode

            args.model = video_mode(args.mode or "frames").default_model()
        return cmd_encode_video(args)
    if args.intra_period is not None:
        raise LicError("--intra-period is for video input")
    if args.mode is not None or args.inr_steps is not None:
        raise LicError("--mode frames|inr and --inr-steps are for video input")
    args.model = args.model or DEFAULT_MODEL
    check_image_model(args.model)
    if not is_stdio(args.input) and Path(args.input).is_dir():
        return run_batch(args, "encode")
    if args.fps is not None:
        raise LicError("--fps is for video input")
    outputs = image_outputs(args)
    pixels, _ = read_image(args.input)
    from lic.codec.image import encode_image_at
    from lic.codec.refine import RefineConfig
    from lic.models.weights import load_model

    model = load_model(args.model, args.weights, args.device)
    start = time.perf_counter()
    encoded = encode_image_at(pixels, model, args.quality, args.bpp, RefineConfig(args.refine), args.tile_size)
    seconds = time.perf_counter() - start
    finish_image_encode(args, outputs, pixels, encoded, f"{seconds:.2f} s")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Adds the command to the ``lic`` parser."""
    from lic.models import DEFAULT_MODEL, DEFAULT_VIDEO_MODEL

    p = sub.add_parser("encode", help="compress an image into a .lic file")
    p.add_argument("input", help="image file (PNG, JPEG, WebP, TIFF, PPM, ...) or a folder of them; video file "
                                 "(mp4, mkv, mov, webm, y4m, avi); with --video a folder of PNG frames")
    p.add_argument("-o", "--output", required=True, help="output .lic file (output folder for a folder input)")
    p.add_argument("--video", action="store_true", help="read a folder input as the PNG frames of one video")
    p.add_argument("--fps", type=frame_rate, help="frame rate of a PNG-frame video (default 25)")
    rate = p.add_mutually_exclusive_group()
    rate.add_argument("-q", "--quality", type=finite_number, default=None,
                      help="quality, continuous from 0 (smallest file) to 7 (best) for elic-s (default 3)")
    rate.add_argument("--bpp", type=finite_number, default=None,
                      help="target bits per pixel: the best quality whose file stays within it (by search)")
    p.add_argument("--model", default=None,
                   help=f"model name (default {DEFAULT_MODEL} for images, {DEFAULT_VIDEO_MODEL} for video; "
                        "see lic models)")
    p.add_argument("--intra-period", type=whole_number(1, (1 << 32) - 1), default=None, metavar="N",
                   help="video: an intra frame every N frames, P-frames between (default 8 with a video model; "
                        "1 codes every frame intra); with --mode inr, frames per fitted network (default 32)")
    p.add_argument("--mode", choices=["frames", "inr", "overfit"], default=None,
                   help="video: 'frames' codes frame by frame with the learned image/P-frame codec (default); "
                        "'inr' fits a small network to each group of frames and codes its weights (slow: minutes "
                        "per group on a CPU). Image: 'overfit' fits latent grids and tiny networks to the image "
                        "(Cool-chic/C3 class; minutes per image, -q 0..7 or --bpp (a few fits), very fast decoder)")
    p.add_argument("--preset", choices=PRESET_NAMES, default=None,
                   help="--mode overfit: fitting budget (default fast; times in docs/overfit.md)")
    p.add_argument("--fit-steps", type=whole_number(1, 10**7), default=None, metavar="N",
                   help="--mode overfit: optimizer steps at full resolution, replacing the preset's budget "
                        "(no half-resolution steps)")
    p.add_argument("--inr-steps", type=whole_number(1, 10**7), default=None, metavar="N",
                   help="--mode inr: optimizer steps per group of frames (default 1500)")
    p.add_argument("--recon", help="also write the encoder's reconstruction to this image (or video) file")
    p.add_argument("--refine", type=whole_number(0, 10**6), default=0, metavar="N",
                   help="optimize the latent for this image with N gradient steps before coding: fewer bits at "
                        "equal quality, same decoder, much slower encode (about 20 is a good start)")
    p.add_argument("--tile-size", type=whole_number(0, 65535), default=None, metavar="N",
                   help="code in N x N tiles (multiple of 64, >= 256; 0: one piece); default: tiles of 2048 for "
                        "images above 8.4 Mpixel, so memory stays bounded")
    coding_options(p)
    p.set_defaults(func=run)
