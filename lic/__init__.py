"""lic: a learned image codec with a real, documented bitstream."""

import warnings

# compressai (imported by lic's models) triggers this deprecation warning from torch at import time.
warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=FutureWarning)

__version__ = "0.1.0"
