"""Quantized network tensors and their coding with the range coder (bitstream-spec.md §5.5 and §6).

Every tensor is sent as integers ``q`` and a step ``s`` (f32): its values are
``float32(q) * s``. Each tensor has an entry ``(step, table)`` in a parameter header (the INR
mode stores it in 5 bytes, :func:`pack_entries`; the overfit mode packs its own); its integers
are coded in row-major order with that table of a zero-mean Gaussian prior (the encoder picks
the table whose scale is the integers' root mean square; the escape code carries any integer
outside the table). Used by the INR video mode and the overfitted image mode.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from lic.entropy.priors import GaussianPrior
from lic.entropy.range_coder import RangeDecoder, RangeEncoder
from lic.errors import CorruptStreamError

ENTRY = struct.Struct("<fB")
"""The 5-byte form of a tensor's entry: step (f32), table (u8)."""
MAX_STEP = 1e4


class TensorEntry(NamedTuple):
    """What a decoder needs besides a tensor's integers: the step they multiply and their table."""

    step: float
    table: int


def pack_entries(entries: list[TensorEntry]) -> bytes:
    """The entries in their 5-byte form (:data:`ENTRY`), in order."""
    return b"".join(ENTRY.pack(*entry) for entry in entries)


def unpack_entries(data: bytes, count: int, where: str) -> list[TensorEntry]:
    """Inverse of :func:`pack_entries` for ``count`` entries (``data`` must hold exactly those)."""
    if len(data) != ENTRY.size * count:
        raise CorruptStreamError(f"{where}: damaged parameter header")
    return [TensorEntry(*entry) for entry in ENTRY.iter_unpack(data)]


def quantization_step(values: Tensor, bits: int) -> float:
    """Uniform step that maps ``values`` onto ``±(2^(bits-1) - 1)``, as a float32 number."""
    peak = float(values.detach().abs().max())
    return float(np.float32(max(peak, 1e-8) / (2 ** (bits - 1) - 1)))


@dataclass(frozen=True)
class QuantizedTensor:
    """Integers and the step they are multiplied by; the values are ``symbols * step`` in float32."""

    symbols: np.ndarray
    step: float

    @classmethod
    def of(cls, values: Tensor, bits: int) -> QuantizedTensor:
        """Rounds ``values`` to the uniform grid of :func:`quantization_step`."""
        return cls.with_step(values, quantization_step(values, bits))

    @classmethod
    def with_step(cls, values: Tensor, step: float) -> QuantizedTensor:
        """Rounds ``values`` to multiples of ``step`` (a float32 number)."""
        return cls(torch.round(values.detach() / step).to(torch.int32).numpy(), step)

    def values(self) -> Tensor:
        """The dequantized tensor."""
        return torch.from_numpy(self.symbols.astype(np.float32)) * np.float32(self.step)


def _table_of(symbols: np.ndarray, prior: GaussianPrior) -> int:
    """The Gaussian table whose scale is the symbols' root mean square (encoder's choice only)."""
    rms = float(np.sqrt(np.mean(symbols.astype(np.float64) ** 2))) if symbols.size else 0.0
    return int(prior.table_indexes(torch.tensor([rms], dtype=torch.float64))[0])


def push_tensors(tensors: list[QuantizedTensor], prior: GaussianPrior, encoder: RangeEncoder) -> list[TensorEntry]:
    """Queues the integers of ``tensors`` in order on ``encoder``; returns their entries."""
    entries = []
    for tensor in tensors:
        table = _table_of(tensor.symbols, prior)
        entries.append(TensorEntry(tensor.step, table))
        flat = tensor.symbols.reshape(-1)
        encoder.encode(flat, np.full(flat.size, table, dtype=np.int32), prior.tables())
    return entries


def pull_tensors(entries: list[TensorEntry], decoder: RangeDecoder, shapes: list[tuple[int, ...]],
                 prior: GaussianPrior, where: str) -> list[QuantizedTensor]:
    """Inverse of :func:`push_tensors` for tensors of known ``shapes`` (one entry each)."""
    if len(entries) != len(shapes):
        raise CorruptStreamError(f"{where}: damaged parameter header")
    out = []
    for (step, table), shape in zip(entries, shapes, strict=True):
        if not (0 < step < MAX_STEP) or table >= len(prior.tables()):
            raise CorruptStreamError(f"{where}: invalid quantization step or table")
        symbols = decoder.decode(np.full(math.prod(shape), table, dtype=np.int32), prior.tables())
        out.append(QuantizedTensor(symbols.reshape(shape), step))
    return out


def encode_tensors(tensors: list[QuantizedTensor], prior: GaussianPrior) -> tuple[bytes, bytes]:
    """``(5-byte parameter-header entries, one coder lane)`` for ``tensors`` in order."""
    encoder = RangeEncoder(1)
    entries = push_tensors(tensors, prior, encoder)
    return pack_entries(entries), encoder.finish()[0]


def decode_tensors(entries: bytes, lane: bytes, shapes: list[tuple[int, ...]], prior: GaussianPrior,
                   where: str) -> list[Tensor]:
    """Inverse of :func:`encode_tensors`: the dequantized tensors."""
    decoder = RangeDecoder([lane])
    tensors = pull_tensors(unpack_entries(entries, len(shapes), where), decoder, shapes, prior, where)
    out = [t.values() for t in tensors]
    decoder.check_exhausted()
    return out
