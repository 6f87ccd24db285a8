"""Fuzz target: the whole decoding path (``lic.decompress``) with the shipped model.

Inputs get their checksums repaired so mutations reach the entropy decoder and the
networks. Any input must decode or raise a :class:`~lic.errors.LicError`; the pixel
limit is lowered so a forged size fails fast instead of allocating a huge image.
"""

from __future__ import annotations

import os
import sys

import atheris

os.environ.setdefault("LIC_MAX_PIXELS", str(512 * 512))

with atheris.instrument_imports(include=["lic", "harness"]):
    from harness import fix_checksums

    import lic
    from lic.errors import LicError


def test_one_input(data: bytes) -> None:
    """Decodes ``data`` with repaired checksums."""
    try:
        lic.decompress(fix_checksums(data))
    except LicError:
        pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
