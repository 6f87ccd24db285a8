"""Probe ARM designs on fitted latents: bits of an overfit stream's latents under ARMs fitted to them.

    python benchmarks/overfit_arm_probe.py runs/ofref/seed0/kodim23-q3.lic --seeds 0 1

Decodes the stream's integer latents, then fits each ARM variant to them alone (rate only,
full batch, Adam 1e-2 cosine to 1e-4, the latents fixed) and reports the lowest latent bits per
pixel it reached, per seed of its initialisation. The latents were fitted with the shipped
ARM, so a variant's gain here is a first estimate of what it would save in a full fit (which
also adapts the latents to it), at the cost of its extra parameters (in the stream: about 6–8
bits each at the step exponents the encoder picks). Variants:

* ``in-grid``: the shipped ARM (16 causal neighbours in the latent's grid, 2 hidden layers of 16);
* ``parent3x3``: plus the 3x3 neighbourhood of the co-located latent in the next coarser grid
  (decoded before the finer one in a coarse-to-fine order; zero for the coarsest grid);
* ``width24``: the shipped context with hidden layers of 24;
* ``context24``: 8 more causal neighbours (24, C3's count), hidden layers of 16;
* ``residual``: the shipped sizes, each hidden layer ``relu(W h + b + h)`` and started at zero, plus a
  linear layer from the context to the outputs added to the MLP's (Cool-chic 5's ARM with its
  "stabiliser"; 34 more parameters).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from lic.codec.overfit import decode_overfit_latents
from lic.format.container import read_image_stream
from lic.models.overfit import CONTEXT, OverfitConfig, laplace_bits
from lic.models.row_mlp import context_rows, row_mlp
from lic.models.weights import load_model

MORE_CONTEXT = ((-3, -2), (-3, -1), (-3, 1), (-3, 2), (-2, -3), (-2, 3), (0, -4), (-4, 0))
VARIANTS = {  # name: (context offsets, parent window side, hidden width, residual hidden layers)
    "in-grid": (CONTEXT, 0, 16, False),
    "parent3x3": (CONTEXT, 3, 16, False),
    "width24": (CONTEXT, 0, 24, False),
    "context24": (CONTEXT + MORE_CONTEXT, 0, 16, False),
    "residual": (CONTEXT, 0, 16, True),
}


def stream_latents(path: Path) -> tuple[list[Tensor], OverfitConfig]:
    """The integer latent grids (finest first; a stream's hyperlatents are left out) of an overfit stream, and the
    codec's constants."""
    header, tiles = read_image_stream(path.read_bytes())
    model = load_model("overfit")
    network, grids = decode_overfit_latents(header, tiles, model)
    return [torch.tensor(g, dtype=torch.float32) for g in grids[: network.shape.grids]], model.module.config


def parent_rows(grids: list[Tensor], i: int, side: int) -> Tensor:
    """``[h*w, side^2]``: the next coarser grid's values around ``(y // 2, x // 2)`` (zero outside)."""
    h, w = grids[i].shape
    if i + 1 == len(grids):
        return torch.zeros(h * w, side * side)
    r = side // 2
    padded = F.pad(grids[i + 1][None, None], (r, r, r, r))[0, 0]
    ys, xs = torch.arange(h) // 2 + r, torch.arange(w) // 2 + r
    return torch.stack([padded[(ys + dy)[:, None], (xs + dx)[None, :]].reshape(-1)
                        for dy in range(-r, r + 1) for dx in range(-r, r + 1)], 1)


def context_matrix(grids: list[Tensor], offsets: tuple[tuple[int, int], ...], side: int) -> Tensor:
    """Every latent's ARM input row, all grids stacked (finest first)."""
    rows = []
    for i, grid in enumerate(grids):
        parts = [context_rows(grid, offsets)]
        if side:
            parts.append(parent_rows(grids, i, side))
        rows.append(torch.cat(parts, 1))
    return torch.cat(rows, 0)


def residual_mlp(rows: Tensor, layers: list[tuple[Tensor, Tensor]]) -> Tensor:
    """``rows`` through ``layers[:-1]`` (the MLP; ``relu(W h + b + h)`` for square hidden layers, ``relu(W h
    + b)`` for others, the last without ReLU) plus ``layers[-1]`` of ``rows`` (the linear branch)."""
    h = rows
    *mlp, (ws, bs) = layers
    for i, (w, b) in enumerate(mlp):
        out = F.linear(h, w, b)
        if i + 1 < len(mlp):
            out = F.relu(out + h if w.shape[0] == w.shape[1] else out)
        h = out
    return h + F.linear(rows, ws, bs)


def fit_arm(rows: Tensor, values: Tensor, config: OverfitConfig, width: int, seed: int,
            steps: int, residual: bool = False) -> tuple[float, int]:
    """Lowest total bits of ``values`` reached by an ARM of ``width`` fitted to them (with ``residual``: its
    square hidden layers residual and started at zero, and a linear branch); its parameter count."""
    torch.manual_seed(seed)
    dims = [rows.shape[1], width, width, 2]
    layers = [((torch.randn(b, a) * math.sqrt(2 / a)).requires_grad_(), torch.zeros(b, requires_grad=True))
              for a, b in zip(dims[:-1], dims[1:])]
    with torch.no_grad():  # the shipped ARM's start: small last layer, log-scale bias -1
        layers[-1][0].mul_(0.1)
        layers[-1][1].copy_(torch.tensor([0.0, -1.0]))
        for w, _ in layers[:-1]:
            if residual and w.shape[0] == w.shape[1]:
                w.zero_()
    if residual:
        layers.append((torch.zeros(2, dims[0], requires_grad=True), torch.zeros(2, requires_grad=True)))
    optimizer = torch.optim.Adam([t for layer in layers for t in layer], lr=1e-2)
    best = math.inf
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = 1e-4 + (1e-2 - 1e-4) * 0.5 * (1 + math.cos(math.pi * step / steps))
        out = residual_mlp(rows, layers) if residual else row_mlp(rows, layers)
        bits = laplace_bits(values, out[:, 0], out[:, 1], config).sum()
        optimizer.zero_grad()
        bits.backward()
        optimizer.step()
        best = min(best, bits.item())
    return best, sum(t.numel() for layer in layers for t in layer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("streams", nargs="+", type=Path, help="overfit .lic files")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--steps", type=int, default=600)
    args = parser.parse_args()
    for path in args.streams:
        grids, config = stream_latents(path)
        values = torch.cat([g.reshape(-1) for g in grids])
        pixels = grids[0].numel()
        result: dict = {"stream": str(path), "stream_bpp": path.stat().st_size * 8 / pixels}
        for name in args.variants:
            offsets, side, width, residual = VARIANTS[name]
            rows = context_matrix(grids, offsets, side)
            start = time.process_time()
            fits = [fit_arm(rows, values, config, width, seed, args.steps, residual) for seed in args.seeds]
            result[name] = {"latent_bpp": [round(bits / pixels, 5) for bits, _ in fits], "parameters": fits[0][1],
                            "cpu_seconds": round(time.process_time() - start, 1)}
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
