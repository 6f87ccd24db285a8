"""Rate-distortion points of a model through real ``.lic`` files on disk."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from lic.codec.image import decode_image, encode_image
from lic.codec.imageio import read_image
from lic.errors import LicError
from lic.models.weights import LoadedModel


@dataclass
class RDPoint:
    """Mean figures over a set of images at one quality."""

    quality: float
    bpp: float
    psnr_rgb: float
    encode_seconds: float
    decode_seconds: float
    images: int

    def to_dict(self) -> dict:
        """Plain dict for JSON."""
        return asdict(self)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB between two uint8 images (grayscale compared as is)."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * math.log10(255.0**2 / mse)


def evaluate(
    model: LoadedModel,
    images: list[Path],
    qualities: list[float],
    workdir: Path,
    progress: Callable[[str], None] = lambda line: None,
) -> list[RDPoint]:
    """Encodes every image at every quality to a file in ``workdir``, reads it back and decodes it.

    bpp is file bytes x 8 / pixels; PSNR is measured on the decoded image, which
    must equal the encoder's reconstruction bit for bit.
    """
    if not images:
        raise LicError("no images to evaluate")
    points = []
    for quality in qualities:
        bpp, quality_db, t_enc, t_dec = [], [], 0.0, 0.0
        for path in images:
            pixels, _ = read_image(path)
            t0 = time.perf_counter()
            encoded = encode_image(pixels, model, quality)
            t_enc += time.perf_counter() - t0
            file = workdir / f"{path.stem}-q{quality:g}.lic"
            file.write_bytes(encoded.data)
            data = file.read_bytes()
            t0 = time.perf_counter()
            decoded, _ = decode_image(data, model)
            t_dec += time.perf_counter() - t0
            if not np.array_equal(decoded, encoded.reconstruction):
                raise LicError(f"{path}: decoded image differs from the encoder's reconstruction")
            bpp.append(len(data) * 8 / (pixels.shape[0] * pixels.shape[1]))
            quality_db.append(psnr(pixels, decoded))
        point = RDPoint(quality, float(np.mean(bpp)), float(np.mean(quality_db)),
                        t_enc / len(images), t_dec / len(images), len(images))
        progress(f"quality {quality:g}: {point.bpp:.4f} bpp, {point.psnr_rgb:.2f} dB, "
                 f"encode {point.encode_seconds:.2f} s, decode {point.decode_seconds:.2f} s per image")
        points.append(point)
    return points
