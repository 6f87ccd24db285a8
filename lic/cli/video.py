"""Video sub-commands behind ``lic encode`` / ``decode`` / ``info`` when the input is video."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from lic.cli.common import check_distinct_outputs, load_stream_model, report
from lic.errors import CorruptStreamError, LicError
from lic.io.output import OutputFile


def cmd_encode_video(args: argparse.Namespace) -> int:
    """``lic encode clip.mp4 -o clip.lic`` (or a folder of PNG frames with ``--video``)."""
    from lic.codec.inr import FitConfig
    from lic.codec.refine import RefineConfig
    from lic.codec.video import encode_video
    from lic.codec.video_stream import FrameRecord
    from lic.eval.metrics import psnr
    from lic.io.videoio import FrameWriter, open_video
    from lic.models.weights import load_model

    if args.bpp is not None:
        raise LicError("--bpp is for images; give a video a --quality")
    if args.recon:
        check_distinct_outputs(args.output, args.recon)
    out = OutputFile(args.output, args.force)  # reserved now: an unwritable place fails before the work
    info, frames = open_video(Path(args.input), args.fps)
    if info.variable_rate:
        print(f"note: variable frame rate input; coded at its average rate {info.fps}", file=sys.stderr)
    model = load_model(args.model, args.weights, args.device)
    quality = model.default_quality if args.quality is None else args.quality
    recon = FrameWriter(args.recon, info, args.force) if args.recon else None
    quality_db: list[float] = []

    def on_frame(record: FrameRecord) -> None:
        quality_db.append(psnr(record.source, record.reconstruction))
        if recon:
            recon.write(record.reconstruction)
        if sys.stderr.isatty():
            print(f"\rframe {record.index}: {record.bytes:,} bytes, {quality_db[-1]:.2f} dB", end="", file=sys.stderr)

    start = time.perf_counter()
    try:
        data, header = encode_video(frames, info, model, quality, RefineConfig(args.refine), on_frame,
                                    args.intra_period, FitConfig(steps=args.inr_steps or FitConfig.steps))
        out.write(lambda file: file.write(data))
    except BaseException:
        if recon:
            recon.abort()
        raise
    finally:
        if sys.stderr.isatty():
            print("", file=sys.stderr)
    if recon:
        recon.close()
    seconds = time.perf_counter() - start
    pixels = header.width * header.height * header.frame_count
    report(f"{args.output}: {header.frame_count} frames {header.width}x{header.height} at {float(header.fps):g} fps, "
           f"{len(data):,} bytes, {len(data) * 8 / pixels:.4f} bpp, "
           f"mean PSNR {sum(quality_db) / len(quality_db):.2f} dB, "
           f"quality {header.quality:g}, {header.frame_count / seconds:.2f} frames/s", args.output, args.recon)
    return 0


def decoded_image_format(output: str) -> str:
    """The Pillow format an image decode writes to ``output`` (a ``.lic`` output is refused: no re-encoding)."""
    from lic.io.imageio import image_format
    from lic.pillow_plugin import FORMAT

    fmt = image_format(output)
    if fmt == FORMAT:
        raise LicError(f"{output}: decode writes an image (.png, .ppm, .bmp, .tiff, ...), not a .lic stream")
    return fmt


def cmd_decode_video(args: argparse.Namespace, data: bytes) -> int:
    """``lic decode clip.lic -o clip.y4m|.mkv|.mp4|FOLDER`` or ``--frame N -o frame.png``."""
    from lic.codec.video import decode_video
    from lic.codec.video_info import VideoInfo
    from lic.format.sequence import read_sequence_header
    from lic.io.imageio import save_image
    from lic.io.videoio import FrameWriter

    out = args.output
    header = read_sequence_header(data)
    if args.frame is not None:
        fmt = decoded_image_format(out)
        output = OutputFile(out, args.force)
        model = load_stream_model(header.model, args.weights, args.device)
        pixels = next(decode_video(data, model, args.frame, 1, args.threads))
        output.write(lambda file: save_image(file, pixels, fmt))
        report(f"{out}: frame {args.frame} of {header.frame_count}, {header.width}x{header.height}", out)
        return 0
    writer = FrameWriter(out, VideoInfo(header.width, header.height, header.fps), args.force)
    model = load_stream_model(header.model, args.weights, args.device)
    start = time.perf_counter()
    try:
        for pixels in decode_video(data, model, threads=args.threads):
            writer.write(pixels)
    except CorruptStreamError as exc:
        if writer.count == 0:
            writer.abort()
            raise
        writer.close()
        raise LicError(f"{exc}; kept the {writer.count} frames before it in {out}") from None
    except BaseException:
        writer.abort()
        raise
    writer.close()
    seconds = time.perf_counter() - start
    report(f"{out}: {writer.count} frames {header.width}x{header.height} at {float(header.fps):g} fps, "
           f"{writer.count / seconds:.2f} frames/s", out)
    return 0


def info_video(path: Path, data: bytes, as_json: bool) -> dict:
    """The header and per-frame sizes of a video stream (printed unless ``as_json``)."""
    from lic.codec.video_stream import iter_frame_offsets
    from lic.format.sequence import read_sequence_header

    header = read_sequence_header(data)
    frames, damage = [], None
    try:
        frames.extend(iter_frame_offsets(data, header))
    except CorruptStreamError as exc:
        if as_json:
            raise
        damage = exc  # the header and the intact frames are printed first
    pixels = header.width * header.height
    info = {
        "file": str(path),
        "bytes": len(data),
        "bpp": round(len(data) * 8 / (pixels * header.frame_count), 6),
        "format_version": f"{header.version[0]}.{header.version[1]}",
        "kind": "video",
        "model": header.model,
        "weights_sha256": header.digest.hex(),
        "quality": header.quality,
        "width": header.width,
        "height": header.height,
        "fps": str(header.fps),
        "frame_count": header.frame_count,
        "intra_period": header.intra_period,
        "frames": [{"frame": i, "type": kind.name.lower(), "offset": offset, "bytes": size}
                   for i, (offset, kind, size) in enumerate(frames)],
    }
    if not as_json:
        print(f"{path}: lic {info['format_version']} video, {len(data):,} bytes, {info['bpp']:.4f} bpp")
        print(f"  size       {header.width}x{header.height}, {header.frame_count} frames at {header.fps} fps")
        print(f"  model      {header.model}, quality {header.quality:g}, weights sha256 {header.digest.hex()}")
        if info["frames"] and all(frame["type"] == "inr" for frame in info["frames"]):
            print(f"  gop        one fitted network per {header.intra_period} frames (INR)")
        elif header.intra_period > 1:
            print(f"  gop        an intra frame every {header.intra_period} frames")
        else:
            print("  gop        every frame intra")
        for frame in info["frames"]:
            print(f"  frame {frame['frame']:5d}  {frame['type']:5s} {frame['bytes']:9,} bytes at {frame['offset']:,}")
    if damage is not None:
        raise LicError(f"{damage} (the header and the {len(frames)} intact frames before it are listed above)")
    return info


def check_stream_kind(data: bytes) -> str:
    """``image`` or ``video`` (bad magic and versions fail here with one line)."""
    from lic.format.header import StreamKind, stream_kind

    return "video" if stream_kind(data) == StreamKind.VIDEO else "image"
