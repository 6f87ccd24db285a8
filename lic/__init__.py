"""lic: a learned image codec with a real, documented bitstream.

The Python API (``compress``, ``decompress``, ``Codec``, ``open``) loads torch on first use;
``import lic`` itself stays light and registers the Pillow plugin for ``.lic`` files.

Example:
    >>> import numpy as np, lic
    >>> data = lic.compress(np.zeros((16, 16, 3), np.uint8), quality=3)  # doctest: +SKIP
    >>> lic.decompress(data).shape  # doctest: +SKIP
    (16, 16, 3)
"""

import warnings

# compressai (imported for training and latent refinement) triggers this deprecation warning from torch at import time.
warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=FutureWarning)

from lic import pillow_plugin as _pillow_plugin  # noqa: E402,F401 - registers the format
from lic.errors import (  # noqa: E402
    CorruptStreamError,
    LicError,
    ModelMismatchError,
    UnknownModelError,
    UnsupportedInputError,
    UnsupportedStreamError,
)

__version__ = "0.1.0"
__all__ = [
    "Codec",
    "CorruptStreamError",
    "LicError",
    "ModelMismatchError",
    "UnknownModelError",
    "UnsupportedInputError",
    "UnsupportedStreamError",
    "compress",
    "compress_video",
    "decompress",
    "decompress_video",
    "open",
]

_API = {"Codec": "Codec", "compress": "compress", "decompress": "decompress", "open": "open_header"}
_VIDEO_API = {"compress_video", "decompress_video"}


def __getattr__(name: str):  # noqa: ANN202 - lazy access to the torch-backed API
    if name in _API:
        from lic import api

        return getattr(api, _API[name])
    if name in _VIDEO_API:
        from lic import video_api

        return getattr(video_api, name)
    raise AttributeError(f"module 'lic' has no attribute {name!r}")
