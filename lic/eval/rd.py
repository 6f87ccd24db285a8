"""Rate-distortion points of a model through real ``.lic`` files on disk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from lic.codec.image import decode_image, encode_image
from lic.codec.imageio import read_image
from lic.codec.refine import RefineConfig
from lic.errors import LicError
from lic.hardware import machine_description
from lic.eval.points import RDTable, measure_round_trip
from lic.eval.results import RDResults
from lic.models.weights import LoadedModel


def evaluate(
    model: LoadedModel,
    images: list[Path],
    qualities: list[float],
    workdir: Path,
    progress: Callable[[str], None] = lambda line: None,
    refine: RefineConfig | None = None,
) -> RDResults:
    """Encodes every image at every quality to a file in ``workdir``, reads it back and decodes it.

    Per quality: mean bpp (file bytes x 8 / pixels), PSNR-RGB and MS-SSIM of the decoded
    image (which must equal the encoder's reconstruction bit for bit), encode and
    decode seconds per image, and the peak memory while coding.
    """
    if not images:
        raise LicError("no images to evaluate")
    device = next(model.module.parameters()).device
    table = RDTable()
    for quality in qualities:
        measurements = []
        for path in images:
            pixels, _ = read_image(path)
            encoded = None

            def encode() -> bytes:
                nonlocal encoded
                encoded = encode_image(pixels, model, quality, refine=refine)
                return encoded.data

            measurement, decoded = measure_round_trip(pixels, encode, lambda data: decode_image(data, model)[0],
                                                      workdir / f"{path.stem}-q{quality:g}.lic", device)
            if not np.array_equal(decoded, encoded.reconstruction):
                raise LicError(f"{path}: decoded image differs from the encoder's reconstruction")
            measurements.append(measurement)
        progress(table.add(quality, measurements, [path.name for path in images]))
    meta = {"images": len(images), "weights_sha256": model.digest.hex(), "device": machine_description(device),
            "torch": torch.__version__, "refine_steps": refine.steps if refine else 0}
    suffix = f"-refine{refine.steps}" if refine and refine.steps else ""
    return RDResults(f"lic-{model.name}{suffix}", f"lic {model.name} (weights {model.digest.hex()[:16]}), through real "
                     ".lic files; peak_memory_mb: peak resident memory of the process while coding one image",
                     table.results, meta, table.per_image)
