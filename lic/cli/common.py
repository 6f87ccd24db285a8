"""Helpers shared by the ``lic`` sub-commands."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

from lic.errors import LicError
from lic.io.output import OutputFile, is_stdio
from lic.limits import MAX_STREAM_BYTES

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70


def check_output(path: Path, force: bool) -> None:
    """Fails early, before any work, on an output that cannot or must not be written."""
    if path.is_dir():
        raise LicError(f"{path} is a directory")
    if path.exists() and not force:
        raise LicError(f"{path} exists (use --force to overwrite)")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise LicError(f"{parent}: no such directory")


def load_stream_model(name: str, weights: Path | None, device: str):  # noqa: ANN201
    """The model a stream's header names (``weights`` overrides the shipped file); a name this
    version of lic does not register is a :class:`ModelMismatchError`, not an unknown-model usage error."""
    from lic.errors import ModelMismatchError
    from lic.models.registry import model_names
    from lic.models.weights import load_model

    if name not in model_names():
        raise ModelMismatchError(f"stream needs model {name!r}, which this version of lic does not have")
    return load_model(name, weights, device)


def device_option(parser: argparse.ArgumentParser) -> None:
    """``--device cpu|cuda|auto``."""
    parser.add_argument("--device", default="cpu",
                        help="cpu (default), cuda or auto; decode on the same device type that encoded")


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number in ``low .. high`` (a usage error otherwise)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be {low} or more, not {value}")
        if value > high:
            raise argparse.ArgumentTypeError(f"must be at most {high:,}, not {value:,}")
        return value

    return parse


def finite_number(text: str) -> float:
    """An argparse type: a finite real number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, not {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, not {text!r}")
    return value


MIN_FPS, MAX_FPS = Fraction(1, 1000), Fraction(1_000_000)


def frame_rate(text: str) -> Fraction:
    """An argparse type: a frame rate from 0.001 to 1000000 per second, as the fraction the header stores."""
    value = finite_number(text)
    if not MIN_FPS <= value <= MAX_FPS:
        raise argparse.ArgumentTypeError(f"must be a frame rate from {float(MIN_FPS):g} to {float(MAX_FPS):g}, "
                                         f"not {text}")
    return Fraction(value).limit_denominator(1001)


def check_distinct_outputs(output: str, other: str) -> None:
    """Refuses ``--recon`` naming the same file as ``-o``."""
    same = output == other if is_stdio(output) or is_stdio(other) else \
        os.path.realpath(output) == os.path.realpath(other)
    if same:
        raise LicError(f"--recon and -o name the same file ({other})")


def report(line: str, *outputs: str | None) -> None:
    """Prints a result line: on stdout, or on stderr when an output is standard output (``-``)."""
    print(line, file=sys.stderr if any(o is not None and is_stdio(o) for o in outputs) else sys.stdout)


def read_stream(path: Path) -> bytes:
    """The bytes of a ``.lic`` file or of standard input, refused when absurdly large."""
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


def load_image_stream_model(data: bytes, weights: Path | None, device: str):  # noqa: ANN201
    """The model an image stream names, after its checksums passed."""
    from lic.format.container import read_image_stream

    header, _ = read_image_stream(data)  # damaged streams fail here, before torch is imported
    return load_stream_model(header.model, weights, device)



def image_outputs(args: argparse.Namespace) -> tuple[OutputFile, OutputFile | None, str | None]:
    """``(stream, recon, recon format)`` of an image encode (``-o`` and ``--recon``), checked and
    reserved before any work, so an unwritable place or a bad format fails first."""
    from lic.io.imageio import image_format

    recon_format = None
    if args.recon:
        check_distinct_outputs(args.output, args.recon)
        recon_format = image_format(args.recon)
    out = OutputFile(args.output, args.force)
    return out, OutputFile(args.recon, args.force) if args.recon else None, recon_format


def finish_image_encode(args: argparse.Namespace, outputs: tuple[OutputFile, OutputFile | None, str | None],
                        pixels: object, encoded: object, detail: str) -> None:
    """Writes the stream and ``--recon`` reserved by :func:`image_outputs` and prints the result line
    (size, bpp, PSNR, quality, then ``detail``)."""
    from lic.eval.metrics import psnr
    from lic.io.imageio import save_image

    out, recon, recon_format = outputs
    out.write(lambda file: file.write(encoded.data))
    if recon:
        recon.write(lambda file: save_image(file, encoded.reconstruction, recon_format))
    h = encoded.header
    report(f"{args.output}: {h.width}x{h.height} {h.colour.name}, {len(encoded.data):,} bytes, {encoded.bpp:.4f} bpp, "
           f"PSNR {psnr(pixels, encoded.reconstruction):.2f} dB, quality {h.quality:g}, {detail}",
           args.output, args.recon)
