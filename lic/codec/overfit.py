"""Overfitted image streams (``lic encode --mode overfit``, bitstream-spec.md section 6).

The encoder fits latent grids and tiny networks to the image (:mod:`lic.codec.overfit_fit`),
quantizes the network weights (a power-of-two step per network, then per tensor, chosen by
measured rate and distortion), and codes everything in an ordinary image container (model ``overfit``, one tile,
two lanes): lane 0 is the parameter header (network sizes, each tensor's step and table),
lane 1 one range-coder lane with the weights' integers followed by the latents, whose tables
the C++ ARM loop (``lic/entropy/csrc/arm.cpp``) chooses from already coded neighbours. Both
ends rebuild the image with :class:`~lic.models.overfit.ExactNetwork`, in fixed point, so the
decoder's pixels equal the encoder's reconstruction on any machine and thread count.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from lic.codec.overfit_fit import FitConfig, FitProgress, FittedImage, fit_candidates
from lic.codec.pictures import check_quality, to_gray
from lic.codec.tensor_coding import (
    ENTRY,
    QuantizedTensor,
    TensorEntry,
    pack_entries,
    pull_tensors,
    push_tensors,
    unpack_entries,
)
from lic.entropy import _rans
from lic.entropy.range_coder import RangeDecoder, RangeEncoder
from lic.errors import CorruptStreamError, UnsupportedInputError, UnsupportedStreamError
from lic.format.container import ImageHeader, write_image_stream
from lic.format.header import ColourFormat
from lic.limits import check_size
from lic.models.fixed_point import InexactNetworkError
from lic.models.overfit import (
    ARM_GROUP,
    CONTEXT,
    NETWORK_GROUPS,
    ExactNetwork,
    OverfitCodec,
    OverfitNetwork,
    OverfitShape,
    tensor_layout,
)
from lic.models.weights import LoadedModel

MAX_PIXELS = 1 << 22
"""Largest overfit image (4 Mpixel, e.g. 2048x2048): fitting scales with the pixels, and the
limit bounds a decoder's work and memory whatever a header claims."""
_SHAPE = struct.Struct("<4B")  # grids (with the flags below), arm_width, arm_layers, synthesis_width
_GRIDS_MASK = 0x0F
"""Bits 0..3 of the grids byte: the latent grid count."""
_RESERVED_BITS = 0x30
"""Bits 4 and 5 of the grids byte: reserved, 0."""
_SYMMETRIC_FLAG = 0x80
"""Bit 7 of the grids byte: symmetric upsampling kernels and 2-byte tensor entries (bitstream-spec.md section 6.1)."""
_COARSE_FLAG = 0x40
"""Bit 6 of the grids byte: :data:`_COARSE_SHAPE` follows (hyperlatents, coarse-grid features; coarse-to-fine order)."""
_COARSE_SHAPE = struct.Struct("<BB")  # hyper_grids, coarse_features | coarse_feature_grids << 4
_COMPACT_ENTRY = struct.Struct("<BB")  # step exponent e (step 2^-e), Gaussian table
MAX_EXPONENT = 14
"""Steps are ``2^-e`` with ``0 <= e <= 14``: the fixed-point weights ``q * 2^(14 - e)`` are integers."""
STEP_CANDIDATES = tuple(range(5, 13))
LATENT_LIMIT = 1 << 15


@dataclass
class OverfitEncoded:
    """A coded image: stream, header, the decoder's exact output, and the fit's figures."""

    data: bytes
    header: ImageHeader
    reconstruction: np.ndarray
    exponents: tuple[int, ...]
    """Step exponent ``e`` (step ``2^-e``) of each network tensor, in stream order
    (:func:`~lic.models.overfit.tensor_layout`)."""

    @property
    def bpp(self) -> float:
        """Bits per pixel of the whole stream."""
        return len(self.data) * 8 / (self.header.width * self.header.height)


def check_overfit_size(width: int, height: int) -> None:
    """Refuses images above :data:`MAX_PIXELS` (and any the general pixel limit refuses)."""
    check_size(width, height)
    if width * height > MAX_PIXELS:
        raise UnsupportedInputError(f"overfit mode codes images of at most {MAX_PIXELS:,} pixels, "
                                    f"not {width}x{height}")


def _groups(shape: OverfitShape) -> list[int]:
    """Quantization group of each tensor in stream order (:func:`~lic.models.overfit.tensor_layout`)."""
    return [group for group, _ in tensor_layout(shape)]


def _arm_model(network: ExactNetwork, codec: OverfitCodec) -> _rans.ArmModel:
    c = codec.config
    return _rans.ArmModel(network.cpp_arm_layers(), [dy for dy, _ in CONTEXT], [dx for _, dx in CONTEXT],
                          c.scale_base, c.scale_step, c.scale_levels, c.mean_bits, network.shape.coarse_features,
                          network.cpp_feature_layers())


