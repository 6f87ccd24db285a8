"""lic's architectures, their registry and weights."""

DEFAULT_MODEL = "elic-s"
"""The model ``lic encode`` uses unless told otherwise."""
