"""Rows of BD figures between two RD results, as ``lic bdrate`` prints them (also for scripts)."""

from __future__ import annotations

from lic.errors import LicError
from lic.eval.bdrate import bd_psnr, bd_rate, overlap, overlap_fraction
from lic.eval.results import RDResults


def bd_row(test: RDResults, anchor: RDResults, metric: str) -> dict:
    """BD-rate, BD-quality (``None`` when the rate ranges do not overlap), the shared quality
    range and its share of the test's range; or ``bd_rate_percent: None`` and the error."""
    row = {"test": test.name, "anchor": anchor.name}
    try:
        t, a = test.curve(metric), anchor.curve(metric)
        row.update(bd_rate_percent=round(bd_rate(t, a), 2), quality_range=[round(v, 3) for v in overlap(t, a)],
                   overlap=round(overlap_fraction(t, a), 3))
    except (ValueError, LicError) as exc:
        return {**row, "bd_rate_percent": None, "error": str(exc)}
    try:
        row["bd_psnr_db"] = round(bd_psnr(t, a), 3)
    except ValueError:
        row["bd_psnr_db"] = None
    return row


def per_image_rows(test: RDResults, anchor: RDResults, metric: str) -> list[dict]:
    """One :func:`bd_row` (with ``image``) per image that both measured (their ``per_image``, in the
    anchor's order), then the mean of their BD-rates; :class:`LicError` if they share no image."""
    tests, anchors = test.images(), anchor.images()
    shared = [source for source in anchors if source in tests]
    if not shared:
        raise LicError(f"{test.name} and {anchor.name} have no per-image results for the same images")
    rows = [{**bd_row(tests[source], anchors[source], metric), "image": source} for source in shared]
    known = [row["bd_rate_percent"] for row in rows if row["bd_rate_percent"] is not None]
    mean = {"test": test.name, "anchor": anchor.name, "image": f"mean of {len(known)} images",
            "bd_rate_percent": round(sum(known) / len(known), 2) if known else None}
    return [*rows, mean if known else {**mean, "error": "no image has overlapping curves"}]
