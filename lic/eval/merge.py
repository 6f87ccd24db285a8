"""One results file from several, each measured on some of the images at some of the qualities
(e.g. one process per image and quality, run in parallel or over several days), with the
points' means recomputed from the per-image values."""

from __future__ import annotations

from lic.errors import LicError
from lic.eval.points import IMAGE_KEYS, ImageMeasurement, RDTable
from lic.eval.results import RDResults


def merge_results(parts: list[RDResults]) -> RDResults:
    """The results of every (image, quality) pair of ``parts`` (same codec, each with its
    ``per_image`` values), as if measured in one run: images in the order they first appear,
    qualities in increasing order, every image at every quality exactly once. ``meta`` is the first part's,
    with the image count and the inputs of all."""
    if not parts:
        raise LicError("no results files to merge")
    first = parts[0]
    grid: dict[tuple[str, float], ImageMeasurement] = {}
    sources: list[str] = []
    qualities: list[float] = []
    for part in parts:
        if part.name != first.name:
            raise LicError(f"cannot merge results of {part.name} with results of {first.name}")
        if not part.per_image or any(not set(IMAGE_KEYS) <= set(entry) for entry in part.per_image):
            raise LicError(f"{part.name}: no per-image values to merge (measured before lic kept them)")
        for entry in part.per_image:
            source = str(entry.get("source", ""))
            sources += [source] if source not in sources else []
            for index, quality in enumerate(part.results["quality"]):
                qualities += [quality] if quality not in qualities else []
                if (source, quality) in grid:
                    raise LicError(f"{source} at quality {quality:g} is in several results files")
                grid[source, quality] = ImageMeasurement(*(entry[key][index] for key in IMAGE_KEYS))
    missing = [f"{source} at quality {quality:g}" for quality in qualities for source in sources
               if (source, quality) not in grid]
    if missing:
        raise LicError(f"not measured: {', '.join(missing)}")
    table = RDTable()
    for quality in sorted(qualities):
        table.add(quality, [grid[source, quality] for source in sources], sources)
    inputs = [item for part in parts for item in part.meta.get("inputs", [])]
    meta = {**first.meta, "images": len(sources), "inputs": list(dict.fromkeys(inputs))}
    return RDResults(first.name, first.description, table.results, meta, table.per_image)
