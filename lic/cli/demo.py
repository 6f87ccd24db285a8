"""``lic demo``: encode and decode the bundled sample with the shipped model."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from importlib import resources
from pathlib import Path

import numpy as np

from lic.cli.common import EXIT_ERROR, device_option
from lic.eval.metrics import psnr


def run(args: argparse.Namespace) -> int:
    """``lic demo``: exit status 1 when the decoded image differs from the reconstruction."""
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


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Adds the command to the ``lic`` parser."""
    from lic.models import DEFAULT_MODEL

    p = sub.add_parser("demo", help="encode and decode the bundled sample image with the shipped model")
    p.add_argument("-q", "--quality", type=float, default=None, help="quality (default 3 for elic-s)")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"model name (default {DEFAULT_MODEL})")
    device_option(p)
    p.set_defaults(func=run)
