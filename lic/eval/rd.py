"""Rate-distortion points of a model through real ``.lic`` files on disk."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from lic.codec.image import decode_image, encode_image
from lic.codec.imageio import read_image
from lic.codec.refine import RefineConfig
from lic.errors import LicError
from lic.eval.memory import PeakMemory
from lic.eval.metrics import ms_ssim, psnr
from lic.eval.results import RDResults, ms_ssim_db
from lic.models.weights import LoadedModel


def mean_or_none(values: list[float | None]) -> float | None:
    """Mean of the values that are not ``None`` (``None`` when there are none)."""
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None


def machine_description(device: torch.device) -> str:
    """The hardware a timing was taken on, in words."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {torch.get_num_threads()} torch threads"


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
    keys = ("quality", "bpp", "psnr-rgb", "ms-ssim-rgb", "ms-ssim-db-rgb", "encoding_time", "decoding_time",
            "peak_memory_mb")
    results: dict[str, list] = {k: [] for k in keys}
    for quality in qualities:
        bpp, psnrs, ssims, t_enc, t_dec, peak = [], [], [], 0.0, 0.0, 0.0
        for path in images:
            pixels, _ = read_image(path)
            with PeakMemory(device) as memory:
                t0 = time.perf_counter()
                encoded = encode_image(pixels, model, quality, refine=refine)
                t_enc += time.perf_counter() - t0
                file = workdir / f"{path.stem}-q{quality:g}.lic"
                file.write_bytes(encoded.data)
                data = file.read_bytes()
                t0 = time.perf_counter()
                decoded, _ = decode_image(data, model)
                t_dec += time.perf_counter() - t0
            peak = max(peak, memory.cuda_mib if device.type == "cuda" else memory.cpu_mib)
            if not np.array_equal(decoded, encoded.reconstruction):
                raise LicError(f"{path}: decoded image differs from the encoder's reconstruction")
            bpp.append(len(data) * 8 / (pixels.shape[0] * pixels.shape[1]))
            psnrs.append(psnr(pixels, decoded))
            ssims.append(ms_ssim(pixels, decoded))
        ssim = mean_or_none(ssims)
        point = {"quality": quality, "bpp": float(np.mean(bpp)), "psnr-rgb": float(np.mean(psnrs)),
                 "ms-ssim-rgb": ssim, "ms-ssim-db-rgb": None if ssim is None else ms_ssim_db(ssim),
                 "encoding_time": t_enc / len(images), "decoding_time": t_dec / len(images),
                 "peak_memory_mb": round(peak, 1)}
        for key in keys:
            results[key].append(point[key])
        ssim_text = "" if ssim is None else f", MS-SSIM {ssim:.4f}"
        progress(f"quality {quality:g}: {point['bpp']:.4f} bpp, {point['psnr-rgb']:.2f} dB{ssim_text}, "
                 f"encode {point['encoding_time']:.2f} s, decode {point['decoding_time']:.2f} s per image, "
                 f"peak {peak:.0f} MiB")
    meta = {"images": len(images), "weights_sha256": model.digest.hex(), "device": machine_description(device),
            "torch": torch.__version__, "refine_steps": refine.steps if refine else 0}
    suffix = f"-refine{refine.steps}" if refine and refine.steps else ""
    return RDResults(f"lic-{model.name}{suffix}", f"lic {model.name} (weights {model.digest.hex()[:16]}), through real "
                     ".lic files; peak_memory_mb: peak resident memory of the process while coding one image",
                     results, meta)
