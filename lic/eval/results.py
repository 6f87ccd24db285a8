"""RD results files in CompressAI's layout, read and written by ``lic eval``, ``lic bench``,
``lic bdrate`` and ``lic plot``.

A results file is JSON: ``{"name", "description", "results": {"bpp": [...],
"psnr-rgb": [...], "ms-ssim-rgb": [...], "encoding_time": [...], "decoding_time": [...]}}``,
one list entry per quality point, each the mean over a set of images. lic adds
more keys to ``results`` (``quality``, ``ms-ssim-db-rgb``, ``peak_memory_mb``), a
``meta`` object (images, weights digest, machine) and ``per_image``: one object per image,
``{"source": file name, "bpp": [...], "psnr-rgb": [...], ...}``, one list entry per quality
point (the points' means are over these). Readers ignore what they do not know.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from lic.errors import LicError
from lic.eval.bdrate import RDCurve

METRICS = ("psnr-rgb", "ms-ssim-rgb", "ms-ssim-db-rgb", "psnr-yuv")
_ALIASES = {"psnr-rgb": ("psnr-rgb", "psnr"), "ms-ssim-rgb": ("ms-ssim-rgb", "ms-ssim")}


def ms_ssim_db(value: float) -> float:
    """MS-SSIM in decibels, ``-10 log10(1 - MS-SSIM)``, as learned-compression papers plot it."""
    return float("inf") if value >= 1 else -10 * math.log10(1 - value)


@dataclass
class RDResults:
    """One codec's RD points on one image set."""

    name: str
    description: str = ""
    results: dict[str, list[float]] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    per_image: list[dict] = field(default_factory=list)

    def metric(self, metric: str) -> list[float]:
        """Values of ``metric`` (``psnr-rgb``, ``ms-ssim-rgb`` or ``ms-ssim-db-rgb``) per point."""
        if metric == "ms-ssim-db-rgb" and metric not in self.results:
            return [ms_ssim_db(v) for v in self.metric("ms-ssim-rgb")]
        for key in _ALIASES.get(metric, (metric,)):
            if key in self.results:
                return [float(v) for v in self.results[key]]
        raise LicError(f"{self.name}: no {metric} values")

    def curve(self, metric: str = "psnr-rgb") -> RDCurve:
        """The (bpp, quality) curve for BD-rate computation; :class:`LicError` if a value is not a number."""
        try:
            return RDCurve(self.name, tuple(float(b) for b in self.results["bpp"]), tuple(self.metric(metric)))
        except (TypeError, ValueError):
            raise LicError(f"{self.name}: bpp or {metric} values that are not numbers") from None

    def images(self) -> dict[str, RDResults]:
        """One results object per ``per_image`` entry, keyed by its ``source`` (for per-image BD-rates)."""
        split = {}
        for entry in self.per_image:
            source = str(entry.get("source", ""))
            results = {str(k): list(v) for k, v in entry.items() if isinstance(v, list)}
            if source and results.get("bpp"):
                split[source] = RDResults(self.name, self.description, results)
        return split

    def to_json(self) -> str:
        """Serialized file content."""
        body = {"name": self.name, "description": self.description, "results": self.results}
        if self.meta:
            body["meta"] = self.meta
        if self.per_image:
            body["per_image"] = self.per_image
        return json.dumps(body, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "results") -> RDResults:
        """Parses a results file; a malformed one raises :class:`LicError`."""
        try:
            body = json.loads(text)
            results = {str(k): list(v) for k, v in body["results"].items() if isinstance(v, list)}
            bpp = results["bpp"]
            if not bpp or any(not isinstance(b, (int, float)) for b in bpp):
                raise ValueError
            per_image = body.get("per_image", [])
            if not isinstance(per_image, list) or any(not isinstance(entry, dict) for entry in per_image):
                raise ValueError
            return cls(str(body.get("name", source)), str(body.get("description", "")), results, body.get("meta", {}),
                       per_image)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise LicError(f"{source}: not an RD results file (CompressAI layout: name, results.bpp, ...)") from None

    @classmethod
    def read(cls, path: Path) -> RDResults:
        """Reads a results file from disk."""
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise LicError(f"{path}: no such file") from None
        except UnicodeDecodeError:
            raise LicError(f"{path}: not an RD results file (not text)") from None
        return cls.from_json(text, str(path))
