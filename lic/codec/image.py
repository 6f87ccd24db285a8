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

from lic.codec.overfit import decode_overfit
from lic.codec.pictures import check_quality, to_gray
from lic.codec.refine import RefineConfig, refine_latent
from lic.codec.tiles import MARGIN, check_piece_size, choose_tile_size, crop_pixels
from lic.entropy.range_coder import RangeDecoder, RangeEncoder
from lic.errors import CorruptStreamError, ModelMismatchError, UnsupportedInputError
from lic.format.container import ImageHeader, read_image_stream, write_image_stream
from lic.format.geometry import Box, padded_size, tiles_of
from lic.format.header import FLOAT_PARAMETERS, ColourFormat
from lic.limits import check_size
from lic.models.overfit import OverfitCodec
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
    """Coder lanes for an image or tile: one per 64 Kpixel, at most 4 (see bitstream-spec.md)."""
    return max(1, min(MAX_LANES, width * height // PIXELS_PER_LANE))


def _to_tensor(pixels: np.ndarray, device: torch.device) -> torch.Tensor:
    """``[1, 3, H, W]`` in [0, 1], channels-last (measured 1.3-1.5x faster CPU transforms)."""
    x = torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.uint8)).to(device)
    x = x.unsqueeze(-1).expand(*x.shape, 3) if x.ndim == 2 else x
    return x.permute(2, 0, 1).unsqueeze(0).float().div(255.0).contiguous(memory_format=torch.channels_last)


def _to_rgb(x_hat: torch.Tensor) -> np.ndarray:
    return torch.round(x_hat[0].clamp(0, 1) * 255).to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def stream_flags(model: LoadedModel) -> int:
    """Header flags a stream of ``model`` carries (float entropy parameters or not)."""
    return 0 if model.module.fixed_point else FLOAT_PARAMETERS


def encode_image(pixels: np.ndarray, model: LoadedModel, quality: float, lanes: int | None = None,
                 refine: RefineConfig | None = None, tile_size: int | None = None) -> EncodedImage:
    """Codes an ``HxWx3`` (RGB) or ``HxW`` (grayscale) uint8 array.

    ``refine`` optimizes the latent for this image before coding (slower encode,
    fewer bits at equal quality; the decoder is unchanged). ``tile_size`` forces a
    tile layout (0: one piece); by default only images above
    :data:`lic.limits.TILE_THRESHOLD` pixels are tiled.
    """
    quality = check_quality(model, quality)
    height, width = pixels.shape[:2]
    check_size(width, height)
    tile_size = choose_tile_size(width, height, tile_size)
    coded, reconstruction = encode_picture(pixels, model, quality, tile_size, lanes, refine)
    colour = ColourFormat.GRAY if pixels.ndim == 2 else ColourFormat.RGB
    header = ImageHeader(model=model.name, digest=model.digest, quality=quality, width=width, height=height,
                         colour=colour, tiles=tuple(tuple(len(b) for b in lanes_) for lanes_ in coded),
                         tile_size=tile_size, flags=stream_flags(model))
    return EncodedImage(write_image_stream(header, coded), header, reconstruction)


def encode_lanes(pixels: np.ndarray, model: LoadedModel, quality: float, lanes: int | None = None,
                 refine: RefineConfig | None = None) -> tuple[list[bytes], np.ndarray, torch.Tensor]:
    """One untiled picture: its coded lanes (no container), the decoder's exact output,
    and the decoded latent ``y_hat`` (the reference of a following P-frame)."""
    coded, reconstruction, y_hat = _encode_picture(pixels, model, quality, 0, lanes, refine)
    return coded[0], reconstruction, y_hat


def encode_picture(pixels: np.ndarray, model: LoadedModel, quality: float, tile_size: int = 0,
                   lanes: int | None = None,
                   refine: RefineConfig | None = None) -> tuple[list[list[bytes]], np.ndarray]:
    """The coded lanes of each tile of a picture and the decoder's exact output."""
    coded, reconstruction, _ = _encode_picture(pixels, model, quality, tile_size, lanes, refine)
    return coded, reconstruction


def analyze_picture(pixels: np.ndarray, model: LoadedModel, quality: float) -> torch.Tensor:
    """The latent ``y`` of an untiled picture (padded to multiples of 64), before quantization."""
    height, width = pixels.shape[:2]
    padded_h, padded_w = padded_size(width, height)
    x = _to_tensor(crop_pixels(pixels, Box(0, 0, padded_h, padded_w)), next(model.module.parameters()).device)
    with coding_threads(), torch.inference_mode():
        return model.module.analyze(x, quality)


