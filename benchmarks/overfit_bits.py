"""Where the bits of overfit streams go: each network's weights, and the rest (latents, headers).

    python benchmarks/overfit_bits.py runs/of/kodim04-q1.lic [more.lic ...]

Prints, per stream, bits per pixel of the whole file, of the ARM, upsampling and synthesis
weights (their integers coded alone with their tables, plus their parameter-header
entries), and of everything else: the latents and the container and parameter headers.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lic.codec.overfit import _groups, _tensor_bits, read_shape
from lic.codec.tensor_coding import pull_tensors
from lic.entropy.range_coder import RangeDecoder
from lic.format.container import read_image_stream
from lic.models.overfit import OverfitNetwork
from lic.models.weights import load_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("streams", type=Path, nargs="+")
    args = parser.parse_args()
    codec = load_model("overfit").module
    print("stream  total  arm  upsampling  synthesis  latents+headers  (bits per pixel)")
    for path in args.streams:
        data = path.read_bytes()
        header, tiles = read_image_stream(data)
        shape, entries = read_shape(tiles[0][0])
        shapes = [tuple(t.shape) for t in OverfitNetwork(shape).tensors()]
        tensors = pull_tensors(entries, RangeDecoder([tiles[0][1]]), shapes, codec.prior, str(path))
        groups, pixels = _groups(shape), header.width * header.height
        weights = [_tensor_bits([t for t, g in zip(tensors, groups) if g == group], shape, codec) / pixels
                   for group in range(3)]
        total = len(data) * 8 / pixels
        print(f"{path}  {total:.4f}  {weights[0]:.4f}  {weights[1]:.4f}  {weights[2]:.4f}  {total - sum(weights):.4f}")


if __name__ == "__main__":
    main()
