"""Image quality metrics on uint8 images: PSNR and MS-SSIM over RGB."""

from __future__ import annotations

import math

import numpy as np

# MS-SSIM's five scales with its 11-pixel window need sides of more than (11 - 1) * 2**4 pixels.
MS_SSIM_MIN_SIDE = 161


def psnr(a: np.ndarray, b: np.ndarray, rows: int = 512) -> float:
    """PSNR in dB between two uint8 images (grayscale compared as is).

    Squared errors are summed ``rows`` rows at a time in int64 (exact), so a 16000x12000
    image needs a few MB of scratch memory rather than float copies of the whole image.
    """
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} and {b.shape}")
    total = 0
    for i in range(0, a.shape[0], rows):
        diff = a[i : i + rows].astype(np.int64) - b[i : i + rows]
        total += int(np.dot(diff.ravel(), diff.ravel()))
    return psnr_from_mse(total / a.size if a.size else 0.0)


def psnr_from_mse(mse: float, peak: float = 255.0) -> float:
    """PSNR in dB of a mean squared error on a scale whose largest value is ``peak`` (inf for 0)."""
    return float("inf") if mse == 0 else 10 * math.log10(peak**2 / mse)


def ms_ssim(a: np.ndarray, b: np.ndarray) -> float | None:
    """MS-SSIM (0..1) between two uint8 images, as CompressAI computes it (data range 255,
    channels averaged); ``None`` for images too small for its five scales."""
    if min(a.shape[:2]) < MS_SSIM_MIN_SIDE:
        return None

    import torch
    from pytorch_msssim import ms_ssim as _ms_ssim

    def tensor(x: np.ndarray) -> torch.Tensor:
        x = x if x.ndim == 3 else x[:, :, None]
        return torch.from_numpy(np.array(x, dtype=np.float32)).permute(2, 0, 1)[None]

    with torch.inference_mode():
        return float(_ms_ssim(tensor(a), tensor(b), data_range=255.0))
