"""lic's architectures, their registry and weights."""

DEFAULT_MODEL = "elic-s"
"""The model ``lic encode`` uses for images unless told otherwise."""
DEFAULT_VIDEO_MODEL = "elic-s-video"
"""The model ``lic encode`` uses for video unless told otherwise (intra frames: elic-s)."""
INR_MODEL = "nerv"
"""The model of ``lic encode --mode inr`` (networks fitted per clip; see :mod:`lic.models.inr`)."""
