"""A pure-Python decoder written from bitstream-spec.md section 2 alone.

Deliberately simple (linear symbol search, Python integers): it exists to check
that the C++ coder's bytes mean what the spec says.
"""

from __future__ import annotations

L = 1 << 31


class ReferenceDecoder:
    """Decodes the lanes of a lic stream call by call."""

    def __init__(self, lanes: list[bytes]) -> None:
        self.lanes = [bytes(b) for b in lanes]
        self.pos = [8] * len(lanes)
        self.state = [int.from_bytes(b[0:4], "little") | int.from_bytes(b[4:8], "little") << 32 for b in lanes]

    def _op(self, j: int, bits: int, find) -> int:  # noqa: ANN001
        x = self.state[j]
        cum = x & ((1 << bits) - 1)
        symbol, start, freq = find(cum)
        x = freq * (x >> bits) + cum - start
        if x < L:
            word = self.lanes[j][self.pos[j] : self.pos[j] + 4]
            if len(word) < 4:
                raise ValueError("truncated")
            x = (x << 32) | int.from_bytes(word, "little")
            self.pos[j] += 4
        self.state[j] = x
        return symbol

    def _value(self, j: int, cdf: list[int], offset: int) -> int:
        n = len(cdf) - 2

        def table(cum: int) -> tuple[int, int, int]:
            s = 0
            while cdf[s + 1] <= cum:
                s += 1
            return s, cdf[s], cdf[s + 1] - cdf[s]

        def bypass(cum: int) -> tuple[int, int, int]:
            return cum, cum, 1

        s = self._op(j, 16, table)
        if s < n:
            return s + offset
        k = self._op(j, 6, bypass)
        r, remaining = 0, k
        while remaining > 0:
            b = min(16, remaining)
            remaining -= b
            r = (r << b) | self._op(j, b, bypass)
        e = (1 << k) + r - 1
        u = -((e + 1) // 2) if e % 2 else n + e // 2
        return u + offset

    def decode(self, indexes: list[int], cdfs: list[list[int]], offsets: list[int]) -> list[int]:
        """Decodes one call: ``len(indexes)`` values, value ``i`` with table ``indexes[i]``."""
        n = len(indexes)
        lanes = len(self.lanes)
        chunk = -(-n // lanes)
        out = [0] * n
        for j in range(lanes):
            for i in range(min(n, j * chunk), min(n, (j + 1) * chunk)):
                t = indexes[i]
                out[i] = self._value(j, cdfs[t], offsets[t])
        return out

    def exhausted(self) -> bool:
        """Every lane back at the initial state with all bytes read."""
        return all(x == L for x in self.state) and all(p == len(b) for p, b in zip(self.pos, self.lanes))