@dataclass(frozen=True)
class _Coded:
    entries: bytes
    lane: bytes
    reconstruction: np.ndarray
    exponents: list[int]


def _quantize(tensors: list[torch.Tensor], exponents: list[int]) -> list[QuantizedTensor]:
    return [QuantizedTensor.with_step(t, 2.0**-e) for t, e in zip(tensors, exponents, strict=True)]


def _coded_grids(shape: OverfitShape, width: int, height: int) -> list[tuple[int, int, int, int]]:
    """``(index, h, w, level)`` of every grid (index into :meth:`OverfitShape.levels`) in the stream's coding
    order (:meth:`OverfitShape.coding_order`)."""
    levels, sizes = shape.levels(), shape.latent_sizes(width, height)
    return [(i, *sizes[i], levels[i]) for i in shape.coding_order()]


def _latent_lane(network: ExactNetwork, grids: list[np.ndarray], codec: OverfitCodec,
                 encoder: RangeEncoder | None = None) -> bytes:
    """The latents (``grids`` as :meth:`OverfitShape.levels`) range-coded in coding order after what ``encoder``
    holds (a new encoder when None): the finished lane."""
    height, width = grids[0].shape
    coded = _coded_grids(network.shape, width, height)
    values = np.concatenate([grids[i].reshape(-1) for i, *_ in coded]).astype(np.int32)
    symbols = _arm_model(network, codec).symbols([h for _, h, _, _ in coded], [w for _, _, w, _ in coded], values,
                                                 [level for *_, level in coded])
    encoder = encoder or RangeEncoder(1)
    encoder.encode(*symbols, codec.latent_tables())
    return encoder.finish()[0]


def _rd_cost(reconstruction: np.ndarray, rgb: np.ndarray, bits: int, lmbda: float) -> float:
    """``MSE + lambda * bpp`` of a reconstruction of ``rgb`` (pixels scaled to 0..1) coded in ``bits``."""
    mse = float(np.mean((reconstruction.astype(np.float64) - rgb) ** 2)) / 255.0**2
    return mse + lmbda * bits / (rgb.shape[0] * rgb.shape[1])


def _code(float_tensors: list[torch.Tensor], exponents: list[int], shape: OverfitShape, grids: list[np.ndarray],
          codec: OverfitCodec) -> _Coded:
    """Quantizes the tensors with steps ``2^-exponents`` and codes them and the latents (lane 1)."""
    tensors = _quantize(float_tensors, exponents)
    network = ExactNetwork.of(shape, [t.symbols for t in tensors], exponents)
    encoder = RangeEncoder(1)
    entries = _pack_entries(push_tensors(tensors, codec.prior, encoder), shape)
    return _Coded(entries, _latent_lane(network, grids, codec, encoder), network.reconstruct(grids), exponents)


def _tensor_bits(tensors: list[QuantizedTensor], shape: OverfitShape, codec: OverfitCodec) -> int:
    """Bits of ``tensors`` in a stream of ``shape``: their integers and parameter-header entries."""
    encoder = RangeEncoder(1)
    entries = _pack_entries(push_tensors(tensors, codec.prior, encoder), shape)
    return 8 * (len(entries) + len(encoder.finish()[0]))


def _pack_entries(entries: list[TensorEntry], shape: OverfitShape) -> bytes:
    """Tensor entries as the stream stores them: 2-byte ``(e, table)`` in the symmetric form, else 5-byte."""
    if not shape.symmetric_kernels:
        return pack_entries(entries)
    return b"".join(_COMPACT_ENTRY.pack(_exponent(step), table) for step, table in entries)


