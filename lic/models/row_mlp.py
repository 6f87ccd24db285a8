"""A small MLP over many feature rows, computed in cache-sized chunks (for fitting on CPUs).

The overfit mode's networks apply a few narrow layers (widths 2..40) to every pixel or
latent of an image: hundreds of thousands of rows. Through autograd each layer is a skinny
matrix product plus a ReLU, and every intermediate ``[rows, width]`` tensor goes to main
memory and back, so a fitting step is bound by memory traffic, not arithmetic.
:func:`row_mlp` computes the same function chunk by chunk, keeps only its input for the
backward pass and recomputes each chunk's activations there, so every intermediate stays in
the cache: a full-resolution fitting step on a Kodak image went from 0.59 to 0.35 CPU
seconds on one core (``benchmarks/overfit_step.py``, with and without ``--plain``). The
results equal the plain layers' up to float summation order; the decoder never runs this
(it uses the exact fixed-point path).
"""

from __future__ import annotations

import torch
from torch import Tensor

CHUNK_ROWS = 4096
"""Rows per chunk: ``4096 x 40`` float32 activations are 640 KiB, within a core's L2 cache."""

Layer = tuple[Tensor, Tensor]
"""``(weight [out, in], bias [out])`` of one layer."""


def row_mlp(rows: Tensor, layers: list[Layer], chunk: int = CHUNK_ROWS) -> Tensor:
    """``[N, out]``: ``rows [N, in]`` through ``layers``, ReLU after every layer but the last."""
    flat = [t for layer in layers for t in layer]
    return _RowMLP.apply(rows, chunk, *flat)


def _forward_chunk(x: Tensor, layers: list[Layer]) -> list[Tensor]:
    """The input and every layer's output of one chunk (hidden outputs after their ReLU)."""
    outputs = [x]
    for i, (weight, bias) in enumerate(layers):
        y = torch.addmm(bias, outputs[-1], weight.t())
        outputs.append(y.clamp_min_(0) if i < len(layers) - 1 else y)
    return outputs


class _RowMLP(torch.autograd.Function):
    @staticmethod
    def forward(ctx, rows: Tensor, chunk: int, *flat: Tensor) -> Tensor:  # noqa: ANN001
        layers = list(zip(flat[0::2], flat[1::2]))
        out = rows.new_empty(rows.shape[0], layers[-1][0].shape[0])
        for start in range(0, rows.shape[0], chunk):
            out[start : start + chunk] = _forward_chunk(rows[start : start + chunk], layers)[-1]
        ctx.save_for_backward(rows, *flat)
        ctx.chunk = chunk
        return out

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:  # noqa: ANN001
        rows, *flat = ctx.saved_tensors
        layers = list(zip(flat[0::2], flat[1::2]))
        grad_rows = torch.empty_like(rows) if ctx.needs_input_grad[0] else None
        grads = [torch.zeros_like(t) for t in flat]
        for start in range(0, rows.shape[0], ctx.chunk):
            outputs = _forward_chunk(rows[start : start + ctx.chunk], layers)
            g = grad[start : start + ctx.chunk]
            for i in range(len(layers) - 1, -1, -1):
                weight = layers[i][0]
                grads[2 * i].addmm_(g.t(), outputs[i])
                grads[2 * i + 1].add_(g.sum(0))
                if i == 0 and grad_rows is None:
                    break
                g = g @ weight
                if i > 0:
                    g.mul_(outputs[i] > 0)
            if grad_rows is not None:
                grad_rows[start : start + ctx.chunk] = g
        return (grad_rows, None, *grads)
