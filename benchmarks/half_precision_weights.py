"""A copy of a weights file with its large float32 tensors stored in float16 (how elic-s ships).

    python benchmarks/half_precision_weights.py runs/elic-s-run5/elic-s.safetensors elic-s.safetensors

Tensors of at least 1,024 values whose float16 copy is finite and within 1e-3 of the tensor's
largest magnitude are stored in float16; the rest stay as they are: small tensors (the entropy
prior's parameters, whose float16 rounding would change the stored CDF tables, and bounds such
as 1e-9 that float16 flushes to zero) and integer tables. The metadata is kept. Loading casts
the values back to float32. Check the result as a new weights file: ``lic eval`` on Kodak and
``lic bdrate`` against the float32 file (lic/models/pretrained/TRAINING.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

MIN_VALUES = 1024
TOLERANCE = 1e-3


def half_precision(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``tensors`` with the large float32 ones that float16 holds closely enough converted."""
    out = {}
    for name, tensor in tensors.items():
        out[name] = tensor
        if tensor.dtype == torch.float32 and tensor.numel() >= MIN_VALUES:
            half = tensor.half()
            error = (half.float() - tensor).abs().max()
            if torch.isfinite(half).all() and error <= TOLERANCE * tensor.abs().max():
                out[name] = half
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path)
    parser.add_argument("output", type=Path)
    args = parser.parse_args()
    with safe_open(str(args.source), "pt") as f:
        metadata = dict(f.metadata())
    tensors = half_precision(load_file(str(args.source)))
    save_file(tensors, str(args.output), metadata=metadata)
    halved = sum(t.dtype == torch.float16 for t in tensors.values())
    print(f"wrote {args.output}: {halved} of {len(tensors)} tensors in float16, {args.output.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
