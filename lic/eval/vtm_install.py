"""Where ``benchmarks/build_vtm.sh`` puts VTM, so that ``lic bench vtm`` runs without paths.

The script builds VTM 23.13 into ``third_party/vtm/VTM-23.13`` of the repository (git-ignored);
``LIC_VTM_DIR`` names another VTM source folder built the same way (holding ``bin/`` and ``cfg/``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

VTM_DIR_VARIABLE = "LIC_VTM_DIR"
DEFAULT_VTM_DIR = Path(__file__).resolve().parents[2] / "third_party" / "vtm" / "VTM-23.13"


@dataclass(frozen=True)
class VtmInstall:
    """A built VTM: encoder and decoder executables and the standard all-intra configuration."""

    encoder: Path
    decoder: Path
    intra_config: Path


def vtm_dir() -> Path:
    """The VTM source folder lic looks in: ``$LIC_VTM_DIR``, else the repository's build folder."""
    return Path(os.environ.get(VTM_DIR_VARIABLE) or DEFAULT_VTM_DIR)


def built_vtm() -> VtmInstall | None:
    """The VTM built by ``benchmarks/build_vtm.sh`` in :func:`vtm_dir`, or ``None`` when any
    of its three files is missing."""
    folder = vtm_dir()
    install = VtmInstall(folder / "bin" / "EncoderAppStatic", folder / "bin" / "DecoderAppStatic",
                         folder / "cfg" / "encoder_intra_vtm.cfg")
    return install if all(path.is_file() for path in (install.encoder, install.decoder, install.intra_config)) else None
