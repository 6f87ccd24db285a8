"""Range-coder benchmark: lic vs CompressAI's rANS, the range-coder package and constriction.

All coders code the same symbols with the same 16-bit CDF tables: CompressAI's 64
Gaussian scale tables (0.11 .. 256), symbols drawn from N(0, s) with s log-uniform
in [0.11, 20] and kept inside their table's range (range-coder and constriction have
no escape path). lic and CompressAI take a table index per symbol; range-coder and
constriction take one model per call, so they code the symbols grouped by table
(a decoder knows the tables, so it can do the same).

Usage: pip install -e ".[bench]" && python benchmarks/coder_benchmark.py [--symbols 1000000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable

import numpy as np
import torch
from compressai.entropy_models import GaussianConditional

from lic.entropy.priors import scale_table
from lic.entropy.range_coder import CdfTables, RangeDecoder, RangeEncoder


def make_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Symbols, table indexes, and the (cdf, lengths, offsets) table bank."""
    gc = GaussianConditional(scale_table())
    gc.update()
    cdf, lengths, offsets = (t.numpy().astype(np.int32) for t in (gc._quantized_cdf, gc._cdf_length, gc._offset))
    rng = np.random.default_rng(seed)
    scales = np.exp(rng.uniform(np.log(0.11), np.log(20.0), n))
    indexes = gc.build_indexes(torch.from_numpy(scales).float()).numpy().astype(np.int32)
    symbols = np.round(rng.normal(0, scales)).astype(np.int32)
    symbols = np.clip(symbols, offsets[indexes], offsets[indexes] + lengths[indexes] - 3)
    return symbols, indexes, cdf, lengths, offsets