def synthesize_picture(y_hat: torch.Tensor, model: LoadedModel, quality: float, width: int, height: int,
                       colour: ColourFormat = ColourFormat.RGB) -> np.ndarray:
    """The decoded pixels of an untiled picture's latent (what every decoder outputs)."""
    with coding_threads():
        return _synthesize(y_hat, model, quality, tiles_of(width, height, 0), width, height,
                           colour == ColourFormat.GRAY)


def _encode_picture(pixels: np.ndarray, model: LoadedModel, quality: float, tile_size: int,
                    lanes: int | None,
                    refine: RefineConfig | None) -> tuple[list[list[bytes]], np.ndarray, torch.Tensor]:
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] != 3):
        raise UnsupportedInputError("expected an HxWx3 or HxW uint8 array")
    height, width = pixels.shape[:2]
    check_size(width, height)
    check_piece_size(width, height, tile_size)
    quality = check_quality(model, quality)
    module = model.module
    device = next(module.parameters()).device
    tiles = tiles_of(width, height, tile_size)
    padded_h, padded_w = padded_size(width, height)
    margin = MARGIN if len(tiles) > 1 else 0
    stride = module.latent_stride
    y_hat = _latent_canvas(module, width, height, device)
    coded = []
    with coding_threads():
        for tile in tiles:
            outer = tile.grown(margin, padded_h, padded_w)
            x = _to_tensor(crop_pixels(pixels, outer), device)
            valid_h, valid_w = min(outer.bottom, height) - outer.top, min(outer.right, width) - outer.left
            if refine is not None and refine.steps > 0:
                y = refine_latent(model, x, quality, valid_h, valid_w, refine)
            else:
                with torch.inference_mode():
                    y = module.analyze(x, quality)
            rows, cols = tile.scaled(stride).within(outer.scaled(stride))
            encoder = RangeEncoder(lanes or lanes_for(tile.width, tile.height))
            with torch.inference_mode():
                _place(y_hat, tile.scaled(stride), module.encode_latent(y[:, :, rows, cols].contiguous(), encoder))
            coded.append(encoder.finish())
        reconstruction = _synthesize(y_hat, model, quality, tiles, width, height, pixels.ndim == 2)
    return coded, reconstruction, y_hat


