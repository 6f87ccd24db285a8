"""Measurement commands: ``lic eval``, ``lic eval-video``, ``lic bench``, ``lic bdrate``, ``lic plot``."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from lic.cli.common import check_output, device_option
from lic.cli.distributed import check_ray_input, ray_option
from lic.errors import LicError
from lic.models import DEFAULT_VIDEO_MODEL, OVERFIT_MODEL


def collect_images(items: list[str]) -> list[Path]:
    """Image files named directly or found in the given folders."""
    from lic.io.imageio import list_images

    images: list[Path] = []
    for item in map(Path, items):
        if not item.exists():
            raise LicError(f"{item}: no such file or directory")
        images += list_images(item) if item.is_dir() else [item]
    if not images:
        raise LicError(f"no images in {', '.join(items)}")
    return images


def _write_results(results, output: str | None, force: bool) -> None:  # noqa: ANN001
    from lic.io.imageio import write_bytes_atomic

    if output:
        write_bytes_atomic(Path(output), results.to_json().encode(), force)
        print(f"wrote {output}")


def cmd_eval(args: argparse.Namespace) -> int:
    from lic.codec.refine import RefineConfig
    from lic.eval.rd import evaluate
    from lic.models.weights import load_model

    if args.output:
        check_output(Path(args.output), args.force)
    if args.workers is not None and args.ray is None:
        raise LicError("--workers goes with --ray (lic eval otherwise runs in one process)")
    check_ray_input(args, folder=True)
    images = collect_images(args.images)
    encoder, name, extra = None, None, {}
    device = args.device if args.ray is None else "cpu"
    if args.mode == "overfit":
        if args.ray is not None:
            raise LicError("--mode overfit does not run on --ray yet: run it without --ray")
        from lic.cli.overfit import overfit_encoder

        args.model = OVERFIT_MODEL
        model = load_model(args.model, args.weights, device)
        encoder, name, extra = overfit_encoder(model, args.preset, args.fit_steps)
    elif args.preset or args.fit_steps:
        raise LicError("--preset and --fit-steps are for --mode overfit")
    else:
        model = load_model(args.model, args.weights, device)
    qualities = [float(q) for q in args.qualities or range(model.module.rate_levels)]
    if args.ray is not None:
        from lic.cli.distributed import eval_on_ray

        results = eval_on_ray(args, model, images, qualities)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            results = evaluate(model, images, qualities, Path(tmp), progress=print, refine=RefineConfig(args.refine),
                               encoder=encoder, name=name)
    results.meta.update(extra)
    results.meta["inputs"] = list(args.images)
    _write_results(results, args.output, args.force)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
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
    _write_results(results, args.output, args.force)
    return 0


def _bench_video(args: argparse.Namespace, codec) -> int:  # noqa: ANN001
    from lic.eval.video_rd import bench_video

    if args.output:
        check_output(Path(args.output), args.force)
    clips = [Path(c) for c in args.images]
    with tempfile.TemporaryDirectory() as tmp:
        results = bench_video(codec, clips, args.qualities or list(codec.qualities), Path(tmp), args.frames,
                              progress=print)
    _write_results(results, args.output, args.force)
    return 0


def cmd_eval_video(args: argparse.Namespace) -> int:
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
    _write_results(results, args.output, args.force)
    return 0


def _curve_source(item: str, dataset: str):  # noqa: ANN202
    """A results file, or the key of a published curve shipped with lic."""
    from lic.eval.anchors import published_results
    from lic.eval.results import RDResults

    if Path(item).exists():
        return RDResults.read(Path(item))
    published = published_results(dataset)
    if item in published:
        return published[item]
    raise LicError(f"{item}: no such file, and not a published curve ({', '.join(published)})")


def _bd_row(test, anchor, metric: str) -> dict:  # noqa: ANN001
    """BD-rate, BD-quality (``None`` when the rate ranges do not overlap), the shared quality
    range and its share of the test's range; or ``bd_rate_percent: None`` and the error."""
    from lic.eval.bdrate import bd_psnr, bd_rate, overlap, overlap_fraction

    row = {"test": test.name, "anchor": anchor.name}
    try:
        t, a = test.curve(metric), anchor.curve(metric)
        row.update(bd_rate_percent=round(bd_rate(t, a), 2), quality_range=[round(v, 3) for v in overlap(t, a)],
                   overlap=round(overlap_fraction(t, a), 3))
    except (ValueError, LicError) as exc:
        return {**row, "bd_rate_percent": None, "error": str(exc)}
    try:
        row["bd_psnr_db"] = round(bd_psnr(t, a), 3)
    except ValueError:
        row["bd_psnr_db"] = None
    return row


