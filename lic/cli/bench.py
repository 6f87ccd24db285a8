"""``lic bench``: RD points of a classical codec measured here, through real files."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from lic.cli.common import check_output
from lic.cli.results import collect_images, write_results
from lic.errors import LicError


def run(args: argparse.Namespace) -> int:
    """``lic bench``: a classical image codec, or a low-delay video codec."""
    from lic.eval.classical import classical_codecs
    from lic.eval.video_rd import low_delay_codecs

    codecs = classical_codecs(args.encoder_path, args.decoder_path, args.config, args.preset)
    video_codecs = low_delay_codecs(args.preset, args.gop)
    if args.list:
        for key, codec in codecs.items():
            reason = codec.missing()
            print(f"{key:13s} {'missing: ' + reason if reason else 'available'}  ({codec.description})")
        for key, video in video_codecs.items():
            print(f"{key:13s} available  (video clips: {video.description})")
        return 0
    if not args.codec or not args.images:
        raise LicError("give a codec and images (lic bench CODEC DIR), or --list")
    if args.codec in video_codecs:
        return _bench_video(args, video_codecs[args.codec])
    if args.codec not in codecs:
        raise LicError(f"unknown codec {args.codec!r}; known: {', '.join([*codecs, *video_codecs])}")
    codec = codecs[args.codec]
    reason = codec.missing()
    if reason:
        raise LicError(f"{args.codec} is missing: {reason}")
    if args.output:
        check_output(Path(args.output), args.force)
    from lic.eval.bench import bench

    images = collect_images(args.images)
    with tempfile.TemporaryDirectory() as tmp:
        results = bench(codec, images, args.qualities or list(codec.qualities), Path(tmp), progress=print)
    results.meta["inputs"] = list(args.images)
    write_results(results, args.output, args.force)
    return 0


def _bench_video(args: argparse.Namespace, codec) -> int:  # noqa: ANN001
    from lic.eval.video_rd import bench_video

    if args.output:
        check_output(Path(args.output), args.force)
    clips = [Path(c) for c in args.images]
    with tempfile.TemporaryDirectory() as tmp:
        results = bench_video(codec, clips, args.qualities or list(codec.qualities), Path(tmp), args.frames,
                              progress=print)
    write_results(results, args.output, args.force)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Adds the command to the ``lic`` parser."""
    p = sub.add_parser("bench", help="RD points of a classical codec (JPEG, WebP, AVIF, JPEG 2000, JXL, x265, "
                                     "BPG, VTM; x264/x265 low-delay for video) measured here, through real files")
    p.add_argument("codec", nargs="?", help="codec key (see --list)")
    p.add_argument("images", nargs="*", help="image files or folders (video clips for the -lowdelay codecs)")
    p.add_argument("--list", action="store_true", help="list the codecs and whether they are available here")
    p.add_argument("-q", "--qualities", type=float, nargs="+", help="quality settings in the codec's own units")
    p.add_argument("-o", "--output", help="write the results as JSON (CompressAI's results layout)")
    p.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")
    p.add_argument("--encoder-path", help="bpgenc or VTM EncoderApp (file, or the folder holding it)")
    p.add_argument("--decoder-path", help="bpgdec or VTM DecoderApp (default: beside the encoder)")
    p.add_argument("--config", help="VTM encoder configuration file (encoder_intra_vtm.cfg)")
    p.add_argument("--preset", default="medium", help="x264/x265 preset (default medium; e.g. veryslow)")
    p.add_argument("--gop", type=int, default=32, help="video codecs: intra period in frames (default 32)")
    p.add_argument("--frames", type=int, help="video codecs: code at most this many frames of each clip")
    p.set_defaults(func=run)
