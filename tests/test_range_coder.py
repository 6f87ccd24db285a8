"""The C++ range coder: round trips, escapes, lanes, byte-exact agreement with the spec."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from conftest import random_tables
from reference_rans import ReferenceDecoder

from lic.entropy.range_coder import CdfTables, RangeDecoder, RangeEncoder
from lic.errors import CorruptStreamError


def _calls(rng: np.random.Generator, tables: CdfTables, count: int,
           escapes: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Random coding calls: values mostly in range, some far outside (escapes)."""
    calls = []
    for _ in range(count):
        n = int(rng.integers(0, 3000))
        idx = rng.integers(0, len(tables), n).astype(np.int32)
        n_reg = tables.lengths[idx] - 2
        values = tables.offsets[idx] + rng.integers(0, np.maximum(n_reg, 1))
        wild = rng.random(n) < escapes
        values[wild] = rng.choice([-(2**31), 2**31 - 1, -1000, 70000, -3, 41], wild.sum())
        calls.append((values.astype(np.int32), idx))
    return calls


def _encode(calls: list[tuple[np.ndarray, np.ndarray]], tables: CdfTables, lanes: int) -> list[bytes]:
    enc = RangeEncoder(lanes)
    for values, idx in calls:
        enc.encode(values, idx, tables)
    return enc.finish()


@pytest.mark.parametrize("lanes", [1, 3, 8])
@pytest.mark.parametrize("threads", [1, 4])
def test_round_trip_with_escapes(rng: np.random.Generator, lanes: int, threads: int) -> None:
    tables = CdfTables(*random_tables(rng))
    calls = _calls(rng, tables, 6, escapes=0.02)
    streams = _encode(calls, tables, lanes)
    assert len(streams) == lanes and all(len(s) % 4 == 0 and len(s) >= 8 for s in streams)
    dec = RangeDecoder(streams, threads)
    for values, idx in calls:
        np.testing.assert_array_equal(dec.decode(idx, tables), values)
    dec.check_exhausted()


@pytest.mark.parametrize("seed", range(5))
def test_reference_decoder_agrees(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cdf, lengths, offsets = random_tables(rng, count=5, max_symbols=int(rng.integers(2, 60)))
    tables = CdfTables(cdf, lengths, offsets)
    calls = _calls(rng, tables, 3, escapes=0.05)
    lanes = int(rng.integers(1, 5))
    streams = _encode(calls, tables, lanes)
    ref = ReferenceDecoder(streams)
    cdf_lists = [list(map(int, cdf[t, : lengths[t]])) for t in range(len(lengths))]
    for values, idx in calls:
        assert ref.decode(idx.tolist(), cdf_lists, offsets.tolist()) == values.tolist()
    assert ref.exhausted()


def test_output_is_fixed_bytes() -> None:
    """Known-answer test: the same bytes on every machine (byte-order neutral)."""
    cdf = np.array([[0, 1000, 60000, 65000, 65536]], np.int32)
    tables = CdfTables(cdf, np.array([5]), np.array([-1]))
    values = np.array([-1, 0, 1, 0, 0, 5, -7, 2**31 - 1] * 50, np.int32)
    enc = RangeEncoder(2)
    enc.encode(values, np.zeros(len(values), np.int32), tables)
    streams = enc.finish()
    assert [len(s) for s in streams] == [272, 272]
    digest = hashlib.sha256(b"|".join(streams)).hexdigest()
    assert digest == "438b34bf5f3207f427491add00ca0f23ecc6a3b13ae67c564986283d79c20b3f"
    ref = ReferenceDecoder(streams)
    assert ref.decode([0] * len(values), [cdf[0].tolist()], [-1]) == values.tolist()
    assert ref.exhausted()


def test_truncated_lane_is_an_error(rng: np.random.Generator) -> None:
    tables = CdfTables(*random_tables(rng))
    idx = rng.integers(0, len(tables), 2000).astype(np.int32)
    values = (tables.offsets[idx] + rng.integers(0, np.maximum(tables.lengths[idx] - 2, 1))).astype(np.int32)
    (stream,) = _encode([(values, idx)], tables, 1)
    dec = RangeDecoder([stream[: len(stream) // 8 * 4]])
    with pytest.raises(CorruptStreamError):
        dec.decode(idx, tables)
        dec.check_exhausted()


def test_wrong_tables_are_detected_at_the_end(rng: np.random.Generator) -> None:
    tables = CdfTables(*random_tables(rng))
    calls = _calls(rng, tables, 2, escapes=0.0)
    streams = _encode(calls, tables, 2)
    other = CdfTables(*random_tables(np.random.default_rng(99)))
    dec = RangeDecoder(streams)
    with pytest.raises(CorruptStreamError):
        for _, idx in calls:
            dec.decode(idx, other)
        dec.check_exhausted()


@pytest.mark.parametrize(
    "cdf, lengths",
    [
        ([[0, 100, 100, 65536]], [4]),  # zero frequency
        ([[0, 100, 65535, 0]], [3]),  # does not end at 2^16
        ([[1, 100, 65536, 0]], [3]),  # does not start at 0
        ([[0, 65536, 0, 0]], [2]),  # no regular symbol
    ],
)
def test_invalid_tables_are_rejected(cdf, lengths) -> None:  # noqa: ANN001
    with pytest.raises(ValueError):
        CdfTables(np.array(cdf), np.array(lengths), np.array([0]))


def test_bad_lanes_are_rejected() -> None:
    with pytest.raises(CorruptStreamError):
        RangeDecoder([b"\x00" * 8])  # state below L
    with pytest.raises(CorruptStreamError):
        RangeDecoder([b"\x01\x02\x03"])  # too short
    with pytest.raises(ValueError):
        RangeEncoder(0)
