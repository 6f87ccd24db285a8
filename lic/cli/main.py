"""The ``lic`` command line: encode, decode, info, demo, models, train (and, from
:mod:`lic.cli.measure`, eval, bench, bdrate, plot)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import NoReturn

import numpy as np

from lic.cli import signals
from lic.cli.common import (
    check_distinct_outputs,
    check_output,
    device_option,
    finite_number,
    frame_rate,
    load_stream_model,
    report,
    whole_number,
)
from lic.cli.distributed import batch_runner, check_ray_input, ray_option
from lic.cli.measure import add_measure_commands
from lic.errors import LicError
from lic.eval.metrics import psnr
from lic.io import cleanup
from lic.io.output import OutputFile, is_stdio
from lic.limits import MAX_STREAM_BYTES

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        sys.exit(EXIT_USAGE)


def cmd_batch(args: argparse.Namespace, mode: str) -> int:
    """``lic encode|decode DIR -o OUTDIR``: every file below DIR, resumable, with a progress bar."""
    from tqdm import tqdm

    from lic.io.batch import BatchJob, plan, print_summary, renamed

    source, target = Path(args.input), Path(args.output)
    if is_stdio(args.output) or (target.exists() and not target.is_dir()):
        raise LicError(f"{args.output} is not a directory (a folder input needs an output folder)")
    if getattr(args, "recon", None):
        raise LicError("--recon is for one image; a folder input writes no reconstructions")
    pairs = plan(source, target, mode)
    if not pairs:
        raise LicError(f"{source}: no {'images' if mode == 'encode' else '.lic files'} found")
    for input_path, output_path in renamed(pairs):
        print(f"note: {input_path} is written to {output_path}: another input has the same name", file=sys.stderr)
    job = BatchJob(mode, getattr(args, "model", ""), args.weights, getattr(args, "quality", None),
                   getattr(args, "bpp", None), args.device, getattr(args, "refine", 0), args.max_pixels,
                   args.force, getattr(args, "tile_size", None))
    with batch_runner(job, args.workers, args.ray) as run, \
            tqdm(total=len(pairs), unit="file", desc=mode, file=sys.stderr) as bar:
        summary = run(pairs, bar.update)
    print_summary(summary, mode)
    return EXIT_ERROR if summary.failed else 0


def _check_image_model(name: str) -> None:
    from lic.models import DEFAULT_MODEL
    from lic.models.registry import get_spec

    if get_spec(name).architecture != "elic":
        raise LicError(f"{name} is a video model; images are coded with an image model such as {DEFAULT_MODEL} "
                       "(see lic models)")


def cmd_encode(args: argparse.Namespace) -> int:
    from lic.io.imageio import image_format, read_image, save_image

    from lic.cli.video import cmd_encode_video
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
    _check_image_model(args.model)
    if not is_stdio(args.input) and Path(args.input).is_dir():
        return cmd_batch(args, "encode")
    if args.fps is not None:
        raise LicError("--fps is for video input")
    recon_format = None
    if args.recon:
        check_distinct_outputs(args.output, args.recon)
        recon_format = image_format(args.recon)
    out = OutputFile(args.output, args.force)  # reserved now: an unwritable place fails before the work
    recon = OutputFile(args.recon, args.force) if args.recon else None
    pixels, _ = read_image(args.input)
    from lic.codec.image import encode_image_at
    from lic.codec.refine import RefineConfig
    from lic.models.weights import load_model

    model = load_model(args.model, args.weights, args.device)
    start = time.perf_counter()
    encoded = encode_image_at(pixels, model, args.quality, args.bpp, RefineConfig(args.refine), args.tile_size)
    seconds = time.perf_counter() - start
    out.write(lambda file: file.write(encoded.data))
    if recon:
        recon.write(lambda file: save_image(file, encoded.reconstruction, recon_format))
    h = encoded.header
    report(f"{args.output}: {h.width}x{h.height} {h.colour.name}, {len(encoded.data):,} bytes, {encoded.bpp:.4f} bpp, "
           f"PSNR {psnr(pixels, encoded.reconstruction):.2f} dB, quality {h.quality:g}, {seconds:.2f} s",
           args.output, args.recon)
    return 0


def _load_for_stream(data: bytes, weights: Path | None, device: str):  # noqa: ANN202
    from lic.format.container import read_image_stream

    header, _ = read_image_stream(data)  # damaged streams fail here, before torch is imported
    return load_stream_model(header.model, weights, device)


def _read_stream(path: Path) -> bytes:
    from lic.io.imageio import read_stdin

    if is_stdio(path):
        return read_stdin("a .lic stream")
    try:
        if path.is_dir():
            raise LicError(f"{path}: is a directory")
        if path.stat().st_size > MAX_STREAM_BYTES:
            raise LicError(f"{path}: too large to be a .lic stream")
        return path.read_bytes()
    except FileNotFoundError:
        raise LicError(f"{path}: no such file") from None
    except PermissionError:
        raise LicError(f"{path}: permission denied") from None


def cmd_decode(args: argparse.Namespace) -> int:
    from lic.cli.video import check_stream_kind, cmd_decode_video, decoded_image_format

    check_ray_input(args, not is_stdio(args.input) and Path(args.input).is_dir())
    if not is_stdio(args.input) and Path(args.input).is_dir():
        return cmd_batch(args, "decode")
    data = _read_stream(Path(args.input))
    if check_stream_kind(data) == "video":
        return cmd_decode_video(args, data)
    if args.frame is not None:
        raise LicError("--frame is for video streams")
    fmt = decoded_image_format(args.output)
    out = OutputFile(args.output, args.force)
    model = _load_for_stream(data, args.weights, args.device)
    from lic.codec.image import decode_image
    from lic.io.imageio import save_image

    start = time.perf_counter()
    pixels, header = decode_image(data, model, args.threads)
    seconds = time.perf_counter() - start
    out.write(lambda file: save_image(file, pixels, fmt))
    report(f"{args.output}: {header.width}x{header.height} {header.colour.name}, {seconds:.2f} s", args.output)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from lic.format.container import read_image_stream
    from lic.format.header import FLOAT_PARAMETERS

    from lic.cli.video import check_stream_kind, info_video
    from lic.models import OVERFIT_MODEL

    path = Path(args.input)
    data = _read_stream(path)
    if check_stream_kind(data) == "video":
        info = info_video(path, data, args.json)
        if args.json:
            print(json.dumps(info, indent=2))
        return 0
    header, tiles = read_image_stream(data)
    bpp = len(data) * 8 / (header.width * header.height)
    info = {
        "file": str(path),
        "bytes": len(data),
        "bpp": round(bpp, 6),
        "format_version": f"{header.version[0]}.{header.version[1]}",
        "kind": "image",
        "model": header.model,
        "weights_sha256": header.digest.hex(),
        "quality": header.quality,
        "width": header.width,
        "height": header.height,
        "colour": header.colour.name.lower(),
        "bit_depth": header.bit_depth,
        "header_bytes": header.header_size,
        "tile_size": header.tile_size,
        "tiles": [list(tile) for tile in header.tiles],
        "entropy_parameters": "float (same machine only)" if header.flags & FLOAT_PARAMETERS else "fixed point (exact)",
        "checksums": "ok",
    }
    if header.model == OVERFIT_MODEL and len(tiles) == 1 and len(tiles[0]) == 2:
        from dataclasses import asdict

        from lic.codec.overfit import read_shape

        info["overfit_networks"] = asdict(read_shape(tiles[0][0])[0])
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{path}: lic {info['format_version']} image, {len(data):,} bytes, {bpp:.4f} bpp")
    print(f"  size       {header.width}x{header.height}, {info['colour']}, {header.bit_depth} bit")
    print(f"  model      {header.model}, quality {header.quality:g}")
    print(f"  weights    sha256 {header.digest.hex()}")
    print(f"  header     {header.header_size} bytes")
    if header.tile_size:
        print(f"  tiles      {len(header.tiles)} of {header.tile_size}x{header.tile_size}, "
              f"{len(header.lane_sizes)} lanes, {sum(header.lane_sizes):,} bytes")
    else:
        print(f"  lanes      {len(header.lane_sizes)}: {', '.join(f'{s:,}' for s in header.lane_sizes)} bytes")
    print(f"  entropy    {info['entropy_parameters']} parameters")
    if "overfit_networks" in info:
        n = info["overfit_networks"]
        print(f"  overfit    {n['grids']} latent grids, ARM {n['arm_layers']}x{n['arm_width']}, "
              f"synthesis width {n['synthesis_width']}")
    print("  checksums  header ok, payload ok")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from lic.codec.image import decode_image, encode_image_at
    from lic.io.imageio import read_image
    from lic.models.weights import load_model

    sample = Path(str(resources.files("lic").joinpath("data", "astronaut.png")))
    pixels, _ = read_image(sample)
    model = load_model(args.model, device=args.device)
    training = json.loads(model.metadata.get("lic.training", "{}"))
    continued = " (its last run; it continued earlier weights, see TRAINING.md)" \
        if training.get("config", {}).get("init_weights") else ""
    print(f"model {model.name} (weights sha256 {model.digest.hex()[:16]}...), "
          f"trained {training.get('steps', 0)} steps on {training.get('device', 'nothing: untrained')}{continued}")
    t0 = time.perf_counter()
    encoded = encode_image_at(pixels, model, args.quality)
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "astronaut.lic"
        path.write_bytes(encoded.data)
        t2 = time.perf_counter()
        decoded, _ = decode_image(path.read_bytes(), model)
        t3 = time.perf_counter()
    exact = np.array_equal(decoded, encoded.reconstruction)
    h = encoded.header
    print(f"{sample.name}: {h.width}x{h.height} -> {len(encoded.data):,} bytes, {encoded.bpp:.4f} bpp, "
          f"PSNR {psnr(pixels, decoded):.2f} dB at quality {h.quality:g}")
    print(f"encode {t1 - t0:.2f} s, decode {t3 - t2:.2f} s, decoded == encoder reconstruction: {exact}")
    return 0 if exact else EXIT_ERROR


def cmd_models(args: argparse.Namespace) -> int:
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


def cmd_reorder_channels(args: argparse.Namespace) -> int:
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


def cmd_train(args: argparse.Namespace) -> int:
    import tomllib

    from lic.models.registry import get_spec
    from lic.train.config import TrainConfig, config_from_values, read_toml
    from lic.train.inter import InterTrainConfig, train_inter
    from lic.train.loop import train

    try:
        values = read_toml(Path(args.config))
        model = values.get("model", TrainConfig.model)
        architecture = get_spec(model).architecture
        if architecture == "inr":
            raise LicError(f"{model} has nothing to train ahead of time: its networks are fitted to each clip "
                           "by lic encode --mode inr")
        video = architecture == "elic-video"
        config = config_from_values(InterTrainConfig if video else TrainConfig, values, Path(args.config))
    except FileNotFoundError:
        raise LicError(f"{args.config}: no such file") from None
    except (ValueError, TypeError, tomllib.TOMLDecodeError) as exc:
        raise LicError(f"{args.config}: {exc}") from None
    overrides = {k: v for k, v in (("steps", args.steps), ("out_dir", args.out_dir), ("device", args.device),
                                   ("max_cpu_seconds", args.max_cpu_seconds)) if v}
    for key, value in overrides.items():
        if not hasattr(config, key):
            raise LicError(f"--{key.replace('_', '-')} does not apply to {model} training")
        setattr(config, key, value)
    if video:
        print(f"weights written to {train_inter(config)}")
    else:
        train(config)
    return 0


def _coding_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by encode and decode."""
    parser.add_argument("--weights", type=Path, help="weights file to use instead of the shipped one")
    parser.add_argument("-f", "--force", action="store_true",
                        help="replace outputs lic wrote before (a folder input: recode every file); files lic "
                             "did not write are never replaced, and devices and FIFOs are written to, not replaced")
    parser.add_argument("--max-pixels", type=whole_number(1, 1 << 40), metavar="N",
                        help="refuse images and streams of more than N pixels (default 268435456, or LIC_MAX_PIXELS)")
    ray_option(parser, "parallel processes for a folder input (default 1)")
    device_option(parser)


