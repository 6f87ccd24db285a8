"""``lic encode IMAGE --mode overfit``: fit a tiny codec to one image (see lic/codec/overfit.py)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from lic.cli.common import finish_image_encode, image_outputs
from lic.errors import LicError
from lic.io.output import is_stdio

if TYPE_CHECKING:
    import numpy as np
    from tqdm import tqdm

    from lic.codec.overfit import OverfitEncoded
    from lic.codec.overfit_fit import FitConfig, FitProgress
    from lic.models.weights import LoadedModel

PRESET_NAMES = ("fast", "medium", "slow")
"""``--preset`` choices: the keys of :data:`lic.codec.overfit_fit.PRESETS` (here so that building the parser
imports no torch; a test checks they agree)."""


def check_overfit_options(args: argparse.Namespace) -> None:
    """Refuses options that do not apply to the overfit mode (before any work)."""
    from lic.models import OVERFIT_MODEL

    if args.model not in (None, OVERFIT_MODEL):
        raise LicError(f"--mode overfit codes with model {OVERFIT_MODEL}, not {args.model}")
    if args.bpp is not None and not args.bpp > 0:
        raise LicError(f"--bpp must be positive, not {args.bpp:g}")
    if args.refine or args.tile_size is not None:
        raise LicError("--refine and --tile-size are for the learned image codec, not --mode overfit")
    if args.fps is not None or args.inr_steps is not None:
        raise LicError("--fps and --inr-steps are for video input")
    if not is_stdio(args.input) and Path(args.input).is_dir():
        raise LicError("--mode overfit encodes one image at a time, not a folder")


def fit_progress(steps: int) -> tuple[tqdm, Callable[[FitProgress], None]]:
    """A tqdm bar (shown on a terminal only) and the callback that updates it with rate and PSNR."""
    from tqdm import tqdm

    bar = tqdm(total=steps, unit="step", desc="fitting", file=sys.stderr, disable=None, leave=False)

    def update(progress: FitProgress) -> None:
        if bar.total != progress.steps:  # restarts fitted one after another count all their steps
            bar.total = progress.steps
        bar.update(1)
        if progress.step % 10 == 0 or progress.step == progress.steps:
            bar.set_postfix_str(f"{progress.bpp:.3f} bpp, {progress.psnr:.2f} dB", refresh=False)

    return bar, update


def cmd_encode_overfit(args: argparse.Namespace) -> int:
    """Fits, codes and writes one image; the output appears only once complete (atomic write)."""
    from lic.codec.overfit import encode_overfit
    from lic.codec.overfit_fit import DEFAULT_PRESET, fit_steps
    from lic.codec.overfit_rate import search_bpp
    from lic.hardware import usable_cores
    from lic.io.imageio import read_image
    from lic.models import OVERFIT_MODEL
    from lic.models.weights import load_model, resolve_device

    check_overfit_options(args)
    outputs = image_outputs(args)
    pixels, _ = read_image(args.input)
    device = str(resolve_device(args.device))
    model = load_model(OVERFIT_MODEL, args.weights)
    fit = preset_fit(args.preset, args.fit_steps)
    bar, update = fit_progress(fit_steps(fit))

    def encode_at(quality: float) -> OverfitEncoded:
        bar.reset()
        bar.set_description(f"fitting q {quality:.2f}")
        return encode_overfit(pixels, model, quality, fit, update, usable_cores(), device)

    start = time.perf_counter()
    try:
        if args.bpp is None:
            encoded, search = encode_at(model.default_quality if args.quality is None else args.quality), ""
        else:
            encoded, trials = search_bpp(encode_at, args.bpp)
            search = (f", --bpp {args.bpp:g} searched in {len(trials)} fit{'s' if len(trials) > 1 else ''} ("
                      + ", ".join(f"q {t.quality:.2f}: {t.bpp:.4f} bpp" for t in trials) + ")")
    finally:
        bar.close()
    seconds = time.perf_counter() - start
    finish_image_encode(args, outputs, pixels, encoded,
                        f"overfit {args.preset or DEFAULT_PRESET} ({fit.coarse_steps} + {fit.steps} steps"
                        f"{f', best of {fit.restarts} fits' if fit.restarts > 1 else ''}){search}, {seconds:.1f} s")
    return 0


def preset_fit(preset: str | None, steps: int | None) -> FitConfig:
    """The fitting budget of ``--preset`` (default :data:`~lic.codec.overfit_fit.DEFAULT_PRESET`), or
    ``--fit-steps`` full-resolution steps alone."""
    from dataclasses import replace

    from lic.codec.overfit_fit import DEFAULT_PRESET, PRESETS

    fit = PRESETS[preset or DEFAULT_PRESET]
    return fit if steps is None else replace(fit, steps=steps, coarse_steps=0)


def overfit_encoder(model: LoadedModel, preset: str | None, steps: int | None, device: str = "cpu"
                    ) -> tuple[Callable[[np.ndarray, float], OverfitEncoded], FitConfig, str, dict]:
    """``(encode(pixels, quality), fit, results name, metadata)`` of ``lic eval --mode overfit``; fits on ``device``."""
    import os
    from dataclasses import asdict

    import torch

    from lic.codec.overfit import encode_overfit
    from lic.codec.overfit_fit import DEFAULT_PRESET
    from lic.hardware import machine_description, usable_cores

    name = preset or DEFAULT_PRESET
    fit = preset_fit(preset, steps)
    cores = usable_cores()
    meta = {"mode": "overfit", "preset": name, "fit": asdict(fit), "threads": torch.get_num_threads(),
            "workers": cores, "load_average_at_start": list(os.getloadavg()),
            "fit_device": machine_description(torch.device(device))}
    return ((lambda pixels, quality: encode_overfit(pixels, model, quality, fit, workers=cores, device=device)), fit,
            f"lic-overfit-{name}", meta)

