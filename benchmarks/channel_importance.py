"""Does the weight-only channel importance (ISCS, ``lic reorder-channels``) agree with what
the channels measurably carry?

For a trained model, compares the importance estimated from the weights
(:func:`lic.models.channel_order.channel_importance`) with two measured ones on training
images (never Kodak): each channel's bits (from the model's likelihoods) and the MSE added
to the reconstruction when that channel of ``y_hat`` is zeroed. Prints Spearman rank
correlations and writes them as JSON.

    python benchmarks/channel_importance.py --images ../shared/datasets/train --count 6 \\
        -o benchmarks/results/channel-importance-elic-s.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from scipy.stats import spearmanr

from lic.io.imageio import list_images
from lic.models.channel_order import channel_importance
from lic.models.weights import load_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="elic-s")
    parser.add_argument("--weights", type=Path)
    parser.add_argument("--images", required=True, help="folder of training images")
    parser.add_argument("--count", type=int, default=6, help="images used (the first in name order)")
    parser.add_argument("-q", "--quality", type=float, default=3.0)
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()

    model = load_model(args.model, args.weights)
    module = model.module
    estimated = channel_importance(module, args.quality).scores.numpy()
    channels = len(estimated)
    bits, dropped = np.zeros(channels), np.zeros(channels)
    with torch.no_grad():
        for path in list_images(Path(args.images))[: args.count]:
            pixels = np.asarray(Image.open(path).convert("RGB"))
            height, width = pixels.shape[0] // 64 * 64, pixels.shape[1] // 64 * 64
            x = torch.from_numpy(pixels[:height, :width].copy()).permute(2, 0, 1)[None].float() / 255
            y = module.analyze(x, args.quality)
            likelihoods = module.forward_latent(y, args.quality)["likelihoods"]["y"]
            bits += (-torch.log2(likelihoods)).sum(dim=(0, 2, 3)).numpy()
            y_hat = torch.round(y)
            base = module.synthesize(y_hat, args.quality)
            for c in range(channels):
                zeroed = y_hat.clone()
                zeroed[:, c] = 0
                dropped[c] += float((module.synthesize(zeroed, args.quality) - base).square().mean())
    by_estimate = np.argsort(-estimated)
    result = {
        "model": model.name,
        "weights_sha256": model.digest.hex(),
        "quality": args.quality,
        "images": args.count,
        "spearman_estimate_vs_bits": float(spearmanr(estimated, bits).statistic),
        "spearman_estimate_vs_dropped_mse": float(spearmanr(estimated, dropped).statistic),
        "spearman_bits_vs_dropped_mse": float(spearmanr(bits, dropped).statistic),
        "top16_bit_share_by_estimate": float(bits[by_estimate][:16].sum() / bits.sum()),
        "top16_bit_share_by_dropped_mse": float(bits[np.argsort(-dropped)][:16].sum() / bits.sum()),
    }
    print(json.dumps(result, indent=1))
    Path(args.output).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