def build_parser() -> argparse.ArgumentParser:
    """The ``lic`` argument parser."""
    from lic.models import DEFAULT_MODEL, DEFAULT_VIDEO_MODEL

    parser = _Parser(prog="lic", description="lic: learned image codec")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

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
                   help=f"model name (default {DEFAULT_MODEL} for images, {DEFAULT_VIDEO_MODEL} for video; see lic models)")
    p.add_argument("--intra-period", type=whole_number(1, (1 << 32) - 1), default=None, metavar="N",
                   help="video: an intra frame every N frames, P-frames between (default 8 with a video model; "
                        "1 codes every frame intra); with --mode inr, frames per fitted network (default 32)")
    p.add_argument("--mode", choices=["frames", "inr", "overfit"], default=None,
                   help="video: 'frames' codes frame by frame with the learned image/P-frame codec (default); "
                        "'inr' fits a small network to each group of frames and codes its weights (slow: minutes "
                        "per group on a CPU). Image: 'overfit' fits latent grids and tiny networks to the image "
                        "(Cool-chic/C3 class; minutes per image, -q 0..7, very fast decoder)")
    p.add_argument("--preset", choices=["fast", "medium", "slow"], default=None,
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
    _coding_options(p)
    p.set_defaults(func=cmd_encode)

    p = sub.add_parser("decode", help="decompress a .lic file into an image")
    p.add_argument("input", help=".lic file, or a folder of them")
    p.add_argument("-o", "--output", required=True,
                   help="output image (.png, .ppm, .bmp, .tiff, ...); output folder (PNG files) for a folder input; "
                        "for video: .y4m, .mkv (lossless FFV1), .mp4 (H.264, for viewing) or a new folder of PNG frames")
    p.add_argument("--threads", type=whole_number(1, 1024), default=None, help="decoder threads for the coder lanes")
    p.add_argument("--frame", type=whole_number(0, (1 << 32) - 1), help="video: decode only frame N (from the nearest intra frame) to an image")
    _coding_options(p)
    p.set_defaults(func=cmd_decode)

    p = sub.add_parser("info", help="print the header of a .lic file (checksums verified)")
    p.add_argument("input", help=".lic file")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("demo", help="encode and decode the bundled sample image with the shipped model")
    p.add_argument("-q", "--quality", type=float, default=None, help="quality (default 3 for elic-s)")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"model name (default {DEFAULT_MODEL})")
    device_option(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("models", help="list registered models with parameters and MACs per pixel")
    p.set_defaults(func=cmd_models)

    add_measure_commands(sub, DEFAULT_MODEL)

    p = sub.add_parser("reorder-channels", help="order a trained model's latent channels by importance estimated "
                                                "from its weights (ISCS); fine-tune the result before use")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"model name (default {DEFAULT_MODEL})")
    p.add_argument("--weights", type=Path, help="weights to reorder instead of the shipped ones")
    p.add_argument("-q", "--quality", type=float, default=None, help="quality the importance is taken at "
                                                                      "(default: the model's default)")
    p.add_argument("-o", "--output", required=True, help="reordered weights (.safetensors)")
    p.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")
    p.set_defaults(func=cmd_reorder_channels)

    p = sub.add_parser("train", help="train a model from a TOML configuration")
    p.add_argument("--config", required=True, help="training configuration (TOML)")
    p.add_argument("--steps", type=int, help="override the total number of steps")
    p.add_argument("--out-dir", help="override the output folder")
    p.add_argument("--device", choices=["cpu", "cuda", "auto"], help="override the device")
    p.add_argument("--max-cpu-seconds", type=float, help="override the CPU-seconds budget of the training steps")
    p.set_defaults(func=cmd_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lic`` console script; returns the exit status.

    SIGINT, SIGTERM and SIGHUP stop it cleanly (:mod:`lic.cli.signals`): no temporary or
    partial file and no worker process is left, and the status is 128 + the signal number.
    """
    args = build_parser().parse_args(argv)
    from lic.limits import set_pixel_limit

    set_pixel_limit(getattr(args, "max_pixels", None))
    with signals.installed():
        try:
            return _run(args)
        except signals.Stopped as exc:
            sys.stderr.write(f"lic: {exc}\n")
            return exc.exit_status
        finally:
            cleanup.remove_all()
            set_pixel_limit(None)


def _run(args: argparse.Namespace) -> int:
    """Runs the sub-command; every error becomes one line on stderr and an exit status."""
    try:
        return args.func(args)
    except LicError as exc:
        sys.stderr.write(f"lic: error: {exc}\n")
        return EXIT_ERROR
    except BrokenPipeError:
        return EXIT_ERROR
    except KeyboardInterrupt:
        sys.stderr.write("lic: interrupted\n")
        return 130
    except MemoryError:
        sys.stderr.write("lic: error: out of memory\n")
        return EXIT_ERROR
    except OSError as exc:
        sys.stderr.write(f"lic: error: {exc.filename or ''}: {exc.strerror or exc}\n")
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - last resort: one line, no traceback
        if os.environ.get("LIC_DEBUG"):
            raise
        sys.stderr.write(f"lic: internal error: {type(exc).__name__}: {exc} (set LIC_DEBUG=1 for details)\n")
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
