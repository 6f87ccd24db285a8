"""Inputs and outputs the measurement commands share: image lists, results files, published curves."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from lic.errors import LicError

if TYPE_CHECKING:
    from lic.eval.results import RDResults


def collect_images(items: list[str]) -> list[Path]:
    """Image files named directly or found in the given folders."""
    from lic.io.imageio import list_images

    images: list[Path] = []
    for item in map(Path, items):
        if not item.exists():
            raise LicError(f"{item}: no such file or directory")
        images += list_images(item) if item.is_dir() else [item]
    if not images:
        raise LicError(f"no images in {', '.join(items)}")
    return images


def write_results(results, output: str | None, force: bool) -> None:  # noqa: ANN001
    """Writes RD results as JSON to ``output`` (atomically), when one is given."""
    from lic.io.imageio import write_bytes_atomic

    if output:
        write_bytes_atomic(Path(output), results.to_json().encode(), force)
        print(f"wrote {output}")


def curve_source(item: str, dataset: str) -> RDResults:
    """A results file, or the key of a published curve shipped with lic."""
    from lic.eval.anchors import published_results
    from lic.eval.results import RDResults

    if Path(item).exists():
        return RDResults.read(Path(item))
    published = published_results(dataset)
    if item in published:
        return published[item]
    raise LicError(f"{item}: no such file, and not a published curve ({', '.join(published)})")


def curve_sources(items: list[str], dataset: str) -> list[RDResults]:
    """:func:`curve_source` of each item; curves that share a name are told apart by their file's stem.

    Two runs of one codec (``kodak-elic-s-run6.json`` and ``kodak-elic-s-run8.json``, both
    ``lic-elic-s``) become ``lic-elic-s (kodak-elic-s-run6)`` and ``lic-elic-s (kodak-elic-s-run8)``
    in a chart's legend and a BD-rate table.
    """
    curves = [curve_source(item, dataset) for item in items]
    names = [curve.name for curve in curves]
    return [replace(curve, name=f"{curve.name} ({Path(item).stem})")
            if names.count(curve.name) > 1 and Path(item).exists() else curve
            for curve, item in zip(curves, items)]
