"""``lic decode``: a ``.lic`` stream (image or video) or a folder of them."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from lic.cli.batch import run_batch
from lic.cli.common import load_image_stream_model, read_stream, report, whole_number
from lic.cli.distributed import check_ray_input
from lic.cli.options import coding_options
from lic.errors import LicError
from lic.io.output import OutputFile, is_stdio


def run(args: argparse.Namespace) -> int:
    """``lic decode``: one stream (image or video) or a folder of them."""
    from lic.cli.video import check_stream_kind, cmd_decode_video, decoded_image_format

    check_ray_input(args, not is_stdio(args.input) and Path(args.input).is_dir())
    if not is_stdio(args.input) and Path(args.input).is_dir():
        return run_batch(args, "decode")
    data = read_stream(Path(args.input))
    if check_stream_kind(data) == "video":
        return cmd_decode_video(args, data)
    if args.frame is not None:
        raise LicError("--frame is for video streams")
    fmt = decoded_image_format(args.output)
    out = OutputFile(args.output, args.force)
    model = load_image_stream_model(data, args.weights, args.device)
    from lic.codec.image import decode_image
    from lic.io.imageio import save_image

    start = time.perf_counter()
    pixels, header = decode_image(data, model, args.threads)
    seconds = time.perf_counter() - start
    out.write(lambda file: save_image(file, pixels, fmt))
    report(f"{args.output}: {header.width}x{header.height} {header.colour.name}, {seconds:.2f} s", args.output)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Adds the command to the ``lic`` parser."""
    p = sub.add_parser("decode", help="decompress a .lic file into an image")
    p.add_argument("input", help=".lic file, or a folder of them")
    p.add_argument("-o", "--output", required=True,
                   help="output image (.png, .ppm, .bmp, .tiff, ...); output folder (PNG files) for a folder input; "
                        "for video: .y4m, .mkv (lossless FFV1), .mp4 (H.264, for viewing) "
                        "or a new folder of PNG frames")
    p.add_argument("--threads", type=whole_number(1, 1024), default=None, help="decoder threads for the coder lanes")
    p.add_argument("--frame", type=whole_number(0, (1 << 32) - 1),
                   help="video: decode only frame N (from the nearest intra frame) to an image")
    coding_options(p)
    p.set_defaults(func=run)