def _latent_canvas(module: torch.nn.Module, width: int, height: int, device: torch.device) -> torch.Tensor:
    """Zeros in the shape of a picture's whole latent, for the tiles' latents to be placed in."""
    padded_h, padded_w = padded_size(width, height)
    stride = module.latent_stride
    return torch.zeros(1, module.config.M, padded_h // stride, padded_w // stride, device=device)


def _place(y_hat: torch.Tensor, box: Box, values: torch.Tensor) -> None:
    y_hat[:, :, box.top : box.bottom, box.left : box.right] = values


def range_decoder(lanes: list[bytes], threads: int | None = None) -> RangeDecoder:
    """A decoder for one picture's lanes, with ``threads`` threads (default: one per lane, up to the CPUs)."""
    return RangeDecoder(lanes, threads or min(len(lanes), os.cpu_count() or 1))


@torch.inference_mode()
def _synthesize(y_hat: torch.Tensor, model: LoadedModel, quality: float, tiles: list[Box], width: int, height: int,
                gray: bool) -> np.ndarray:
    """The decoded picture, synthesized tile by tile with latent context across tile borders."""
    stride = model.module.latent_stride
    margin = MARGIN // stride if len(tiles) > 1 else 0
    latent_h, latent_w = y_hat.shape[2], y_hat.shape[3]
    out = np.empty((height, width, 3), dtype=np.uint8)
    for tile in tiles:
        outer = tile.scaled(stride).grown(margin, latent_h, latent_w)
        y_crop = y_hat[:, :, outer.top : outer.bottom, outer.left : outer.right]
        x_hat = model.module.synthesize(y_crop.contiguous(memory_format=torch.channels_last), quality)
        visible = Box(tile.top, tile.left, min(tile.bottom, height), min(tile.right, width))
        rows, cols = visible.within(Box(outer.top * stride, outer.left * stride, 0, 0))
        out[visible.top : visible.bottom, visible.left : visible.right] = _to_rgb(x_hat[:, :, rows, cols])
    return to_gray(out) if gray else out


def encode_image_to_bpp(pixels: np.ndarray, model: LoadedModel, target_bpp: float, steps: int = 8,
                        refine: RefineConfig | None = None, tile_size: int | None = None) -> EncodedImage:
    """The highest quality whose stream stays within ``target_bpp`` (bisection on the quality).

    Rate grows with quality, so ``steps`` bisection steps pin the quality to
    ``(levels - 1) / 2**steps``. If even quality 0 exceeds the target, quality 0 is returned.
    """
    if not target_bpp > 0:
        raise UnsupportedInputError(f"target bpp must be positive, not {target_bpp:g}")
    low, high = 0.0, float(model.module.rate_levels - 1)
    best = encode_image(pixels, model, low, refine=refine, tile_size=tile_size)
    if best.bpp > target_bpp:
        return best
    top = encode_image(pixels, model, high, refine=refine, tile_size=tile_size)
    if top.bpp <= target_bpp:
        return top
    for _ in range(steps):
        mid = (low + high) / 2
        candidate = encode_image(pixels, model, mid, refine=refine, tile_size=tile_size)
        if candidate.bpp <= target_bpp:
            low, best = mid, candidate
        else:
            high = mid
    return best


def encode_image_at(pixels: np.ndarray, model: LoadedModel, quality: float | None = None,
                    bpp: float | None = None, refine: RefineConfig | None = None,
                    tile_size: int | None = None) -> EncodedImage:
    """Encodes at ``quality``, or at the best quality within ``bpp``, or at the model's default quality."""
    if bpp is not None:
        if quality is not None:
            raise UnsupportedInputError("give a quality or a target bpp, not both")
        return encode_image_to_bpp(pixels, model, bpp, refine=refine, tile_size=tile_size)
    return encode_image(pixels, model, model.default_quality if quality is None else quality, refine=refine,
                        tile_size=tile_size)


def decode_image(data: bytes, model: LoadedModel, threads: int | None = None) -> tuple[np.ndarray, ImageHeader]:
    """Decodes a ``.lic`` stream made with ``model``; returns the pixels and the header."""
    header, tiles = read_image_stream(data)
    check_model(header.model, header.digest, model, header.flags)
    if isinstance(model.module, OverfitCodec):
        return decode_overfit(header, tiles, model), header
    pixels = decode_picture(tiles, model, header.quality, header.width, header.height, header.colour,
                            header.tile_size, threads)
    return pixels, header


def distinct_prefixes(first: str, second: str, length: int = 12) -> tuple[str, str]:
    """The shortest prefixes of two digests, at least ``length`` long, that tell them apart."""
    while length < max(len(first), len(second)) and first[:length] == second[:length]:
        length += 4
    return first[:length], second[:length]


def check_model(name: str, digest: bytes, model: LoadedModel, flags: int) -> None:
    """Refuses a stream made with other weights than ``model``'s."""
    if name != model.name or digest != model.digest:
        wanted, available = distinct_prefixes(digest.hex(), model.digest.hex())
        raise ModelMismatchError(
            f"stream was made with model {name} (weights {wanted}), "
            f"but the available weights are {model.name} ({available})"
        )
    if flags != stream_flags(model):
        raise CorruptStreamError("header flags do not match the model's entropy-parameter arithmetic")


def decode_lanes(lanes: list[bytes], model: LoadedModel, quality: float, width: int, height: int,
                 threads: int | None = None) -> torch.Tensor:
    """The decoded latent ``y_hat`` of one untiled picture's lanes (see :func:`encode_lanes`);
    :func:`synthesize_picture` turns it into pixels."""
    return decode_latent([lanes], model, quality, width, height, 0, threads)


def decode_picture(tiles: list[list[bytes]], model: LoadedModel, quality: float, width: int, height: int,
                   colour: ColourFormat, tile_size: int = 0, threads: int | None = None) -> np.ndarray:
    """Decodes the coded lanes of each tile of a picture (see :func:`encode_picture`)."""
    y_hat = decode_latent(tiles, model, quality, width, height, tile_size, threads)
    with coding_threads():
        return _synthesize(y_hat, model, quality, tiles_of(width, height, tile_size), width, height,
                           colour == ColourFormat.GRAY)


@torch.inference_mode()
def decode_latent(tiles: list[list[bytes]], model: LoadedModel, quality: float, width: int, height: int,
                  tile_size: int = 0, threads: int | None = None) -> torch.Tensor:
    """The decoded latent ``y_hat`` of a picture, tiles placed side by side."""
    check_size(width, height)
    check_piece_size(width, height, tile_size)
    quality = check_quality(model, quality)
    module = model.module
    grid = tiles_of(width, height, tile_size)
    if len(grid) != len(tiles):
        raise CorruptStreamError("tile count does not match the image size")
    stride, down = module.latent_stride, module.downsampling
    device = next(module.parameters()).device
    y_hat = _latent_canvas(module, width, height, device)
    with coding_threads():
        for tile, lanes in zip(grid, tiles):
            decoder = range_decoder(lanes, threads)
            y_tile = module.decode(decoder, quality, (tile.height // down, tile.width // down), device)
            decoder.check_exhausted()
            _place(y_hat, tile.scaled(stride), y_tile)
    return y_hat
