"""Measuring one codec on one image through a real file, and averaging images into RD points."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lic.eval.memory import PeakMemory
from lic.eval.metrics import ms_ssim, psnr
from lic.eval.results import ms_ssim_db

POINT_KEYS = ("quality", "bpp", "psnr-rgb", "ms-ssim-rgb", "ms-ssim-db-rgb", "encoding_time", "decoding_time",
              "peak_memory_mb")
IMAGE_KEYS = ("bpp", "psnr-rgb", "ms-ssim-rgb", "encoding_time", "decoding_time", "peak_memory_mb")


@dataclass(frozen=True)
class ImageMeasurement:
    """One image coded once: rate, quality, times and peak memory."""

    bpp: float
    psnr: float
    ms_ssim: float | None
    encode_seconds: float
    decode_seconds: float
    peak_mib: float


def measure_round_trip(pixels: np.ndarray, encode: Callable[[], bytes], decode: Callable[[bytes], np.ndarray],
                       file: Path, device: torch.device | None = None) -> tuple[ImageMeasurement, np.ndarray]:
    """Encodes to ``file``, reads it back and decodes it; returns the measurement and the decoded image."""
    with PeakMemory(device) as memory:
        t0 = time.perf_counter()
        file.write_bytes(encode())
        t1 = time.perf_counter()
        data = file.read_bytes()
        t2 = time.perf_counter()
        decoded = decode(data)
        t3 = time.perf_counter()
    peak = memory.cuda_mib if device is not None and device.type == "cuda" else memory.cpu_mib
    height, width = pixels.shape[:2]
    measurement = ImageMeasurement(len(data) * 8 / (height * width), psnr(pixels, decoded), ms_ssim(pixels, decoded),
                                   t1 - t0, t3 - t2, peak)
    return measurement, decoded


def mean_or_none(values: list[float | None]) -> float | None:
    """Mean of the values that are not ``None`` (``None`` when there are none)."""
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None


class RDTable:
    """The ``results`` lists of an RD results file, one point (mean over images) at a time, and
    the same lists per image (``per_image``: one ``{"source": name, "bpp": [...], ...}`` per image,
    in the order of the first point)."""

    def __init__(self) -> None:
        self.results: dict[str, list] = {key: [] for key in POINT_KEYS}
        self.per_image: list[dict] = []

    def add(self, quality: float, images: list[ImageMeasurement], sources: list[str]) -> str:
        """Appends the mean of ``images`` (measured on the images named ``sources``, the same
        names in the same order at every quality) at ``quality``; returns a one-line summary."""
        if not self.per_image:
            self.per_image = [{"source": source, **{key: [] for key in IMAGE_KEYS}} for source in sources]
        if [entry["source"] for entry in self.per_image] != list(sources) or len(sources) != len(images):
            raise ValueError("every quality point must measure the same images in the same order")
        for entry, m in zip(self.per_image, images):
            values = (m.bpp, m.psnr, m.ms_ssim, m.encode_seconds, m.decode_seconds, m.peak_mib)
            for key, value in zip(IMAGE_KEYS, values):
                entry[key].append(value)
        ssim = mean_or_none([m.ms_ssim for m in images])
        point = {
            "quality": quality,
            "bpp": float(np.mean([m.bpp for m in images])),
            "psnr-rgb": float(np.mean([m.psnr for m in images])),
            "ms-ssim-rgb": ssim,
            "ms-ssim-db-rgb": None if ssim is None else ms_ssim_db(ssim),
            "encoding_time": float(np.mean([m.encode_seconds for m in images])),
            "decoding_time": float(np.mean([m.decode_seconds for m in images])),
            "peak_memory_mb": round(max(m.peak_mib for m in images), 1),
        }
        for key in POINT_KEYS:
            self.results[key].append(point[key])
        ssim_text = "" if ssim is None else f", MS-SSIM {ssim:.4f}"
        return (f"quality {quality:g}: {point['bpp']:.4f} bpp, {point['psnr-rgb']:.2f} dB{ssim_text}, "
                f"encode {point['encoding_time']:.3f} s, decode {point['decoding_time']:.3f} s per image, "
                f"peak {point['peak_memory_mb']:.0f} MiB")
