"""The overfit mode's rate search (``--mode overfit --bpp``) on synthetic rate curves."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from lic.codec.overfit_rate import PRIOR_BPP, prior_log_bpp, prior_quality, search_bpp
from lic.errors import UnsupportedInputError


@dataclass(frozen=True)
class Stream:
    quality: float
    bpp: float


class Curve:
    """An image whose ``log(bpp)`` is ``offset + slope * quality`` (plus a wobble), counting its fits."""

    def __init__(self, offset: float, slope: float, wobble: float = 0.0) -> None:
        self.offset, self.slope, self.wobble = offset, slope, wobble
        self.fits: list[float] = []

    def __call__(self, quality: float) -> Stream:
        self.fits.append(quality)
        return Stream(quality, math.exp(self.offset + self.slope * quality + self.wobble * math.sin(7 * quality)))


def test_the_prior_is_the_table_and_its_inverse() -> None:
    for quality, bpp in PRIOR_BPP:
        assert prior_log_bpp(quality) == pytest.approx(math.log(bpp))
        assert prior_quality(math.log(bpp)) == pytest.approx(quality, abs=1e-9)
    assert prior_quality(math.log(1e-6)) == pytest.approx(0.0) and prior_quality(math.log(1e3)) == pytest.approx(7.0)


@pytest.mark.parametrize(("offset", "slope", "wobble"), [(-2.5, 0.45, 0.0), (-1.2, 0.30, 0.0), (-3.4, 0.60, 0.02)])
@pytest.mark.parametrize("target", [0.1, 0.4, 1.2])
def test_the_search_lands_just_under_the_target_in_few_fits(offset: float, slope: float, wobble: float,
                                                            target: float) -> None:
    curve = Curve(offset, slope, wobble)
    reachable = curve(0.0).bpp <= target <= curve(7.0).bpp
    curve.fits.clear()
    stream, trials = search_bpp(curve, target)
    assert len(curve.fits) == len(trials) <= 4
    assert [t.quality for t in trials] == curve.fits
    if reachable:
        assert target * 0.95 <= stream.bpp <= target
        assert stream.quality == max(t.quality for t in trials if t.bpp <= target)


def test_an_unreachable_target_gives_the_nearest_end() -> None:
    tiny = Curve(-1.0, 0.3)
    stream, trials = search_bpp(tiny, 0.01)  # even quality 0 is larger: its stream, the smallest
    assert stream.quality == 0.0 and trials[-1].quality == 0.0 and len(trials) <= 2
    large = Curve(-3.0, 0.3)
    stream, trials = search_bpp(large, 50.0)  # above quality 7's rate: quality 7, fitted once
    assert stream.quality == 7.0 and len(trials) == 1


@pytest.mark.parametrize("target", [0.0, -1.0, math.inf, math.nan])
def test_a_bad_target_is_refused_before_any_fit(target: float) -> None:
    curve = Curve(-2.0, 0.4)
    with pytest.raises(UnsupportedInputError):
        search_bpp(curve, target)
    assert curve.fits == []


def test_the_api_searches_a_bpp_with_the_overfit_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """``Codec("overfit").encode(image, bpp=...)`` runs the search over the fast preset's fits."""
    import numpy as np

    import lic.api
    from lic.codec.overfit_fit import PRESETS

    fits: list[tuple[float, object]] = []

    def fake_encode(pixels: np.ndarray, model: object, quality: float, fit: object) -> object:
        fits.append((quality, fit))
        bpp = math.exp(-2.0 + 0.45 * quality)
        return type("Encoded", (), {"data": b"", "header": None, "reconstruction": pixels, "bpp": bpp})()

    monkeypatch.setattr(lic.api, "encode_overfit", fake_encode)
    codec = lic.api.Codec("overfit")
    pixels = np.zeros((8, 8, 3), np.uint8)
    codec.encode(pixels, bpp=0.5)
    assert 1 <= len(fits) <= 4 and all(fit is PRESETS["fast"] for _, fit in fits)
    assert 0.475 <= math.exp(-2.0 + 0.45 * max(q for q, _ in fits if math.exp(-2.0 + 0.45 * q) <= 0.5)) <= 0.5
    with pytest.raises(UnsupportedInputError):
        codec.encode(pixels, quality=3, bpp=0.5)