def best_time(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def bench_lic(symbols, indexes, cdf, lengths, offsets, lanes: int, threads: int, repeat: int):  # noqa: ANN001, ANN201
    tables = CdfTables(cdf, lengths, offsets)

    def encode() -> list[bytes]:
        enc = RangeEncoder(lanes)
        enc.encode(symbols, indexes, tables)
        return enc.finish()

    t_enc, streams = best_time(encode, repeat)
    t_dec, decoded = best_time(lambda: RangeDecoder(streams, threads).decode(indexes, tables), repeat)
    assert np.array_equal(decoded, symbols)
    return t_enc, t_dec, sum(len(s) for s in streams)


def bench_compressai(symbols, indexes, cdf, lengths, offsets, repeat: int, include_conversion: bool):  # noqa: ANN001, ANN201
    from compressai.ans import RansDecoder as CaiDecoder
    from compressai.ans import RansEncoder as CaiEncoder

    cdf_list = [list(map(int, row[:n])) for row, n in zip(cdf, lengths)]
    lists = (symbols.tolist(), indexes.tolist(), lengths.tolist(), offsets.tolist())

    def encode() -> bytes:
        converted = (symbols.tolist(), indexes.tolist(), lengths.tolist(), offsets.tolist())
        s, i, n, o = converted if include_conversion else lists
        return CaiEncoder().encode_with_indexes(s, i, cdf_list, n, o)

    t_enc, data = best_time(encode, repeat)

    def decode() -> list[int]:
        i, n, o = (indexes.tolist(), lengths.tolist(), offsets.tolist()) if include_conversion else lists[1:]
        out = CaiDecoder().decode_with_indexes(data, i, cdf_list, n, o)
        return np.asarray(out, dtype=np.int32) if include_conversion else out

    t_dec, decoded = best_time(decode, repeat)
    assert np.array_equal(np.asarray(decoded), symbols)
    return t_enc, t_dec, len(data)


def _groups(indexes: np.ndarray) -> list[tuple[int, np.ndarray]]:
    order = np.argsort(indexes, kind="stable")
    tables, starts = np.unique(indexes[order], return_index=True)
    bounds = list(starts) + [len(order)]
    return [(int(t), order[bounds[k] : bounds[k + 1]]) for k, t in enumerate(tables)]


def bench_range_coder(symbols, indexes, cdf, lengths, offsets, repeat: int):  # noqa: ANN001, ANN201
    import range_coder

    groups = _groups(indexes)
    # range-coder codes symbols 0..n-1 of a cumulative table; drop the escape symbol.
    cum = {t: list(map(int, cdf[t, : lengths[t] - 1])) for t, _ in groups}
    for t in cum:
        cum[t][-1] = 65536
    values = {t: (symbols[idx] - offsets[t]).tolist() for t, idx in groups}
    path = os.path.join(tempfile.mkdtemp(), "rc.bin")

    def encode() -> int:
        enc = range_coder.RangeEncoder(path)
        for t, _ in groups:
            enc.encode(values[t], cum[t])
        enc.close()
        return os.path.getsize(path)

    t_enc, size = best_time(encode, repeat)

    def decode() -> np.ndarray:
        dec = range_coder.RangeDecoder(path)
        out = np.empty_like(symbols)
        for t, idx in groups:
            out[idx] = np.asarray(dec.decode(len(idx), cum[t]), dtype=np.int32) + offsets[t]
        dec.close()
        return out

    t_dec, decoded = best_time(decode, repeat)
    assert np.array_equal(decoded, symbols)
    return t_enc, t_dec, size


def bench_constriction(symbols, indexes, cdf, lengths, offsets, repeat: int):  # noqa: ANN001, ANN201
    import constriction

    groups = _groups(indexes)
    models = {}
    for t, _ in groups:
        freq = np.diff(cdf[t, : lengths[t]]).astype(np.float64)[:-1]  # without the escape symbol
        models[t] = constriction.stream.model.Categorical(freq / freq.sum(), perfect=False)
    values = {t: (symbols[idx] - offsets[t]).astype(np.int32) for t, idx in groups}

    def encode() -> np.ndarray:
        coder = constriction.stream.stack.AnsCoder()
        for t, _ in reversed(groups):
            coder.encode_reverse(values[t], models[t])
        return coder.get_compressed()

    t_enc, compressed = best_time(encode, repeat)

    def decode() -> np.ndarray:
        coder = constriction.stream.stack.AnsCoder(compressed)
        out = np.empty_like(symbols)
        for t, idx in groups:
            out[idx] = coder.decode(models[t], len(idx)) + offsets[t]
        return out

    t_dec, decoded = best_time(decode, repeat)
    assert np.array_equal(decoded, symbols)
    return t_enc, t_dec, compressed.nbytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--symbols", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = make_data(args.symbols)
    n = args.symbols
    rows = [
        ("lic, 1 lane, 1 thread", bench_lic(*data, lanes=1, threads=1, repeat=args.repeat)),
        ("lic, 4 lanes, 1 thread", bench_lic(*data, lanes=4, threads=1, repeat=args.repeat)),
        ("lic, 4 lanes, 4 threads", bench_lic(*data, lanes=4, threads=4, repeat=args.repeat)),
        ("compressai rANS (lists ready)", bench_compressai(*data, repeat=args.repeat, include_conversion=False)),
        ("compressai rANS (numpy in/out)", bench_compressai(*data, repeat=args.repeat, include_conversion=True)),
    ]
    for name, fn in (("range-coder (grouped)", bench_range_coder), ("constriction ANS (grouped)", bench_constriction)):
        try:
            rows.append((name, fn(*data, repeat=args.repeat)))
        except ImportError:
            print(f"{name}: not installed (pip install -e '.[bench]')")
    base = rows[0][1][2]
    cai = rows[3][1]
    print(f"{n:,} symbols, 64 Gaussian tables, 16-bit CDFs, {os.cpu_count()} CPUs, best of {args.repeat}")
    print(f"{'coder':32s} {'enc Msym/s':>10s} {'dec Msym/s':>10s} {'bytes':>10s} {'vs lic':>8s} {'dec vs cai':>10s}")
    for name, (t_enc, t_dec, size) in rows:
        print(f"{name:32s} {n / t_enc / 1e6:10.1f} {n / t_dec / 1e6:10.1f} {size:10,d} "
              f"{(size / base - 1) * 100:+7.2f}% {cai[1] / t_dec:9.2f}x")


if __name__ == "__main__":
    main()
