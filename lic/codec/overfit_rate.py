"""Rate targeting for the overfit mode (``lic encode --mode overfit --bpp B``).

Every rate costs a whole fit, so a bisection on the quality (eight fits or more) is out of reach.
The search instead predicts the quality from :data:`PRIOR_BPP`, a typical curve of ``log(bpp)``
against quality, and corrects the prediction with each fit's measured rate: after one fit the
curve is shifted through the measured point (the image's own complexity), after two or more the
quality is interpolated between the measured points nearest the target (``log(bpp)`` is close to
linear in the quality, whose lambdas are log-spaced). It stops at a stream within ``tolerance``
below the target, or after ``fits`` fits, and returns the highest quality that stayed within the
target (or, if none did, the smallest stream).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from lic.errors import UnsupportedInputError
from lic.models.overfit import OverfitConfig

PRIOR_BPP: tuple[tuple[float, float], ...] = ((1.0, 0.14), (3.0, 0.36), (5.0, 0.89), (7.0, 1.69))
"""``(quality, bpp)``: the six evaluation images' geometric-mean rate per quality for ``fast`` and ``medium``
(``benchmarks/results/six-overfit-fast-adam.json``, ``six-overfit-medium-soap-seed0.json``; today's ``fast``
table, ``six-overfit-fast.json``, is within 5 % of it: 0.134, 0.37, 0.91, 1.64), the search's first guess."""
MAX_QUALITY = float(OverfitConfig.rate_levels - 1)
"""The overfit codec's qualities are ``0 .. MAX_QUALITY``."""
SAME_QUALITY = 1e-3
"""Qualities closer than this count as the same fit (the search stops rather than fit it again)."""


class HasBpp(Protocol):
    """A coded stream: what the search reads of it."""

    @property
    def bpp(self) -> float: ...


Coded = TypeVar("Coded", bound=HasBpp)


@dataclass(frozen=True)
class Trial:
    """One fit of the search: its quality and rate."""

    quality: float
    bpp: float


def prior_log_bpp(quality: float) -> float:
    """``log(bpp)`` of :data:`PRIOR_BPP` at ``quality``, linear between its points and beyond its ends."""
    points = [(q, math.log(b)) for q, b in PRIOR_BPP]
    i = next((k for k in range(1, len(points) - 1) if quality < points[k][0]), len(points) - 1)
    (q0, l0), (q1, l1) = points[i - 1], points[i]
    return l0 + (l1 - l0) * (quality - q0) / (q1 - q0)


def prior_quality(log_bpp: float) -> float:
    """The quality at which :func:`prior_log_bpp` reaches ``log_bpp`` (it rises with quality), in ``0..MAX_QUALITY``."""
    low, high = 0.0, MAX_QUALITY
    if prior_log_bpp(low) >= log_bpp or prior_log_bpp(high) <= log_bpp:
        return low if prior_log_bpp(low) >= log_bpp else high
    for _ in range(50):
        mid = (low + high) / 2
        low, high = (mid, high) if prior_log_bpp(mid) < log_bpp else (low, mid)
    return (low + high) / 2


def next_quality(trials: Sequence[Trial], target_bpp: float) -> float:
    """The quality predicted to give ``target_bpp`` from the fits so far (see the module docstring)."""
    goal = math.log(target_bpp)
    nearest = sorted(trials, key=lambda t: abs(math.log(t.bpp) - goal))[:2]
    if len(nearest) == 2 and abs(nearest[0].quality - nearest[1].quality) > SAME_QUALITY:
        (qa, la), (qb, lb) = ((t.quality, math.log(t.bpp)) for t in nearest)
        slope = (lb - la) / (qb - qa)
        if slope > 0:
            return min(MAX_QUALITY, max(0.0, qa + (goal - la) / slope))
    closest = nearest[0]
    return prior_quality(goal - (math.log(closest.bpp) - prior_log_bpp(closest.quality)))


def search_bpp(encode_at: Callable[[float], Coded], target_bpp: float, fits: int = 4,
               tolerance: float = 0.05) -> tuple[Coded, list[Trial]]:
    """The stream of the highest quality tried whose rate stays within ``target_bpp`` (the smallest stream if
    none does), from at most ``fits`` calls of ``encode_at(quality)``; with the qualities and rates tried.

    The search aims ``tolerance / 2`` below the target and stops at a rate in
    ``[target * (1 - tolerance), target]``, or when the next quality was already tried.
    """
    if not target_bpp > 0 or not math.isfinite(target_bpp):
        raise UnsupportedInputError(f"target bpp must be a positive number, not {target_bpp:g}")
    if fits < 1:
        raise UnsupportedInputError(f"the rate search needs at least one fit, not {fits}")
    aim = target_bpp * (1 - tolerance / 2)
    quality = prior_quality(math.log(aim))
    coded: list[tuple[float, Coded]] = []
    trials: list[Trial] = []
    for _ in range(fits):
        stream = encode_at(quality)
        coded.append((quality, stream))
        trials.append(Trial(quality, stream.bpp))
        if target_bpp * (1 - tolerance) <= stream.bpp <= target_bpp:
            break
        quality = next_quality(trials, aim)
        if any(abs(quality - t.quality) < SAME_QUALITY for t in trials):
            break
    within = [(q, s) for q, s in coded if s.bpp <= target_bpp]
    if within:
        return max(within, key=lambda pair: pair[0])[1], trials
    return min(coded, key=lambda pair: pair[1].bpp)[1], trials
