"""Pillow plugin: ``Image.open("x.lic")`` decodes and ``img.save("x.lic", quality=3)`` encodes.

Registered when ``lic`` is imported. Opening reads only the header; the pixels are
decoded (with the shipped model the stream names) on first access.
"""

from __future__ import annotations

from typing import IO

from PIL import Image, ImageFile

from lic.format.container import read_image_header
from lic.format.header import MAGIC, ColourFormat

FORMAT = "LIC"


def _accept(prefix: bytes) -> bool:
    return prefix[: len(MAGIC)] == MAGIC


class LicImageFile(ImageFile.ImageFile):
    """A ``.lic`` image as Pillow sees it."""

    format = FORMAT
    format_description = "lic learned image codec"

    def _open(self) -> None:
        self._lic_data = self.fp.read()
        header = read_image_header(self._lic_data)
        self._size = (header.width, header.height)
        self._mode = "L" if header.colour == ColourFormat.GRAY else "RGB"
        self.info["lic_model"] = header.model
        self.info["quality"] = header.quality
        self.tile = []

    def verify(self) -> None:
        """Checks the whole stream (header and payload checksums) without decoding it."""
        from lic.format.container import read_image_stream

        read_image_stream(self._lic_data)
        super().verify()

    def load(self):  # noqa: ANN201 - Pillow's signature
        if self._lic_data is not None:
            from lic.api import decompress

            decoded = decompress(self._lic_data, "pil")
            self._lic_data = None
            self.im = decoded.im
        return Image.Image.load(self)


def _save(im: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    from lic.api import compress

    info = im.encoderinfo
    fp.write(compress(im, quality=info.get("quality"), bpp=info.get("bpp")))


Image.register_open(FORMAT, LicImageFile, _accept)
Image.register_save(FORMAT, _save)
Image.register_extension(FORMAT, ".lic")
Image.register_mime(FORMAT, "image/x-lic")
