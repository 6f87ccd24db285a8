"""Rate-distortion points of a model through real ``.lic`` files on disk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from lic.codec.image import EncodedImage, decode_image, encode_image
from lic.codec.refine import RefineConfig
from lic.errors import LicError
from lic.eval.points import ImageMeasurement, RDTable, measure_round_trip
from lic.eval.results import RDResults
from lic.hardware import machine_description
from lic.io.imageio import read_image
from lic.models.weights import LoadedModel

ImageEncoder = Callable[[np.ndarray, float], EncodedImage]
"""``encoder(pixels, quality)``: an encoder that replaces the model's own (the overfit mode's fit)."""


def evaluate(
    model: LoadedModel,
    images: list[Path],
    qualities: list[float],
    workdir: Path,
    progress: Callable[[str], None] = lambda line: None,
    refine: RefineConfig | None = None,
    encoder: ImageEncoder | None = None,
    name: str | None = None,
) -> RDResults:
    """Encodes every image at every quality to a file in ``workdir``, reads it back and decodes it.

    Per quality: mean bpp (file bytes x 8 / pixels), PSNR-RGB and MS-SSIM of the decoded
    image (which must equal the encoder's reconstruction bit for bit), encode and
    decode seconds per image, and the peak memory while coding; per image, the same
    figures at every quality. ``encoder`` replaces the model's encoder; ``name`` the results' name.
    """
    if not images:
        raise LicError("no images to evaluate")
    table = RDTable()
    for quality in qualities:
        progress(table.add(quality, [measure_image(model, path, quality, workdir, refine, encoder) for path in images],
                           [path.name for path in images]))
    return rd_results(model, len(images), table, refine, machine_description(device_of(model)), name)


def measure_image(model: LoadedModel, path: Path, quality: float, workdir: Path,
                  refine: RefineConfig | None = None, encoder: ImageEncoder | None = None) -> ImageMeasurement:
    """One RD measurement: ``path`` coded at ``quality`` through a file in ``workdir``, decoded and checked."""
    pixels, _ = read_image(path)
    encoded = None

    def encode() -> bytes:
        nonlocal encoded
        encoded = encoder(pixels, quality) if encoder else encode_image(pixels, model, quality, refine=refine)
        return encoded.data

    measurement, decoded = measure_round_trip(pixels, encode, lambda data: decode_image(data, model)[0],
                                              workdir / f"{path.stem}-q{quality:g}.lic", device_of(model))
    if not np.array_equal(decoded, encoded.reconstruction):
        raise LicError(f"{path}: decoded image differs from the encoder's reconstruction")
    return measurement


def rd_results(model: LoadedModel, images: int, table: RDTable, refine: RefineConfig | None,
               machine: str, name: str | None = None) -> RDResults:
    """The results file of ``model`` on ``images`` images, measured on ``machine`` (:func:`machine_description`)."""
    meta = {"images": images, "weights_sha256": model.digest.hex(), "device": machine,
            "torch": torch.__version__, "refine_steps": refine.steps if refine else 0}
    suffix = f"-refine{refine.steps}" if refine and refine.steps else ""
    return RDResults(name or f"lic-{model.name}{suffix}", f"lic {model.name} (weights {model.digest.hex()[:16]}), "
                     "through real .lic files; peak_memory_mb: peak resident memory of the process while coding "
                     "one image", table.results, meta, table.per_image)


def device_of(model: LoadedModel) -> torch.device:
    """The device ``model`` runs on (every lic model holds buffers: its CDF tables)."""
    return next(iter(model.module.buffers())).device
