"""Still images to ``.lic`` streams and back.

:func:`encode_image` returns the stream *and* the encoder's reconstruction;
:func:`decode_image` reproduces that reconstruction bit for bit (same machine).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from lic.codec.container import ColourFormat, ImageHeader, read_image_stream, write_image_stream
from lic.codec.imageio import check_size
from lic.codec.refine import RefineConfig, refine_latent
from lic.entropy.range_coder import RangeDecoder, RangeEncoder
from lic.errors import ModelMismatchError, UnsupportedInputError
from lic.models.weights import LoadedModel

MAX_LANES = 4
PIXELS_PER_LANE = 1 << 16
CODING_THREADS = 4
"""Intra-op threads of every network pass while coding, whatever the caller's setting.

CPU convolutions give results that depend on the thread count in the last bits
(measured: 1 thread differs from 2 or 4); a fixed count keeps the decoder's
entropy parameters and reconstruction equal to the encoder's on the same machine.
"""


@contextmanager
def coding_threads() -> Iterator[None]:
    """Runs the block with torch set to :data:`CODING_THREADS` intra-op threads."""
    previous = torch.get_num_threads()
    torch.set_num_threads(CODING_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@dataclass
class EncodedImage:
    """A coded image: the ``.lic`` bytes, the header, and what the decoder will output."""

    data: bytes
    header: ImageHeader
    reconstruction: np.ndarray

    @property
    def bpp(self) -> float:
        """Bits per pixel of the whole stream (file bytes x 8 / pixels)."""
        return len(self.data) * 8 / (self.header.width * self.header.height)


def lanes_for(width: int, height: int) -> int:
    """Coder lanes for an image: one per 64 Kpixel, at most 4 (see bitstream-spec.md)."""
    return max(1, min(MAX_LANES, width * height // PIXELS_PER_LANE))


def _to_tensor(pixels: np.ndarray, multiple: int, device: torch.device) -> torch.Tensor:
    x = torch.from_numpy(np.array(pixels, dtype=np.uint8, copy=True)).to(device)
    x = x.unsqueeze(-1).expand(*x.shape, 3) if x.ndim == 2 else x
    x = x.permute(2, 0, 1).unsqueeze(0).float().div(255.0)
    h, w = x.shape[2], x.shape[3]
    pad_h, pad_w = -h % multiple, -w % multiple
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
    return x


def _to_pixels(x_hat: torch.Tensor, height: int, width: int, colour: ColourFormat) -> np.ndarray:
    rgb = torch.round(x_hat[0, :, :height, :width].clamp(0, 1) * 255).to(torch.uint8).permute(1, 2, 0)
    pixels = rgb.cpu().numpy()
    if colour == ColourFormat.GRAY:
        pixels = ((pixels.astype(np.uint16).sum(axis=2) + 1) // 3).astype(np.uint8)
    return np.ascontiguousarray(pixels)


def check_quality(model: LoadedModel, quality: float) -> float:
    """Validates a quality for ``model`` (continuous, ``0 .. levels - 1``)."""
    top = model.module.rate_levels - 1
    if not 0.0 <= quality <= top:
        raise UnsupportedInputError(f"quality must be between 0 and {top} for model {model.name}, not {quality:g}")
    return float(np.float32(quality))


def encode_image(pixels: np.ndarray, model: LoadedModel, quality: float, lanes: int | None = None,
                 refine: RefineConfig | None = None) -> EncodedImage:
    """Codes an ``HxWx3`` (RGB) or ``HxW`` (grayscale) uint8 array.

    ``refine`` optimizes the latent for this image before coding (slower encode,
    fewer bits at equal quality; the decoder is unchanged).
    """
    quality = check_quality(model, quality)
    coded, reconstruction = encode_lanes(pixels, model, quality, lanes, refine)
    height, width = pixels.shape[:2]
    colour = ColourFormat.GRAY if pixels.ndim == 2 else ColourFormat.RGB
    header = ImageHeader(model.name, model.digest, quality, width, height, colour, tuple(len(b) for b in coded))
    return EncodedImage(write_image_stream(header, coded), header, reconstruction)


def encode_lanes(pixels: np.ndarray, model: LoadedModel, quality: float, lanes: int | None = None,
                 refine: RefineConfig | None = None) -> tuple[list[bytes], np.ndarray]:
    """The coded lanes of one picture (no container) and the decoder's exact output."""
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] != 3):
        raise UnsupportedInputError("expected an HxWx3 or HxW uint8 array")
    height, width = pixels.shape[:2]
    check_size(width, height)
    quality = check_quality(model, quality)
    colour = ColourFormat.GRAY if pixels.ndim == 2 else ColourFormat.RGB
    device = next(model.module.parameters()).device
    x = _to_tensor(pixels, model.module.downsampling, device)
    with coding_threads():
        if refine is not None and refine.steps > 0:
            y = refine_latent(model, x, quality, height, width, refine)
        else:
            with torch.inference_mode():
                y = model.module.analyze(x, quality)
        return _code_latent(y, model, quality, width, height, colour, lanes or lanes_for(width, height))


