"""RD points of a classical codec through real files, in the same layout as ``lic eval``."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from lic.codec.imageio import read_image
from lic.errors import LicError
from lic.eval.classical import ClassicalCodec
from lic.eval.memory import PeakMemory
from lic.eval.metrics import ms_ssim, psnr
from lic.eval.rd import machine_description, mean_or_none
from lic.eval.results import RDResults, ms_ssim_db


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
    keys = ("quality", "bpp", "psnr-rgb", "ms-ssim-rgb", "ms-ssim-db-rgb", "encoding_time", "decoding_time",
            "peak_memory_mb")
    results: dict[str, list] = {k: [] for k in keys}
    for quality in qualities:
        bpp, psnrs, ssims, t_enc, t_dec, peak = [], [], [], 0.0, 0.0, 0.0
        for path in images:
            pixels, _ = read_image(path)
            if pixels.ndim == 2:
                pixels = np.repeat(pixels[:, :, None], 3, axis=2)
            height, width = pixels.shape[:2]
            with PeakMemory() as memory:
                t0 = time.perf_counter()
                data = codec.encode(pixels, quality)
                t_enc += time.perf_counter() - t0
                file = workdir / f"{path.stem}-q{quality:g}{codec.suffix}"
                file.write_bytes(data)
                t0 = time.perf_counter()
                decoded = codec.decode(file.read_bytes(), width, height)
                t_dec += time.perf_counter() - t0
            peak = max(peak, memory.cpu_mib)
            if decoded.shape != pixels.shape:
                raise LicError(f"{codec.key}: {path.name} decoded to {decoded.shape}, expected {pixels.shape}")
            bpp.append(file.stat().st_size * 8 / (width * height))
            psnrs.append(psnr(pixels, decoded))
            ssims.append(ms_ssim(pixels, decoded))
        ssim = mean_or_none(ssims)
        point = {"quality": quality, "bpp": float(np.mean(bpp)), "psnr-rgb": float(np.mean(psnrs)),
                 "ms-ssim-rgb": ssim, "ms-ssim-db-rgb": None if ssim is None else ms_ssim_db(ssim),
                 "encoding_time": t_enc / len(images), "decoding_time": t_dec / len(images),
                 "peak_memory_mb": round(peak, 1)}
        for key in keys:
            results[key].append(point[key])
        progress(f"{codec.key} quality {quality:g}: {point['bpp']:.4f} bpp, {point['psnr-rgb']:.2f} dB, "
                 f"encode {point['encoding_time']:.3f} s, decode {point['decoding_time']:.3f} s per image")
    meta = {"images": len(images), "device": machine_description(torch.device("cpu"))}
    return RDResults(codec.key, codec.description, results, meta)
