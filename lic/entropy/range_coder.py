"""Typed wrappers around the C++ range coder (``lic.entropy._rans``).

The coder is a 64-bit rANS coder with 32-bit renormalisation words, 16-bit CDF
precision, an escape path for out-of-range values, and independent *lanes*: the
symbols of every coding call are split into ``lanes`` contiguous chunks, one
byte stream each, so a decoder may decode the lanes of a call in parallel
threads. ``bitstream-spec.md`` specifies the arithmetic exactly.
"""

from __future__ import annotations

import numpy as np

from lic.entropy import _rans
from lic.errors import CorruptStreamError

PRECISION: int = _rans.PRECISION
MAX_LANES: int = _rans.MAX_LANES


class CdfTables:
    """A bank of integer CDF tables, validated and indexed once for fast lookup.

    Args:
        cdf: ``[T, S]`` int32; row ``t`` holds ``lengths[t]`` entries starting at 0,
            strictly increasing, ending at ``2**16``. The last symbol of each
            table (``lengths[t] - 2``) is its escape symbol.
        lengths: ``[T]`` number of CDF entries of each table.
        offsets: ``[T]`` value coded by symbol 0 of each table.

    Example:
        >>> tables = CdfTables(np.array([[0, 30000, 65535, 65536]]), np.array([4]), np.array([0]))
        >>> len(tables)
        1
    """

    def __init__(self, cdf: np.ndarray, lengths: np.ndarray, offsets: np.ndarray) -> None:
        self.cdf = np.ascontiguousarray(cdf, dtype=np.int32)
        self.lengths = np.ascontiguousarray(lengths, dtype=np.int32)
        self.offsets = np.ascontiguousarray(offsets, dtype=np.int32)
        self._native = _rans.CdfTables(self.cdf, self.lengths, self.offsets)

    def __len__(self) -> int:
        return int(self.cdf.shape[0])

    @property
    def native(self) -> _rans.CdfTables:
        """The C++ object handed to the coder."""
        return self._native


class RangeEncoder:
    """Collects symbols call by call, then codes them into one byte string per lane.

    Example:
        >>> enc = RangeEncoder(lanes=2)
        >>> enc.encode(np.array([0, 1, 5]), np.array([0, 0, 0]), tables)  # doctest: +SKIP
        >>> lanes = enc.finish()  # doctest: +SKIP
    """

    def __init__(self, lanes: int = 1) -> None:
        if not 1 <= lanes <= MAX_LANES:
            raise ValueError(f"lanes must be in [1, {MAX_LANES}]")
        self._native = _rans.RansEncoder(lanes)

    @property
    def lanes(self) -> int:
        """Number of independent byte streams."""
        return self._native.lanes

    def encode(self, symbols: np.ndarray, indexes: np.ndarray, tables: CdfTables) -> None:
        """Queues ``symbols[i]`` to be coded with table ``indexes[i]`` (any int32 value)."""
        self._native.push(_flat_int32(symbols), _flat_int32(indexes), tables.native)

    def finish(self) -> list[bytes]:
        """Codes everything queued; returns the lanes' byte strings (each a multiple of 4 bytes)."""
        return list(self._native.finish())


class RangeDecoder:
    """Decodes lanes produced by :class:`RangeEncoder`, call for call.

    Args:
        lanes: the byte strings returned by :meth:`RangeEncoder.finish`.
        threads: decode up to this many lanes in parallel threads.
    """

    def __init__(self, lanes: list[bytes], threads: int = 1) -> None:
        try:
            self._native = _rans.RansDecoder(list(lanes), threads)
        except ValueError as exc:
            raise CorruptStreamError(str(exc)) from None

    def decode(self, indexes: np.ndarray, tables: CdfTables) -> np.ndarray:
        """Decodes ``len(indexes)`` symbols; mirrors one :meth:`RangeEncoder.encode` call."""
        try:
            return self._native.pull(_flat_int32(indexes), tables.native)
        except ValueError as exc:
            raise CorruptStreamError(str(exc)) from None

    def decode_arm(self, model: _rans.ArmModel, heights: list[int], widths: list[int],
                   tables: CdfTables, levels: list[int] | None = None) -> np.ndarray:
        """Decodes latent grids (row-major, grid after grid) whose tables ``model`` predicts from
        already decoded neighbours and, with coarse-grid features, from the grids decoded before
        (``levels``: each grid's resolution level; ``lic/entropy/csrc/arm.hpp``); needs a single-lane
        decoder."""
        try:
            return self._native.pull_arm(model, heights, widths, tables.native, levels or [])
        except ValueError as exc:
            raise CorruptStreamError(str(exc)) from None

    def check_exhausted(self) -> None:
        """Raises :class:`CorruptStreamError` unless every lane was consumed exactly."""
        if not self._native.exhausted():
            raise CorruptStreamError("coded data does not end where the stream says it should")


def _flat_int32(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a).reshape(-1), dtype=np.int32)
