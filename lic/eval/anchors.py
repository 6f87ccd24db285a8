"""Published RD curves shipped with lic (see ``lic/data/rd/kodak.json`` for their source)."""

from __future__ import annotations

import json
from importlib import resources

from lic.eval.bdrate import RDCurve


def published_curves(dataset: str = "kodak") -> dict[str, RDCurve]:
    """PSNR-RGB curves of classical codecs on ``dataset`` (JPEG, WebP, BPG, HM, VTM, AV1, ...)."""
    path = resources.files("lic").joinpath("data", "rd", f"{dataset}.json")
    data = json.loads(path.read_text())
    return {key: RDCurve(c["name"], tuple(c["bpp"]), tuple(c["psnr_rgb"])) for key, c in data["curves"].items()}
