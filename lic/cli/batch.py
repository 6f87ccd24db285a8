"""``lic encode|decode DIR -o OUTDIR``: the folder job (local processes or Ray)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lic.cli.common import EXIT_ERROR
from lic.cli.distributed import batch_runner
from lic.errors import LicError
from lic.io.output import is_stdio


def run_batch(args: argparse.Namespace, mode: str) -> int:
    """``lic encode|decode DIR -o OUTDIR``: every file below DIR, resumable, with a progress bar."""
    from tqdm import tqdm

    from lic.io.batch import BatchJob, plan, print_summary, renamed

    source, target = Path(args.input), Path(args.output)
    if is_stdio(args.output) or (target.exists() and not target.is_dir()):
        raise LicError(f"{args.output} is not a directory (a folder input needs an output folder)")
    if getattr(args, "recon", None):
        raise LicError("--recon is for one image; a folder input writes no reconstructions")
    pairs = plan(source, target, mode)
    if not pairs:
        raise LicError(f"{source}: no {'images' if mode == 'encode' else '.lic files'} found")
    for input_path, output_path in renamed(pairs):
        print(f"note: {input_path} is written to {output_path}: another input has the same name", file=sys.stderr)
    job = BatchJob(mode, getattr(args, "model", ""), args.weights, getattr(args, "quality", None),
                   getattr(args, "bpp", None), args.device, getattr(args, "refine", 0), args.max_pixels,
                   args.force, getattr(args, "tile_size", None))
    with batch_runner(job, args.workers, args.ray) as run, \
            tqdm(total=len(pairs), unit="file", desc=mode, file=sys.stderr) as bar:
        summary = run(pairs, bar.update)
    print_summary(summary, mode)
    return EXIT_ERROR if summary.failed else 0
