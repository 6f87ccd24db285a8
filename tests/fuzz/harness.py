"""Shared pieces of lic's fuzz targets (run them as described in tests/fuzz/README.md)."""

from __future__ import annotations

import struct
import zlib

import numpy as np

from lic.entropy.range_coder import CdfTables
from lic.format.header import MAGIC

HEADER_SIZE_OFFSET = 12


def fix_checksums(data: bytes) -> bytes:
    """``data`` with its header and payload CRCs recomputed where they would be.

    Without this, almost every mutation fails the CRC checks and the fuzzer never
    reaches the parser and decoder behind them.
    """
    if len(data) < 16 or not data.startswith(MAGIC):
        return data
    out = bytearray(data)
    (header_size,) = struct.unpack_from("<H", out, HEADER_SIZE_OFFSET)
    if 18 <= header_size <= len(out):
        struct.pack_into("<I", out, header_size - 4, zlib.crc32(bytes(out[: header_size - 4])))
        if len(out) >= header_size + 4:
            struct.pack_into("<I", out, len(out) - 4, zlib.crc32(bytes(out[header_size:-4])))
    return bytes(out)


def range_decoder_tables() -> CdfTables:
    """Three small tables for the range-decoder target: skewed, uniform, escape-heavy."""
    return CdfTables(
        np.array([[0, 1, 65535, 65536, 0], [0, 20000, 40000, 60000, 65536], [0, 30000, 65536, 0, 0]], np.int32),
        np.array([4, 5, 3], np.int32),
        np.array([-1, 3, 0], np.int32),
    )
