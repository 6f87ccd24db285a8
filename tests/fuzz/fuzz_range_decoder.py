"""Fuzz target: the C++ range decoder on arbitrary lane bytes, tables and symbol counts.

The decoder must return values or raise :class:`~lic.errors.CorruptStreamError`: no
crash, no hang, no read outside the lane.
"""

from __future__ import annotations

import sys

import atheris
import numpy as np

with atheris.instrument_imports(include=["lic", "harness"]):
    from harness import range_decoder_tables

    from lic.entropy.range_coder import RangeDecoder
    from lic.errors import LicError

TABLES = range_decoder_tables()


def test_one_input(data: bytes) -> None:
    """First bytes choose lanes, threads and the table indexes; the rest are the lanes."""
    if len(data) < 4:
        return
    lanes, threads, count = 1 + data[0] % 4, 1 + data[1] % 3, data[2] * 4 + data[3] % 4
    body = data[4:]
    size = len(body) // lanes
    chunks = [body[i * size : (i + 1) * size] for i in range(lanes)]
    indexes = np.frombuffer(bytes(b % 3 for b in data[: count] or b"\0"), np.uint8).astype(np.int32)
    indexes = np.resize(indexes, count)
    try:
        decoder = RangeDecoder(chunks, threads)
        decoder.decode(indexes, TABLES)
        decoder.decode(indexes[::-1].copy(), TABLES)
        decoder.check_exhausted()
    except LicError:
        pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
