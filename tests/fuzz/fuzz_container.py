"""Fuzz target: the ``.lic`` container parsers (image header, tiles, video index and packets).

Any input must parse or raise a :class:`~lic.errors.LicError`; anything else is a finding.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["lic", "harness"]):
    from harness import fix_checksums

    from lic.codec.video_stream import frame_offsets
    from lic.errors import LicError
    from lic.format.container import read_image_stream
    from lic.format.header import stream_kind
    from lic.format.sequence import read_sequence_header


def test_one_input(data: bytes) -> None:
    """Parses ``data`` as it comes and with repaired checksums."""
    for candidate in (data, fix_checksums(data)):
        try:
            if stream_kind(candidate).name == "VIDEO":
                header = read_sequence_header(candidate)
                frame_offsets(candidate, header)
            else:
                read_image_stream(candidate)
        except LicError:
            pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
