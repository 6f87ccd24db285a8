"""Published RD curves shipped with lic (sources in ``lic/data/rd/kodak/README.md``)."""

from __future__ import annotations

from importlib import resources

from lic.eval.results import RDResults

PUBLISHED_FILES = {
    "kodak": {
        "jpeg": "jpeg.json",
        "webp": "webp.json",
        "jpeg2000": "jpeg2000.json",
        "bpg": "bpg_444_x265_ycbcr.json",
        "hm": "hm.json",
        "av1": "av1.json",
        "vtm": "vtm.json",
        "elic": "paper-elic2022_mse.json",
        "mbt2018-mean": "paper-mbt2018-mean.json",
    }
}


def published_results(dataset: str = "kodak") -> dict[str, RDResults]:
    """Published results on ``dataset`` by short key (``jpeg``, ``webp``, ``bpg``, ``vtm``, ...)."""
    folder = resources.files("lic").joinpath("data", "rd", dataset)
    return {key: RDResults.from_json(folder.joinpath(file).read_text(), file)
            for key, file in PUBLISHED_FILES[dataset].items()}
