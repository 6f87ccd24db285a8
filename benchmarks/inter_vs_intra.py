"""Bits and PSNR of P-frames against intra frames of one clip, same quality setting.

Codes the clip with the video model at each quality (an intra frame every ``--intra-period``
frames, P-frames between), writes the ``.lic`` file, decodes it and checks the decoded frames
equal the encoder's reconstructions, then averages bytes and PSNR per frame type.

    python benchmarks/inter_vs_intra.py ../shared/datasets/video/BasketballPass_416x240_rgb_png \\
        -q 1 3 5 --intra-period 8 -o benchmarks/results/basketball-inter-vs-intra.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from lic.codec.video import decode_video, encode_video
from lic.codec.video_info import VideoInfo
from lic.codec.video_stream import FrameRecord
from lic.eval.metrics import psnr
from lic.eval.video_rd import load_clip
from lic.format.sequence import FrameType
from lic.models import DEFAULT_VIDEO_MODEL
from lic.models.weights import load_model


def main() -> None:
    """Runs every quality and prints/writes per-type averages."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clip", type=Path)
    parser.add_argument("-q", "--qualities", type=float, nargs="+", default=[1.0, 3.0, 5.0])
    parser.add_argument("--intra-period", type=int, default=8)
    parser.add_argument("--frames", type=int, default=None)
    parser.add_argument("--model", default=DEFAULT_VIDEO_MODEL)
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args()
    model = load_model(args.model)
    frames, fps = load_clip(args.clip, args.frames)
    info = VideoInfo(frames[0].shape[1], frames[0].shape[0], fps)
    pixels = info.width * info.height
    rows = []
    for quality in args.qualities:
        records: list[FrameRecord] = []
        start = time.perf_counter()
        data, _ = encode_video(frames, info, model, quality, on_frame=records.append, intra_period=args.intra_period)
        seconds = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "clip.lic"
            path.write_bytes(data)
            decoded = list(decode_video(path.read_bytes(), model))
        exact = all(np.array_equal(a, r.reconstruction) for a, r in zip(decoded, records))
        row = {"quality": quality, "frames": len(records), "file_bytes": len(data),
               "decoded_equals_encoder_reconstruction": exact, "encode_seconds": round(seconds, 1)}
        for kind in (FrameType.INTRA, FrameType.INTER):
            chosen = [r for r in records if r.type == kind]
            if chosen:
                row[kind.name.lower()] = {
                    "count": len(chosen),
                    "mean_bytes": float(np.mean([r.bytes for r in chosen])),
                    "mean_bpp": float(np.mean([r.bytes for r in chosen])) * 8 / pixels,
                    "mean_psnr_rgb": float(np.mean([psnr(r.source, r.reconstruction) for r in chosen])),
                }
        if "inter" in row:
            row["inter_over_intra_bytes"] = row["inter"]["mean_bytes"] / row["intra"]["mean_bytes"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    report = {"clip": str(args.clip), "model": model.name, "weights_sha256": model.digest.hex(),
              "intra_period": args.intra_period, "rows": rows}
    if args.output:
        args.output.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
