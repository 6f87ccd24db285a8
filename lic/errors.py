"""The exceptions lic raises. Every one is a :class:`LicError`; the CLI prints its message."""

from __future__ import annotations


class LicError(Exception):
    """Base class of every error lic reports to a user."""


class CorruptStreamError(LicError):
    """A ``.lic`` stream is truncated, damaged or not a ``.lic`` stream at all."""


class UnsupportedStreamError(LicError):
    """A well-formed ``.lic`` stream that this version cannot decode (version, limits)."""


class ModelMismatchError(LicError):
    """The stream was made with weights other than the ones available to decode it."""


class UnsupportedInputError(LicError):
    """An input image (or option) that lic cannot encode."""


class UnknownModelError(LicError, KeyError):
    """No model of that name is registered."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""
