"""Optional dependencies (``pip install 'lic[EXTRA]'``), imported only by the commands that need them."""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from lic.errors import LicError


def import_optional(module: str, package: str, extra: str, purpose: str) -> ModuleType:
    """``module``, or a one-line :class:`LicError` naming the extra that installs ``package``.

    Example:
        >>> import_optional("matplotlib.pyplot", "matplotlib", "plot", "lic plot")  # doctest: +SKIP
    """
    try:
        return import_module(module)
    except ImportError:
        raise LicError(f"{purpose} needs {package}, which is not installed (pip install 'lic[{extra}]')") from None
