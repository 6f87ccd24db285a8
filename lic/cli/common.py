"""Helpers shared by the ``lic`` sub-commands."""

from __future__ import annotations

import argparse
from pathlib import Path

from lic.errors import LicError


def check_output(path: Path, force: bool) -> None:
    """Fails early, before any work, on an output that cannot or must not be written."""
    if path.is_dir():
        raise LicError(f"{path} is a directory")
    if path.exists() and not force:
        raise LicError(f"{path} exists (use --force to overwrite)")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise LicError(f"{parent}: no such directory")


def load_stream_model(name: str, weights: Path | None, device: str):  # noqa: ANN201
    """The model a stream's header names (``weights`` overrides the shipped file); a name this
    version of lic does not register is a :class:`ModelMismatchError`, not an unknown-model usage error."""
    from lic.errors import ModelMismatchError
    from lic.models.registry import model_names
    from lic.models.weights import load_model

    if name not in model_names():
        raise ModelMismatchError(f"stream needs model {name!r}, which this version of lic does not have")
    return load_model(name, weights, device)


def device_option(parser: argparse.ArgumentParser) -> None:
    """``--device cpu|cuda|auto``."""
    parser.add_argument("--device", default="cpu",
                        help="cpu (default), cuda or auto; decode on the same device type that encoded")
