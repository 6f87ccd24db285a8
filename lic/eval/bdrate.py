"""Bjøntegaard delta rate (BD-rate) between two rate-distortion curves.

The piecewise-cubic (PCHIP) variant used by JVET's common test conditions: log10
of the rate is interpolated as a monotone cubic function of quality (PSNR) on
each curve, both are integrated over the quality range they share, and the mean
difference is turned into a percentage. Negative means fewer bits than the anchor
at equal quality. BD-PSNR is the dual: quality as a function of log-rate,
integrated over the shared log-rate range; positive means better quality at equal rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # scipy.interpolate costs 0.7 s to import; every lic command would pay it (issue 21)
    from scipy.interpolate import PchipInterpolator


@dataclass(frozen=True)
class RDCurve:
    """Rate (bits per pixel) and quality (dB) points of one codec."""

    name: str
    bpp: tuple[float, ...]
    psnr: tuple[float, ...]


def _log_rate_of_quality(curve: RDCurve) -> tuple[PchipInterpolator, float, float]:
    from scipy.interpolate import PchipInterpolator

    psnr = np.asarray(curve.psnr, dtype=np.float64)
    bpp = np.asarray(curve.bpp, dtype=np.float64)
    if len(psnr) < 2 or len(psnr) != len(bpp) or np.any(bpp <= 0):
        raise ValueError(f"{curve.name}: needs at least two points with positive rates")
    order = np.argsort(psnr)
    psnr, log_rate = psnr[order], np.log10(bpp[order])
    if np.any(np.diff(psnr) <= 0):
        raise ValueError(f"{curve.name}: quality values must be distinct")
    return PchipInterpolator(psnr, log_rate), float(psnr[0]), float(psnr[-1])


def bd_rate(test: RDCurve, anchor: RDCurve) -> float:
    """BD-rate of ``test`` against ``anchor`` in percent; ``ValueError`` if they do not overlap."""
    f_test, lo_t, hi_t = _log_rate_of_quality(test)
    f_anchor, lo_a, hi_a = _log_rate_of_quality(anchor)
    lo, hi = max(lo_t, lo_a), min(hi_t, hi_a)
    if hi <= lo:
        raise ValueError(f"{test.name} and {anchor.name} share no quality range")
    mean_diff = (f_test.integrate(lo, hi) - f_anchor.integrate(lo, hi)) / (hi - lo)
    return float((10**mean_diff - 1) * 100)


def bd_psnr(test: RDCurve, anchor: RDCurve) -> float:
    """BD-PSNR (quality gain in dB at equal rate) of ``test`` against ``anchor``."""

    def quality_of_log_rate(curve: RDCurve) -> tuple[PchipInterpolator, float, float]:
        from scipy.interpolate import PchipInterpolator

        log_rate = np.log10(np.asarray(curve.bpp, dtype=np.float64))
        order = np.argsort(log_rate)
        if np.any(np.diff(log_rate[order]) <= 0):
            raise ValueError(f"{curve.name}: rates must be distinct")
        interpolator = PchipInterpolator(log_rate[order], np.asarray(curve.psnr)[order])
        return interpolator, log_rate[order][0], log_rate[order][-1]

    _log_rate_of_quality(test), _log_rate_of_quality(anchor)  # same validity checks
    f_test, lo_t, hi_t = quality_of_log_rate(test)
    f_anchor, lo_a, hi_a = quality_of_log_rate(anchor)
    lo, hi = max(lo_t, lo_a), min(hi_t, hi_a)
    if hi <= lo:
        raise ValueError(f"{test.name} and {anchor.name} share no rate range")
    return float((f_test.integrate(lo, hi) - f_anchor.integrate(lo, hi)) / (hi - lo))


def overlap_fraction(test: RDCurve, anchor: RDCurve) -> float:
    """Share of the test curve's quality span that the anchor covers (0..1)."""
    lo, hi = overlap(test, anchor)
    span = max(test.psnr) - min(test.psnr)
    return max(0.0, hi - lo) / span if span > 0 else 0.0


def overlap(test: RDCurve, anchor: RDCurve) -> tuple[float, float]:
    """The quality range (dB) over which :func:`bd_rate` compares the curves."""
    return max(min(test.psnr), min(anchor.psnr)), min(max(test.psnr), max(anchor.psnr))
