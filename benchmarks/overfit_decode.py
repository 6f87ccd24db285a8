"""Decode time and exactness of overfit streams: 1 vs 2 threads, against the encoder's reconstruction.

    python benchmarks/overfit_decode.py runs/overfit-fast/kodim23-q3.lic ... -o benchmarks/results/overfit-decode.json

For each stream: the reconstruction saved by the encoder (``<stream>.recon.png`` if present,
else the encoder is not consulted and only 1- vs 2-thread equality is checked), then
``--repeat`` decodes with torch at 1 thread and at 2 threads (median wall and CPU seconds of
``lic.codec.image.decode_image``, the work ``lic decode`` does after reading the file), with
the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from lic.codec.image import decode_image
from lic.models.weights import load_model


def timed_decodes(data: bytes, threads: int, repeat: int) -> tuple[np.ndarray, float, float]:
    """Decoded pixels, median wall seconds and median CPU seconds of ``repeat`` decodes."""
    model = load_model("overfit")
    torch.set_num_threads(threads)
    walls, cpus, pixels = [], [], None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        pixels, _ = decode_image(data, model)
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return pixels, statistics.median(walls), statistics.median(cpus)


def main() -> None:
    """Measures every stream given; writes one JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("streams", nargs="+", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    rows = []
    for stream in args.streams:
        data = stream.read_bytes()
        load_before = os.getloadavg()
        one, wall1, cpu1 = timed_decodes(data, 1, args.repeat)
        two, wall2, cpu2 = timed_decodes(data, 2, args.repeat)
        recon_path = stream.with_suffix(".recon.png")
        recon = np.asarray(Image.open(recon_path)) if recon_path.exists() else None
        rows.append({"stream": stream.name, "bytes": len(data), "pixels": int(one.shape[0] * one.shape[1]),
                     "one_vs_two_threads_identical": bool(np.array_equal(one, two)),
                     "equals_encoder_reconstruction": None if recon is None else bool(np.array_equal(one, recon)),
                     "decode_wall_s_1_thread": wall1, "decode_cpu_s_1_thread": cpu1,
                     "decode_wall_s_2_threads": wall2, "decode_cpu_s_2_threads": cpu2,
                     "load_average_before": list(load_before), "load_average_after": list(os.getloadavg())})
        print(json.dumps(rows[-1]), flush=True)
    args.output.write_text(json.dumps({"repeat": args.repeat, "torch": torch.__version__, "streams": rows},
                                      indent=2) + "\n")


if __name__ == "__main__":
    main()
