"""One results file from several measured on disjoint image sets (e.g. one process per image,
run in parallel or over several days), with the points' means recomputed from the per-image values."""

from __future__ import annotations

from lic.errors import LicError
from lic.eval.points import IMAGE_KEYS, ImageMeasurement, RDTable
from lic.eval.results import RDResults


def merge_image_sets(parts: list[RDResults]) -> RDResults:
    """The results of every image of ``parts`` (same codec, same qualities, each with its
    ``per_image`` values), as if measured in one run; ``meta`` is the first part's, with the
    image count and inputs of all."""
    if not parts:
        raise LicError("no results files to merge")
    first = parts[0]
    for part in parts:
        if part.name != first.name or part.results.get("quality") != first.results.get("quality"):
            raise LicError(f"cannot merge {part.name} at qualities {part.results.get('quality')} with "
                           f"{first.name} at {first.results.get('quality')}: same codec and qualities needed")
        if not part.per_image or any(not set(IMAGE_KEYS) <= set(entry) for entry in part.per_image):
            raise LicError(f"{part.name}: no per-image values to merge (measured before lic kept them)")
    entries = [entry for part in parts for entry in part.per_image]
    sources = [str(entry.get("source", "")) for entry in entries]
    if len(set(sources)) != len(sources):
        raise LicError("the same image is in several results files")
    table = RDTable()
    for index, quality in enumerate(first.results["quality"]):
        measurements = [ImageMeasurement(*(entry[key][index] for key in IMAGE_KEYS)) for entry in entries]
        table.add(quality, measurements, sources)
    meta = {**first.meta, "images": len(entries),
            "inputs": [item for part in parts for item in part.meta.get("inputs", [])]}
    return RDResults(first.name, first.description, table.results, meta, table.per_image)
