"""Rate-distortion charts (PNG, SVG, PDF) of several results files."""

from __future__ import annotations

from pathlib import Path

from lic.errors import LicError
from lic.eval.results import RDResults
from lic.extras import import_optional
from lic.io.output import OutputFile

AXIS_LABELS = {"psnr-rgb": "PSNR-RGB (dB)", "ms-ssim-rgb": "MS-SSIM (RGB)", "ms-ssim-db-rgb": "MS-SSIM-RGB (dB)"}
FORMATS = {".png", ".svg", ".pdf"}


def plot_rd(curves: list[RDResults], outputs: list[Path], metric: str = "psnr-rgb", title: str = "",
            force: bool = False) -> None:
    """Draws bpp against ``metric`` for every curve, one chart written to each of ``outputs``.

    Curves without values for ``metric`` are left out with a note in the legend title.
    Files are written atomically; an existing one needs ``force``.
    """
    for out in outputs:
        if out.suffix.lower() not in FORMATS:
            raise LicError(f"{out}: unsupported chart format (use {', '.join(sorted(FORMATS))})")
    matplotlib = import_optional("matplotlib", "matplotlib", "plot", "lic plot")
    matplotlib.use("Agg")
    plt = import_optional("matplotlib.pyplot", "matplotlib", "plot", "lic plot")

    figure, axes = plt.subplots(figsize=(7, 5), dpi=120)
    skipped = []
    for curve in curves:
        try:
            values = curve.metric(metric)
        except LicError:
            skipped.append(curve.name)
            continue
        pairs = sorted((b, v) for b, v in zip(curve.results["bpp"], values) if v is not None)
        if not pairs:
            skipped.append(curve.name)
            continue
        axes.plot([p[0] for p in pairs], [p[1] for p in pairs], marker="o", markersize=3, label=curve.name)
    axes.set_xlabel("bits per pixel")
    axes.set_ylabel(AXIS_LABELS.get(metric, metric))
    axes.grid(True, alpha=0.3)
    axes.set_title(title)
    axes.legend(title=f"no {metric}: {', '.join(skipped)}" if skipped else None, fontsize=8)
    figure.tight_layout()
    try:
        for out in outputs:
            OutputFile(out, force).write(lambda file, fmt=out.suffix[1:].lower(): figure.savefig(file, format=fmt))  # noqa: B008 - bound now
    finally:
        plt.close(figure)