def _choose_steps(float_tensors: list[torch.Tensor], shape: OverfitShape, grids: list[np.ndarray], rgb: np.ndarray,
                  lmbda: float, codec: OverfitCodec, per_tensor: bool = True) -> list[int]:
    """Step exponent of each tensor: per network, the candidate of least measured ``MSE + lambda * bpp``;
    with ``per_tensor``, then each tensor's moved one step either way where that lowers the cost.

    The ARM's step changes only the rate (its weights' and the latents'), the upsampling's and
    synthesis's only their weights' rate and the distortion, so each is chosen on its own terms.
    """
    groups = _groups(shape)
    pixel_count = rgb.shape[0] * rgb.shape[1]

    def cost(group: int, candidate: list[int]) -> float:
        """The group's share of ``MSE + lambda * bpp`` with steps ``2^-candidate`` (inf if inexact)."""
        tensors = _quantize(float_tensors, candidate)
        try:
            network = ExactNetwork.of(shape, [t.symbols for t in tensors], candidate)
        except InexactNetworkError:
            return math.inf
        bits = _tensor_bits([t for t, g in zip(tensors, groups) if g == group], shape, codec)
        if group == ARM_GROUP:
            return lmbda * (bits + 8 * len(_latent_lane(network, grids, codec))) / pixel_count
        return _rd_cost(network.reconstruct(grids), rgb, bits, lmbda)

    exponents = [MAX_EXPONENT - 2] * len(groups)
    costs = {}
    for group in NETWORK_GROUPS:
        trials = [[e if g == group else x for g, x in zip(groups, exponents)] for e in STEP_CANDIDATES]
        scored = [(cost(group, candidate), candidate) for candidate in trials]
        costs[group], best = min(scored, key=lambda pair: pair[0])
        if costs[group] == math.inf:
            raise UnsupportedInputError("the fitted networks have no exact fixed-point form (weights too large)")
        exponents = best
    if per_tensor:
        # the distortion moved with the later groups
        costs = {group: cost(group, exponents) for group in NETWORK_GROUPS}
        for index, group in enumerate(groups):
            for e in (exponents[index] - 1, exponents[index] + 1):
                if 0 <= e <= MAX_EXPONENT:
                    candidate = [*exponents[:index], e, *exponents[index + 1 :]]
                    trial_cost = cost(group, candidate)
                    if trial_cost < costs[group]:
                        costs[group], exponents = trial_cost, candidate
    return exponents


def _code_fitted(fitted: FittedImage, rgb: np.ndarray, lmbda: float, codec: OverfitCodec,
                 per_tensor: bool = True) -> tuple[float, _Coded]:
    """The coded candidate and its measured ``MSE + lambda * bpp`` (payload bytes; the headers are the same)."""
    grids = [torch.round(y).clamp(-LATENT_LIMIT, LATENT_LIMIT).to(torch.int32).numpy() for y in fitted.latents]
    float_tensors = [t.detach() for t in fitted.network.tensors()]
    shape = fitted.network.shape
    exponents = _choose_steps(float_tensors, shape, grids, rgb, lmbda, codec, per_tensor)
    coded = _code(float_tensors, exponents, shape, grids, codec)
    return _rd_cost(coded.reconstruction, rgb, 8 * (len(coded.entries) + len(coded.lane)), lmbda), coded


def encode_overfit(pixels: np.ndarray, model: LoadedModel, quality: float, fit: FitConfig,
                   progress: Callable[[FitProgress], None] | None = None, workers: int = 1,
                   device: str = "cpu") -> OverfitEncoded:
    """Fits, quantizes and codes an ``HxWx3`` (RGB) or ``HxW`` (grayscale) uint8 image at ``quality``.

    With ``fit.restarts`` > 1 the image is fitted that many times (seeds ``fit.seed``, ``fit.seed + 1``,
    ...), up to ``workers`` fits at once in separate processes, and the candidate whose coded stream has
    the lowest ``MSE + lambda * bpp`` is kept. The result does not depend on ``workers``. The fits run on
    ``device`` (``lic encode --mode overfit --device cuda``); quantizing and coding run on the CPU, so the
    stream decodes exactly anywhere, but a CUDA fit gives another stream than a CPU fit.
    """
    codec = model.module
    if not isinstance(codec, OverfitCodec):
        raise UnsupportedInputError(f"model {model.name} is not the overfit codec")
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] != 3):
        raise UnsupportedInputError("expected an HxWx3 or HxW uint8 array")
    quality = check_quality(model, quality)
    height, width = pixels.shape[:2]
    check_overfit_size(width, height)
    gray = pixels.ndim == 2
    rgb = np.repeat(pixels[:, :, None], 3, axis=2) if gray else pixels
    fit = fit.sized_for(width, height)
    lmbda = codec.config.lmbda(quality)
    candidates = [_code_fitted(f, rgb, lmbda, codec)
                  for f in fit_candidates(rgb, lmbda, fit, codec.config, progress, workers, device)]
    best = min(candidates, key=lambda candidate: candidate[0])[1]
    shape = fit.shape
    head = _pack_shape(shape) + best.entries
    head += bytes(-len(head) % 4)
    lanes = [head, best.lane]
    colour = ColourFormat.GRAY if gray else ColourFormat.RGB
    header = ImageHeader(model=model.name, digest=model.digest, quality=quality, width=width, height=height,
                         colour=colour, tiles=(tuple(len(b) for b in lanes),))
    reconstruction = to_gray(best.reconstruction) if gray else best.reconstruction
    return OverfitEncoded(write_image_stream(header, [lanes]), header, reconstruction, tuple(best.exponents))


def _pack_shape(shape: OverfitShape) -> bytes:
    form = (_SYMMETRIC_FLAG if shape.symmetric_kernels else 0) | (_COARSE_FLAG if shape.coarse_order else 0)
    head = _SHAPE.pack(shape.grids | form, shape.arm_width, shape.arm_layers, shape.synthesis_width)
    if shape.coarse_order:
        head += _COARSE_SHAPE.pack(shape.hyper_grids, shape.coarse_features | shape.coarse_feature_grids << 4)
    return head


