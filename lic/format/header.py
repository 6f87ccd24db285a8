"""What every ``.lic`` stream starts with: the fixed part, the model name and the fields image
and video headers share (bitstream-spec.md sections 2 and 5).

Layout, all integers little-endian::

    magic          8   89 4C 49 43 0D 0A 1A 0A
    version        2   major, minor (2, 0)
    kind           1   1 = still image (lic/format/container.py), 2 = video (lic/format/sequence.py)
    flags          1   bit 0: float entropy parameters (same-machine only); other bits 0
    header_size    2   bytes from offset 0 to the end of header_crc
    name_len       1   1..64
    model_name     name_len bytes of [a-z0-9._-]
    digest        32   SHA-256 of the weights (canonical form, bitstream-spec.md section 4)
    quality        4   float32
    width          4   uint32, 1..65535
    height         4   uint32, 1..65535
    bit_depth      1   8
    colour         1   0 = RGB, 1 = grayscale
    ...                the kind's own fields (declared in its header class), then header_crc u32
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

from lic.errors import CorruptStreamError, UnsupportedStreamError
from lic.format.fields import Layout, wire
from lic.limits import MAX_NAME, MAX_SIDE

MAGIC = b"\x89LIC\r\n\x1a\n"
VERSION = (2, 0)
FLOAT_PARAMETERS = 0x01
"""Header flag: the model's entropy parameters are float (decodable on the encoding machine only)."""
_NAME_RE = re.compile(r"^[a-z0-9._-]{1,64}$")
_CRC = struct.Struct("<I")


class StreamKind(IntEnum):
    """What a stream holds."""

    IMAGE = 1
    VIDEO = 2


class ColourFormat(IntEnum):
    """Colour format of the decoded image."""

    RGB = 0
    GRAY = 1


def _colour_format(value: int) -> ColourFormat:
    try:
        return ColourFormat(value)
    except ValueError:
        raise UnsupportedStreamError(f"colour format {value} is not supported") from None


@dataclass(frozen=True, kw_only=True)
class FixedHeader:
    """The 14 bytes every ``.lic`` stream starts with."""

    magic: bytes = wire("8s", default=MAGIC)
    major: int = wire("B")
    minor: int = wire("B")
    kind: int = wire("B")
    flags: int = wire("B")
    header_size: int = wire("H")


FIXED = Layout(FixedHeader)


def read_fixed_header(data: bytes) -> FixedHeader:
    """The fixed part of any ``.lic`` stream; checks magic, major version and flags."""
    if len(data) < FIXED.size:
        raise CorruptStreamError("not a .lic stream (too short)")
    fixed = FixedHeader(**FIXED.convert(FIXED.unpack_raw(data)))
    if fixed.magic != MAGIC:
        raise CorruptStreamError("not a .lic stream (bad magic bytes)")
    if fixed.major != VERSION[0]:
        raise UnsupportedStreamError(f"format version {fixed.major}.{fixed.minor} is not supported "
                                     f"(this lic reads {VERSION[0]}.x)")
    if fixed.flags & ~FLOAT_PARAMETERS:
        raise UnsupportedStreamError(f"unknown header flags 0x{fixed.flags:02x}")
    return fixed


def stream_kind(data: bytes) -> StreamKind:
    """The kind of a ``.lic`` stream from its fixed header part (magic and version checked)."""
    kind = read_fixed_header(data).kind
    try:
        return StreamKind(kind)
    except ValueError:
        raise UnsupportedStreamError(f"stream kind {kind} is not supported") from None


def read_model_name(data: bytes, header_size: int, body_size: int) -> tuple[str, int]:
    """Checks a header's length and CRC and reads its model name.

    ``body_size`` is the least number of bytes the kind's header holds after the name
    (CRC included). Returns the name and the offset just after it.
    """
    if len(data) < header_size or header_size < FIXED.size + 2 + body_size:
        raise CorruptStreamError("truncated .lic stream (header incomplete)")
    (stored_crc,) = _CRC.unpack_from(data, header_size - 4)
    if zlib.crc32(data[: header_size - 4]) != stored_crc:
        raise CorruptStreamError("damaged .lic stream (header checksum mismatch)")
    pos = FIXED.size
    name_len = data[pos]
    if not 1 <= name_len <= MAX_NAME or pos + 1 + name_len + body_size > header_size:
        raise CorruptStreamError("invalid model name in header")
    try:
        return data[pos + 1 : pos + 1 + name_len].decode("ascii"), pos + 1 + name_len
    except UnicodeDecodeError:
        raise CorruptStreamError("invalid model name in header") from None


@dataclass(frozen=True, kw_only=True)
class StreamHeader:
    """The fields image and video headers share; subclasses declare their own after them.

    ``flags`` and ``version`` travel in the fixed part, ``model`` as the name.
    """

    KIND: ClassVar[StreamKind]
    WHERE: ClassVar[str] = "header"
    """How error messages name this header."""
    PICTURE: ClassVar[str] = "image"

    model: str
    digest: bytes = wire("32s")
    quality: float = wire("f")
    width: int = wire("I")
    height: int = wire("I")
    bit_depth: int = wire("B", default=8)
    colour: ColourFormat = wire("B", from_wire=_colour_format)
    flags: int = 0
    version: tuple[int, int] = VERSION

    def validate(self) -> None:
        """Raises :class:`CorruptStreamError` on values no encoder writes."""
        if not _NAME_RE.match(self.model):
            raise CorruptStreamError(f"invalid model name in {self.WHERE}")
        if len(self.digest) != 32:
            raise CorruptStreamError(f"invalid weights digest in {self.WHERE}")
        if not (1 <= self.width <= MAX_SIDE and 1 <= self.height <= MAX_SIDE):
            raise CorruptStreamError(f"invalid {self.PICTURE} size {self.width}x{self.height} in {self.WHERE}")
        if self.bit_depth != 8:
            raise UnsupportedStreamError(f"bit depth {self.bit_depth} is not supported")
        self.validate_own()
        if self.quality != self.quality or abs(self.quality) > 1e6:
            raise CorruptStreamError(f"invalid quality in {self.WHERE}")

    def validate_own(self) -> None:
        """Checks of the subclass's own fields."""

    def pack_head(self, layout: Layout, header_size: int, tail: bytes = b"") -> bytes:
        """Fixed part, name, ``layout``'s fields, ``tail`` and the header CRC."""
        name = self.model.encode("ascii")
        fixed = FixedHeader(major=self.version[0], minor=self.version[1], kind=self.KIND, flags=self.flags,
                            header_size=header_size)
        head = FIXED.pack(fixed) + bytes([len(name)]) + name + layout.pack(self) + tail
        return head + _CRC.pack(zlib.crc32(head))

    @staticmethod
    def name_size(model: str) -> int:
        """Bytes of the fixed part and the name."""
        return FIXED.size + 1 + len(model)
