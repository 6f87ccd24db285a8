"""Cross-configuration decoding of Kodak: encode one way, decode another, compare bit for bit.

For every image: encode with ``--encode-threads`` / ``--encode-device`` and torch's
deterministic algorithms, then decode the stream with ``--decode-threads`` /
``--decode-device`` and non-deterministic algorithms allowed. Reports, per image, whether
the decoded latent equals the encoder's (the entropy-parameter guarantee of
bitstream-spec.md section 3.1) and how many output pixels differ from the encoder's
reconstruction (float synthesis; exact on the same configuration).

    python benchmarks/determinism_kodak.py --encode-threads 1 --decode-threads 2 \\
        -o benchmarks/results/determinism-threads.json
    python benchmarks/determinism_kodak.py --encode-device cuda --decode-device cpu -o gpu-to-cpu.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from lic.codec import image as image_codec
from lic.codec.image import decode_picture, encode_picture
from lic.entropy.range_coder import RangeDecoder
from lic.format.header import ColourFormat
from lic.hardware import machine_description
from lic.kernels.selection import kernel_setting
from lic.models.weights import load_model


def decoded_latent(model, coded: list[bytes], quality: float, shape: tuple[int, int]) -> torch.Tensor:  # noqa: ANN001
    """The latent ``y_hat`` the decoder recovers from one untiled stream, on the CPU."""
    device = next(model.module.parameters()).device
    decoder = RangeDecoder(coded)
    with torch.inference_mode():
        y_hat = model.module.decode(decoder, quality, shape, device)
    decoder.check_exhausted()
    return y_hat.cpu()


def compare_image(pixels: np.ndarray, encoder_model, decoder_model, quality: float,  # noqa: ANN001
                  encode_threads: int, decode_threads: int, encode_kernels: str = "auto",
                  decode_kernels: str = "auto") -> dict:
    """Encodes ``pixels`` with ``encoder_model`` (``encode_threads``, deterministic algorithms,
    ``LIC_KERNELS=encode_kernels``), decodes with ``decoder_model`` (``decode_threads``,
    non-deterministic algorithms allowed, ``LIC_KERNELS=decode_kernels``): whether the latents
    are equal, and how many output pixels differ from the encoder's."""
    height, width = pixels.shape[:2]
    z_size = (-(-height // 64), -(-width // 64))
    image_codec.CODING_THREADS = encode_threads
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        with kernel_setting(encode_kernels):
            coded, reconstruction = encode_picture(pixels, encoder_model, quality)
            y_encoder = decoded_latent(encoder_model, coded[0], quality, z_size)
    finally:
        torch.use_deterministic_algorithms(False)
    image_codec.CODING_THREADS = decode_threads
    try:
        with kernel_setting(decode_kernels):
            y_decoder = decoded_latent(decoder_model, coded[0], quality, z_size)
            output = decode_picture(coded, decoder_model, quality, width, height, ColourFormat.RGB)
        latent_exact = bool(torch.equal(y_encoder, y_decoder))
        differ = int(np.count_nonzero(output != reconstruction))
        max_diff = int(np.abs(output.astype(int) - reconstruction).max())
        error = None
    except Exception as exc:  # noqa: BLE001 - a desynchronised stream is a result to record
        latent_exact, differ, max_diff, error = False, None, None, f"{type(exc).__name__}: {exc}"
    return {"latent_exact": latent_exact, "pixels_differing": differ, "max_pixel_difference": max_diff,
            "error": error}


def summary(rows: list[dict]) -> dict:
    """Counts of images whose latent, and whose pixels, the decoder reproduced exactly."""
    return {"images": len(rows), "latent_exact": sum(r["latent_exact"] for r in rows),
            "pixels_identical": sum(r["pixels_differing"] == 0 for r in rows)}


def main() -> None:
    """Runs the comparison over a folder of images and writes the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kodak", type=Path, default=Path("../shared/datasets/kodak"))
    parser.add_argument("--quality", type=float, default=3.0)
    parser.add_argument("--encode-threads", type=int, default=1)
    parser.add_argument("--decode-threads", type=int, default=2)
    parser.add_argument("--encode-device", default="cpu")
    parser.add_argument("--decode-device", default="cpu")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    encoder_model = load_model("elic-s", device=args.encode_device)
    decoder_model = encoder_model if args.decode_device == args.encode_device else load_model(
        "elic-s", device=args.decode_device)
    rows = []
    for path in sorted(args.kodak.glob("kodim*.png")):
        pixels = np.asarray(Image.open(path).convert("RGB"))
        rows.append({"image": path.name, **compare_image(pixels, encoder_model, decoder_model, args.quality,
                                                         args.encode_threads, args.decode_threads)})
        print(rows[-1], flush=True)
    report = {
        "encode": {"threads": args.encode_threads, "device": args.encode_device, "deterministic_algorithms": True},
        "decode": {"threads": args.decode_threads, "device": args.decode_device, "deterministic_algorithms": False},
        "quality": args.quality,
        "machine": machine_description(torch.device(args.decode_device)),
        **summary(rows),
        "rows": rows,
    }
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "rows"}, indent=2))


if __name__ == "__main__":
    main()