def read_shape(lane: bytes) -> tuple[OverfitShape, list[TensorEntry]]:
    """The network sizes and tensor entries of an overfit stream's parameter header."""
    if len(lane) < _SHAPE.size:
        raise CorruptStreamError("damaged overfit parameter header")
    grids, arm_width, arm_layers, synthesis_width = _SHAPE.unpack_from(lane)
    start = _SHAPE.size
    hyper_grids = features = feature_grids = 0
    if grids & _COARSE_FLAG:
        if len(lane) < start + _COARSE_SHAPE.size:
            raise CorruptStreamError("damaged overfit parameter header")
        hyper_grids, packed = _COARSE_SHAPE.unpack_from(lane, start)
        features, feature_grids = packed & 0x0F, packed >> 4
        start += _COARSE_SHAPE.size
        if not (hyper_grids or features):
            raise CorruptStreamError("overfit parameter header: coarse-to-fine layout without hyperlatents or features")
    shape = OverfitShape(grids & _GRIDS_MASK, arm_width, arm_layers, synthesis_width, bool(grids & _SYMMETRIC_FLAG),
                         hyper_grids, features, feature_grids)
    if grids & _RESERVED_BITS:
        raise CorruptStreamError("overfit parameter header: reserved bits of the grids byte are set")
    try:
        shape.validate()
    except ValueError as exc:
        raise CorruptStreamError(f"overfit parameter header: {exc}") from None
    count = len(_groups(shape))
    size = start + (_COMPACT_ENTRY.size if shape.symmetric_kernels else ENTRY.size) * count
    if len(lane) != size + (-size % 4) or any(lane[size:]):
        raise CorruptStreamError("overfit parameter header has the wrong size")
    entries = lane[start:size]
    if not shape.symmetric_kernels:
        return shape, unpack_entries(entries, count, "overfit parameter header")
    compact = list(_COMPACT_ENTRY.iter_unpack(entries))
    if any(e > MAX_EXPONENT for e, _ in compact):
        raise CorruptStreamError(f"overfit parameter header: a step exponent above {MAX_EXPONENT}")
    return shape, [TensorEntry(2.0**-e, table) for e, table in compact]


def _exponent(step: float) -> int:
    mantissa, power = math.frexp(step)
    if mantissa != 0.5 or not 0 <= 1 - power <= MAX_EXPONENT:
        raise CorruptStreamError(f"overfit parameter header: step {step:g} is not 2^-e with 0 <= e <= {MAX_EXPONENT}")
    return 1 - power


def decode_overfit(header: ImageHeader, tiles: list[list[bytes]], model: LoadedModel) -> np.ndarray:
    """The pixels of an overfit stream's parsed container (header checked against ``model`` by the caller)."""
    network, grids = decode_overfit_latents(header, tiles, model)
    pixels = network.reconstruct(grids)
    return to_gray(pixels) if header.colour == ColourFormat.GRAY else pixels


def decode_overfit_latents(header: ImageHeader, tiles: list[list[bytes]],
                           model: LoadedModel) -> tuple[ExactNetwork, list[np.ndarray]]:
    """The exact networks and the integer grids (as :meth:`OverfitShape.levels`: latents finest first, then
    hyperlatents) of an overfit stream's parsed container."""
    codec = model.module
    if len(tiles) != 1 or len(tiles[0]) != 2 or header.tile_size:
        raise CorruptStreamError("an overfit stream has one tile of two lanes")
    try:
        check_overfit_size(header.width, header.height)
    except UnsupportedInputError as exc:
        raise UnsupportedStreamError(str(exc)) from None
    shape, entries = read_shape(tiles[0][0])
    shapes = [tuple(t.shape) for t in OverfitNetwork(shape).tensors()]
    decoder = RangeDecoder([tiles[0][1]])
    tensors = pull_tensors(entries, decoder, shapes, codec.prior, "overfit stream")
    exponents = [_exponent(t.step) for t in tensors]
    try:
        network = ExactNetwork.of(shape, [t.symbols for t in tensors], exponents)
    except InexactNetworkError:
        raise CorruptStreamError("overfit stream: network weights out of the exact range") from None
    coded = _coded_grids(shape, header.width, header.height)
    values = decoder.decode_arm(_arm_model(network, codec), [h for _, h, _, _ in coded], [w for _, _, w, _ in coded],
                                codec.latent_tables(), [level for *_, level in coded])
    decoder.check_exhausted()
    grids: list[np.ndarray] = [np.empty(0)] * len(coded)
    pos = 0
    for i, h, w, _ in coded:
        grids[i] = values[pos : pos + h * w].reshape(h, w)
        pos += h * w
    return network, grids
