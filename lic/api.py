"""The Python API: compress and decompress images held as numpy arrays, PIL images or torch tensors.

Example:
    >>> import numpy as np, lic
    >>> pixels = np.zeros((32, 48, 3), np.uint8)
    >>> data = lic.compress(pixels, quality=3)
    >>> lic.decompress(data).shape
    (32, 48, 3)
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image

from lic.codec.image import EncodedImage, decode_image, encode_image_at
from lic.codec.overfit import encode_overfit
from lic.codec.overfit_fit import DEFAULT_PRESET, PRESETS
from lic.codec.overfit_rate import search_bpp
from lic.codec.refine import RefineConfig
from lic.errors import LicError, UnsupportedInputError
from lic.format.container import ImageHeader, read_image_header
from lic.io.imageio import from_pil
from lic.models import DEFAULT_MODEL
from lic.models.overfit import OverfitCodec
from lic.models.weights import LoadedModel, load_model

ImageLike = np.ndarray | Image.Image | torch.Tensor
OutputKind = Literal["numpy", "pil", "torch"]


def _tensor_pixels(image: torch.Tensor) -> np.ndarray:
    """See :func:`to_pixels`; anything ambiguous or out of range is refused, never guessed."""
    if image.device.type == "meta" or image.is_sparse or image.is_complex():
        raise UnsupportedInputError(f"cannot compress a {image.layout} {image.dtype} tensor on {image.device}: "
                                    "give a dense real tensor holding pixel values")
    try:
        t = image.detach().cpu()
    except (RuntimeError, NotImplementedError) as exc:
        raise UnsupportedInputError(f"cannot read the tensor's values on {image.device}: {exc}") from None
    if t.ndim == 4 and t.shape[0] == 1:
        t = t[0]
    if t.ndim == 3 and t.shape[0] in (1, 3) and t.shape[2] == 3:
        raise UnsupportedInputError(f"ambiguous tensor shape {list(t.shape)}: [C, H, W] 3 pixels wide or "
                                    "[H, W, C] 3 pixels high? Give a numpy HxWx3 uint8 array")
    if t.ndim == 3 and t.shape[0] in (1, 3):
        t = t[0] if t.shape[0] == 1 else t.permute(1, 2, 0)
    if t.dtype == torch.uint8:
        return t.numpy()
    if not t.is_floating_point():
        raise UnsupportedInputError(f"{t.dtype} tensors are not images lic reads: give uint8 (0..255) or "
                                    "float (0..1)")
    t = t.float()
    if t.numel() and not (bool(torch.isfinite(t).all()) and float(t.min()) >= 0.0 and float(t.max()) <= 1.0):
        raise UnsupportedInputError("float tensors must hold finite values in [0, 1] (divide 0..255 values by "
                                    "255, or give a uint8 tensor)")
    return torch.round(t * 255).to(torch.uint8).numpy()


def to_pixels(image: ImageLike) -> np.ndarray:
    """``HxWx3`` or ``HxW`` uint8 array from numpy (HWC/HW uint8), PIL, or torch.

    Tensors are ``[3, H, W]`` / ``[1, 3, H, W]`` / ``[H, W]`` (or ``[H, W, 3]``): uint8,
    or float with every value in [0, 1] (rounded to 8 bits). Refused: other dtypes,
    NaN or out-of-range floats, and shapes that read both ways (``[3, W, 3]``).
    """
    if isinstance(image, Image.Image):
        return from_pil(image)[0]
    if isinstance(image, torch.Tensor):
        image = _tensor_pixels(image)
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
            raise UnsupportedInputError("numpy images must be HxWx3 or HxW uint8 arrays")
        return np.ascontiguousarray(image)
    raise UnsupportedInputError(f"cannot compress a {type(image).__name__}")


def from_pixels(pixels: np.ndarray, kind: OutputKind) -> ImageLike:
    """Converts decoded pixels to ``kind``: numpy (HWC/HW uint8), PIL, or torch (``[C, H, W]`` float in [0, 1])."""
    if kind == "numpy":
        return pixels
    if kind == "pil":
        return Image.fromarray(pixels)
    if kind == "torch":
        t = torch.from_numpy(pixels.copy())
        t = t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1)
        return t.float().div(255.0)
    raise ValueError(f"unknown output kind {kind!r}: numpy, pil or torch")


class Codec:
    """A model loaded once and reused for any number of images.

    Coding calls are serialized by a lock (each call already uses several threads,
    and torch's thread setting is process-wide); for parallel throughput use one
    process per worker.

    Example:
        >>> codec = Codec()                        # the shipped default model
        >>> data = codec.compress(pixels, quality=4)  # doctest: +SKIP
        >>> image = codec.decompress(data, "pil")     # doctest: +SKIP
    """

    def __init__(self, model: str = DEFAULT_MODEL, weights: Path | None = None, device: str = "cpu") -> None:
        """Loads ``model`` (``weights`` overrides the shipped file) on ``device``: cpu, cuda or auto."""
        self.model: LoadedModel = load_model(model, weights, device)
        self._lock = threading.Lock()

    def encode(self, image: ImageLike, quality: float | None = None, bpp: float | None = None,
               refine: int = 0) -> EncodedImage:
        """Encodes; the result holds the stream, its header and the decoder's exact output.

        ``refine`` > 0 optimizes the latent for this image in that many gradient steps
        (fewer bits at equal quality, slower encode, same decoder). With the ``overfit`` model
        the image is fitted with the ``fast`` preset (minutes; see docs/overfit.md), and a ``bpp``
        costs a few fits (:func:`lic.codec.overfit_rate.search_bpp`).
        """
        pixels = to_pixels(image)
        if isinstance(self.model.module, OverfitCodec):
            if refine:
                raise UnsupportedInputError("the overfit model takes a quality (0..7) or a bpp, not refine")
            if quality is not None and bpp is not None:
                raise UnsupportedInputError("give a quality or a target bpp, not both")
            with self._lock:
                if bpp is not None:
                    encoded, _ = search_bpp(lambda q: encode_overfit(pixels, self.model, q, PRESETS[DEFAULT_PRESET]),
                                            bpp)
                else:
                    quality = self.model.default_quality if quality is None else quality
                    encoded = encode_overfit(pixels, self.model, quality, PRESETS[DEFAULT_PRESET])
            return EncodedImage(encoded.data, encoded.header, encoded.reconstruction)
        with self._lock:
            return encode_image_at(pixels, self.model, quality, bpp, RefineConfig(refine))

    def compress(self, image: ImageLike, quality: float | None = None, bpp: float | None = None,
                 refine: int = 0) -> bytes:
        """The ``.lic`` bytes of ``image`` at ``quality`` (or the best quality within ``bpp``)."""
        return self.encode(image, quality, bpp, refine).data

    def decompress(self, data: bytes, kind: OutputKind = "numpy") -> ImageLike:
        """Decodes ``.lic`` bytes made with this codec's model into ``kind``."""
        with self._lock:
            pixels, _ = decode_image(bytes(data), self.model)
        return from_pixels(pixels, kind)


@lru_cache(maxsize=4)
def _codec(model: str) -> Codec:
    return Codec(model)


def compress(image: ImageLike, quality: float | None = None, model: str = DEFAULT_MODEL,
             bpp: float | None = None) -> bytes:
    """Compresses an image (numpy, PIL or torch) with a shipped model; see :class:`Codec`.

    Example:
        >>> data = compress(np.zeros((16, 16, 3), np.uint8), quality=2)  # doctest: +SKIP
    """
    return _codec(model).compress(image, quality, bpp)


def decompress(data: bytes, kind: OutputKind = "numpy") -> ImageLike:
    """Decompresses ``.lic`` bytes with the shipped model named in their header.

    Example:
        >>> pixels = decompress(open("photo.lic", "rb").read())  # doctest: +SKIP
    """
    header = read_image_header(bytes(data))
    return _codec(header.model).decompress(data, kind)


def open_header(path: str | Path) -> ImageHeader:
    """Reads and checks the header of a ``.lic`` file without decoding it.

    Example:
        >>> header = open_header("photo.lic")  # doctest: +SKIP
        >>> header.width, header.height, header.model  # doctest: +SKIP
    """
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
    except OSError as exc:
        raise LicError(f"{path}: {exc.strerror}") from None
    return read_image_header(head)