def cmd_bdrate(args: argparse.Namespace) -> int:
    from lic.eval.anchors import published_results

    if len(args.curves) == 1:
        published = published_results(args.dataset)
        unknown = sorted(set(args.anchor or []) - set(published))
        if unknown:
            raise LicError(f"unknown anchor {', '.join(unknown)}; known: {', '.join(published)}")
        tests = [_curve_source(args.curves[0], args.dataset)]
        anchors = [published[k] for k in (args.anchor or published)]
    else:
        if args.anchor:
            raise LicError("--anchor goes with a single results file; with several, the first is the anchor")
        anchors = [_curve_source(args.curves[0], args.dataset)]
        tests = [_curve_source(item, args.dataset) for item in args.curves[1:]]
    rows = [_bd_row(test, anchor, args.metric) for test in tests for anchor in anchors]
    if args.json:
        print(json.dumps({"metric": args.metric, "rows": rows}, indent=2))
        return 0
    unit = "dB" if args.metric != "ms-ssim-rgb" else ""
    print(f"BD-rate ({args.metric}; negative = fewer bits than the anchor at equal quality), "
          f"BD-{args.metric} (positive = better at equal rate)")
    for row in rows:
        label = f"{row['test']} vs {row['anchor']}"
        if row["bd_rate_percent"] is None:
            print(f"  {label:44s}     n/a   ({row['error']})")
            continue
        lo, hi = row["quality_range"]
        warning = f"  WARNING: curves overlap on only {row['overlap']:.0%} of the test's range" \
            if row["overlap"] < 0.5 else ""
        delta = "    n/a" if row["bd_psnr_db"] is None else f"{row['bd_psnr_db']:+7.3f}"
        print(f"  {label:44s} {row['bd_rate_percent']:+8.2f} %  {delta} {unit}  "
              f"over {lo:.2f}-{hi:.2f}{warning}")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from lic.eval.plot import plot_rd

    curves = [_curve_source(item, args.dataset) for item in args.curves]
    plot_rd(curves, [Path(o) for o in args.output], args.metric, args.title, args.force)
    for out in args.output:
        print(f"wrote {out}")
    return 0


def add_measure_commands(sub: argparse._SubParsersAction, default_model: str) -> None:
    """Adds eval, bench, bdrate and plot to the ``lic`` sub-commands."""
    from lic.eval.results import METRICS

    p = sub.add_parser("eval", help="RD points of a model on images, through real .lic files")
    p.add_argument("images", nargs="+", help="image files or folders (e.g. ../shared/datasets/kodak)")
    p.add_argument("-q", "--qualities", type=float, nargs="+", help="qualities (default: every trained level)")
    p.add_argument("--model", default=default_model, help=f"model name (default {default_model})")
    p.add_argument("--weights", type=Path, help="weights file to use instead of the shipped one")
    p.add_argument("--refine", type=int, default=0, metavar="N", help="encode-time latent refinement steps")
    p.add_argument("--mode", choices=["overfit"], default=None,
                   help="overfit: fit a codec to each image (lic encode --mode overfit) instead of --model")
    p.add_argument("--preset", choices=["fast", "medium", "slow"], default=None,
                   help="--mode overfit: fitting budget (default fast)")
    p.add_argument("--fit-steps", type=int, default=None, metavar="N", help="--mode overfit: optimizer steps")
    p.add_argument("-o", "--output", help="write the results as JSON (CompressAI's results layout)")
    p.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")
    ray_option(p, "only with --ray (without it lic eval runs in one process)")
    device_option(p)
    p.set_defaults(func=cmd_eval)

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
    p.set_defaults(func=cmd_bench)

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
    p.set_defaults(func=cmd_eval_video)

    p = sub.add_parser("bdrate", help="BD-rate and BD-PSNR between RD results files or published curves")
    p.add_argument("curves", nargs="+", metavar="CURVE",
                   help="results files (lic eval / lic bench / CompressAI layout) or published keys (vtm, bpg, "
                        "jpeg, ...). One: compared with every published curve. Several: the first is the anchor")
    p.add_argument("--anchor", nargs="+", help="with one CURVE: only these published anchors")
    p.add_argument("--metric", default="psnr-rgb", choices=METRICS, help="quality metric (default psnr-rgb)")
    p.add_argument("--dataset", default="kodak", choices=["kodak"], help="dataset of the published curves")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_bdrate)

    p = sub.add_parser("plot", help="RD chart of results files and published curves (PNG, SVG, PDF)")
    p.add_argument("curves", nargs="+", metavar="CURVE", help="results files or published keys (vtm, bpg, ...)")
    p.add_argument("-o", "--output", nargs="+", required=True, help="chart files, e.g. rd.png rd.svg")
    p.add_argument("--metric", default="psnr-rgb", choices=METRICS, help="quality axis (default psnr-rgb)")
    p.add_argument("--title", default="", help="chart title")
    p.add_argument("--dataset", default="kodak", choices=["kodak"], help="dataset of the published curves")
    p.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
    p.set_defaults(func=cmd_plot)
