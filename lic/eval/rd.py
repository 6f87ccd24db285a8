"""Rate-distortion points of a model through real ``.lic`` files on disk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from lic.codec.image import EncodedImage, decode_image, encode_image
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
    encoder: Callable[[np.ndarray, float], EncodedImage] | None = None,
    name: str | None = None,
) -> RDResults:
    """Encodes every image at every quality to a file in ``workdir``, reads it back and decodes it.

    Per quality: mean bpp (file bytes x 8 / pixels), PSNR-RGB and MS-SSIM of the decoded
    image (which must equal the encoder's reconstruction bit for bit), encode and
    decode seconds per image, and the peak memory while coding. ``encoder(pixels, quality)``
    replaces the model's encoder (the overfit mode's fit); ``name`` the results' name.
    Per image and quality, ``meta["per_image"]`` keeps bpp, PSNR and the times.
    """
    if not images:
        raise LicError("no images to evaluate")
    device = next(iter(model.module.buffers())).device  # every lic model holds buffers (its CDF tables)
    table = RDTable()
    per_image: dict[str, dict[str, list[float]]] = {}
    for quality in qualities:
        measurements = []
        for path in images:
            pixels, _ = read_image(path)
            encoded = None

            def encode() -> bytes:
                nonlocal encoded
                encoded = encoder(pixels, quality) if encoder else encode_image(pixels, model, quality, refine=refine)
                return encoded.data

            measurement, decoded = measure_round_trip(pixels, encode, lambda data: decode_image(data, model)[0],
                                                      workdir / f"{path.stem}-q{quality:g}.lic", device)
            if not np.array_equal(decoded, encoded.reconstruction):
                raise LicError(f"{path}: decoded image differs from the encoder's reconstruction")
            measurements.append(measurement)
            row = per_image.setdefault(path.name, {"quality": [], "bpp": [], "psnr-rgb": [], "encoding_time": [],
                                                   "decoding_time": []})
            for key, value in (("quality", quality), ("bpp", measurement.bpp), ("psnr-rgb", measurement.psnr),
                               ("encoding_time", measurement.encode_seconds),
                               ("decoding_time", measurement.decode_seconds)):
                row[key].append(value)
        progress(table.add(quality, measurements))
    meta = {"images": len(images), "weights_sha256": model.digest.hex(), "device": machine_description(device),
            "torch": torch.__version__, "refine_steps": refine.steps if refine else 0, "per_image": per_image}
    suffix = f"-refine{refine.steps}" if refine and refine.steps else ""
    return RDResults(name or f"lic-{model.name}{suffix}", f"lic {model.name} (weights {model.digest.hex()[:16]}), through real "
                     ".lic files; peak_memory_mb: peak resident memory of the process while coding one image",
                     table.results, meta)