@torch.inference_mode()
def _code_latent(y: torch.Tensor, model: LoadedModel, quality: float, width: int, height: int,
                 colour: ColourFormat, lanes: int) -> tuple[list[bytes], np.ndarray]:
    encoder = RangeEncoder(lanes)
    y_hat = model.module.encode_latent(y, encoder)
    x_hat = model.module.synthesize(y_hat, quality)
    return encoder.finish(), _to_pixels(x_hat, height, width, colour)


def encode_image_to_bpp(pixels: np.ndarray, model: LoadedModel, target_bpp: float, steps: int = 8,
                        refine: RefineConfig | None = None) -> EncodedImage:
    """The highest quality whose stream stays within ``target_bpp`` (bisection on the quality).

    Rate grows with quality, so ``steps`` bisection steps pin the quality to
    ``(levels - 1) / 2**steps``. If even quality 0 exceeds the target, quality 0 is returned.
    """
    if not target_bpp > 0:
        raise UnsupportedInputError(f"target bpp must be positive, not {target_bpp:g}")
    low, high = 0.0, float(model.module.rate_levels - 1)
    best = encode_image(pixels, model, low, refine=refine)
    if best.bpp > target_bpp:
        return best
    top = encode_image(pixels, model, high, refine=refine)
    if top.bpp <= target_bpp:
        return top
    for _ in range(steps):
        mid = (low + high) / 2
        candidate = encode_image(pixels, model, mid, refine=refine)
        if candidate.bpp <= target_bpp:
            low, best = mid, candidate
        else:
            high = mid
    return best


def encode_image_at(pixels: np.ndarray, model: LoadedModel, quality: float | None = None,
                    bpp: float | None = None, refine: RefineConfig | None = None) -> EncodedImage:
    """Encodes at ``quality``, or at the best quality within ``bpp``, or at the model's default quality."""
    if bpp is not None:
        if quality is not None:
            raise UnsupportedInputError("give a quality or a target bpp, not both")
        return encode_image_to_bpp(pixels, model, bpp, refine=refine)
    return encode_image(pixels, model, model.default_quality if quality is None else quality, refine=refine)


def decode_image(data: bytes, model: LoadedModel, threads: int | None = None) -> tuple[np.ndarray, ImageHeader]:
    """Decodes a ``.lic`` stream made with ``model``; returns the pixels and the header."""
    header, lanes = read_image_stream(data)
    check_model(header.model, header.digest, model)
    pixels = decode_lanes(lanes, model, header.quality, header.width, header.height, header.colour, threads)
    return pixels, header


def check_model(name: str, digest: bytes, model: LoadedModel) -> None:
    """Refuses a stream made with other weights than ``model``'s."""
    if name != model.name or digest != model.digest:
        raise ModelMismatchError(
            f"stream was made with model {name} (weights {digest.hex()[:12]}), "
            f"but the available weights are {model.name} ({model.digest.hex()[:12]})"
        )


@torch.inference_mode()
def decode_lanes(lanes: list[bytes], model: LoadedModel, quality: float, width: int, height: int,
                 colour: ColourFormat, threads: int | None = None) -> np.ndarray:
    """Decodes the coded lanes of one picture (see :func:`encode_lanes`)."""
    check_size(width, height)
    quality = check_quality(model, quality)
    down = model.module.downsampling
    z_size = (-(-height // down), -(-width // down))
    device = next(model.module.parameters()).device
    decoder = RangeDecoder(lanes, threads or min(len(lanes), os.cpu_count() or 1))
    with coding_threads():
        y_hat = model.module.decode(decoder, quality, z_size, device)
        decoder.check_exhausted()
        x_hat = model.module.synthesize(y_hat, quality)
    return _to_pixels(x_hat, height, width, colour)
