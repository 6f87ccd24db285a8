"""Header fields declared once: each field's wire format sits in its dataclass declaration.

A header class declares its fields with :func:`wire` (``digest: bytes = wire("32s")``);
:class:`Layout` derives the struct format, packing and unpacking from those declarations in
declaration order, so adding a field is one line in the header class (plus its check).
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Wire:
    """How one header field is written.

    Attributes:
        format: struct format of the field (little-endian, no prefix), e.g. ``"I"`` or ``"II"``.
        to_wire: value -> tuple of raw values (default: the value alone).
        from_wire: raw values -> value (default: the single raw value); may raise stream errors.
    """

    format: str
    to_wire: Callable[[Any], tuple] | None = None
    from_wire: Callable[..., Any] | None = None


def wire(format: str, *, to_wire: Callable[[Any], tuple] | None = None,
         from_wire: Callable[..., Any] | None = None, **field_options: Any) -> Any:
    """A dataclass field written in the header with struct ``format``."""
    return dataclasses.field(metadata={"wire": Wire(format, to_wire, from_wire)}, **field_options)


class Layout:
    """The packed form of a header class's :func:`wire` fields, in declaration order."""

    def __init__(self, cls: type) -> None:
        self.fields = [(f.name, f.metadata["wire"]) for f in dataclasses.fields(cls) if "wire" in f.metadata]
        self.struct = struct.Struct("<" + "".join(w.format for _, w in self.fields))
        self._widths = [len(struct.Struct("<" + w.format).unpack(bytes(struct.calcsize("<" + w.format))))
                        for _, w in self.fields]

    @property
    def size(self) -> int:
        """Bytes of the packed fields."""
        return self.struct.size

    def pack(self, header: Any, **overrides: Any) -> bytes:
        """The packed fields of ``header``; ``overrides`` replace attribute values by name."""
        raw: list[Any] = []
        for name, spec in self.fields:
            value = overrides[name] if name in overrides else getattr(header, name)
            raw.extend(spec.to_wire(value) if spec.to_wire else (value,))
        return self.struct.pack(*raw)

    def unpack_raw(self, data: bytes, offset: int = 0) -> dict[str, tuple]:
        """Field name -> its raw values, unconverted."""
        values = self.struct.unpack_from(data, offset)
        out, pos = {}, 0
        for (name, _), width in zip(self.fields, self._widths):
            out[name] = values[pos : pos + width]
            pos += width
        return out

    def convert(self, raw: dict[str, tuple], skip: tuple[str, ...] = ()) -> dict[str, Any]:
        """Field name -> value, each raw tuple passed through its field's ``from_wire``."""
        out = {}
        for name, spec in self.fields:
            if name in skip:
                continue
            out[name] = spec.from_wire(*raw[name]) if spec.from_wire else raw[name][0]
        return out
