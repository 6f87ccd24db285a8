"""Writes the fuzzers' seed corpora: small valid streams and range-coder lanes.

Run from the repository root: ``python tests/fuzz/make_corpus.py``. The files are
committed; rerun after a bitstream change.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from harness import range_decoder_tables

from lic.codec.image import encode_image
from lic.codec.overfit import encode_overfit
from lic.codec.overfit_fit import FitConfig
from lic.codec.video import encode_video
from lic.codec.video_info import VideoInfo
from lic.entropy.range_coder import RangeEncoder
from lic.models.overfit import OverfitShape
from lic.models.weights import load_model

CORPUS = Path(__file__).parent / "corpus"


def _image(rng: np.random.Generator, height: int, width: int, gray: bool = False) -> np.ndarray:
    base = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3)).astype(np.float32)
    pixels = np.kron(base, np.ones((8, 8, 1)))[:height, :width] + rng.normal(0, 4, (height, width, 3))
    pixels = np.clip(pixels, 0, 255).astype(np.uint8)
    return pixels[:, :, 0] if gray else pixels


def main() -> None:
    """Writes ``corpus/streams`` (images, overfit images and a video) and ``corpus/lanes``."""
    rng = np.random.default_rng(7)
    model = load_model("elic-s")
    streams, lanes = CORPUS / "streams", CORPUS / "lanes"
    streams.mkdir(parents=True, exist_ok=True)
    lanes.mkdir(parents=True, exist_ok=True)
    seeds = {
        "rgb-16x16-q0.lic": encode_image(_image(rng, 16, 16), model, 0.0),
        "gray-17x33-q7.lic": encode_image(_image(rng, 17, 33, gray=True), model, 7.0),
        "rgb-64x70-q3-2lanes.lic": encode_image(_image(rng, 64, 70), model, 3.0, lanes=2),
        "rgb-260x300-tiled.lic": encode_image(_image(rng, 260, 300), model, 1.0, tile_size=256),
    }
    for name, encoded in seeds.items():
        (streams / name).write_bytes(encoded.data)
    write_overfit_seeds(streams, rng)
    frames = [_image(rng, 32, 48) for _ in range(2)]
    video, _ = encode_video(frames, VideoInfo(48, 32, Fraction(25)), model, 2.0)
    (streams / "video-48x32-2f.lic").write_bytes(video)
    for count in (1, 7, 64):
        encoder = RangeEncoder(1)
        values = rng.integers(-3, 8, count).astype(np.int32)
        indexes = (np.arange(count) % 3).astype(np.int32)
        encoder.encode(values, indexes, range_decoder_tables())
        header = bytes([0, 0, count // 4, count % 4])  # one lane, one thread, count symbols
        (lanes / f"lanes-{count}.bin").write_bytes(header + b"".join(encoder.finish()))


def write_overfit_seeds(streams: Path, rng: np.random.Generator) -> None:
    """Small overfit streams (``--mode overfit``, bitstream-spec.md section 6): RGB, grayscale, one with the full
    upsampling kernels of streams written before the symmetric form, and one with hyperlatents and coarse-grid
    features (coded coarse to fine)."""
    overfit = load_model("overfit")
    shape = OverfitShape(grids=3, arm_width=4, arm_layers=1, synthesis_width=4)
    fit = FitConfig(steps=10, shape=shape)
    full = FitConfig(steps=10, shape=replace(shape, symmetric_kernels=False))
    seeds = {
        "overfit-rgb-24x40-q4.lic": encode_overfit(_image(rng, 24, 40), overfit, 4.0, fit),
        "overfit-gray-9x13-q1.lic": encode_overfit(_image(rng, 9, 13, gray=True), overfit, 1.0, fit),
        "overfit-full-kernels-16x20-q2.lic": encode_overfit(_image(rng, 16, 20), overfit, 2.0, full),
    }
    coarse = FitConfig(steps=10, shape=replace(shape, hyper_grids=1, coarse_features=2, coarse_feature_grids=2))
    seeds["overfit-coarse-20x28-q3.lic"] = encode_overfit(_image(rng, 20, 28), overfit, 3.0, coarse)
    for name, encoded in seeds.items():
        (streams / name).write_bytes(encoded.data)


if __name__ == "__main__":
    main()
