"""RD points of a classical codec through real files, in the same layout as ``lic eval``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from lic.errors import LicError
from lic.eval.classical import ClassicalCodec
from lic.eval.points import RDTable, measure_round_trip
from lic.eval.results import RDResults
from lic.hardware import machine_description
from lic.io.imageio import read_image


def bench(
    codec: ClassicalCodec,
    images: list[Path],
    qualities: list[float],
    workdir: Path,
    progress: Callable[[str], None] = lambda line: None,
) -> RDResults:
    """Codes every image at every quality into a file in ``workdir``, reads it back and decodes it.

    Grayscale images are coded as RGB (all codecs here take RGB). bpp is file bytes x 8
    / pixels; PSNR-RGB and MS-SSIM are measured on the decoded image.
    """
    reason = codec.missing()
    if reason:
        raise LicError(f"{codec.key} is missing: {reason}")
    if not images:
        raise LicError("no images to measure")
    table = RDTable()
    for quality in qualities:
        measurements = []
        for path in images:
            pixels, _ = read_image(path)
            if pixels.ndim == 2:
                pixels = np.repeat(pixels[:, :, None], 3, axis=2)
            height, width = pixels.shape[:2]
            measurement, decoded = measure_round_trip(
                pixels, lambda: codec.encode(pixels, quality), lambda data: codec.decode(data, width, height),
                workdir / f"{path.stem}-q{quality:g}{codec.suffix}")
            if decoded.shape != pixels.shape:
                raise LicError(f"{codec.key}: {path.name} decoded to {decoded.shape}, expected {pixels.shape}")
            measurements.append(measurement)
        progress(f"{codec.key} " + table.add(quality, measurements, [path.name for path in images]))
    meta = {"images": len(images), "device": machine_description(torch.device("cpu"))}
    return RDResults(codec.key, codec.description, table.results, meta, table.per_image)
