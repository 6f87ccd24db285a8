"""A small MLP over many feature rows, forward and backward, for fitting on CPUs.

The overfit mode's networks apply a few narrow layers (widths 2..40) to every pixel or
latent of an image: hundreds of thousands of rows. Through autograd each layer is a skinny
matrix product plus a ReLU, and every intermediate ``[rows, width]`` tensor goes to main
memory and back, so a fitting step is bound by memory traffic, not arithmetic.

:func:`row_mlp` and :func:`context_mlp` keep only their input for the backward pass and
recompute the activations there. On float32 CPU tensors (the encoder's fit) both passes are
C++ (``lic/entropy/csrc/fit_mlp.cpp``): blocks of 8 rows whose activations stay in
registers, the entropy model's contexts gathered from the grid on the fly. Elsewhere (a GPU,
float64) the same function runs as torch operations on chunks of rows, which is also the
reference the C++ is tested against. The results equal the plain layers' up to float
summation order; the decoder never runs this (it uses the exact fixed-point path).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from lic.entropy import _rans

CHUNK_ROWS = 4096
"""Rows per chunk on a CPU: ``4096 x 40`` float32 activations are 640 KiB, within a core's L2 cache."""


def default_chunk(rows: Tensor) -> int:
    """Rows per chunk of the torch path: :data:`CHUNK_ROWS` on a CPU (float64 there; float32 goes to the C++
    kernels, which need no chunks); on a GPU all of ``rows`` at once (``numel`` bounds the rows of a matrix and
    the positions of a grid): there a chunk costs kernel launches and saves no cache."""
    return CHUNK_ROWS if rows.device.type == "cpu" else max(1, rows.numel())

Layer = tuple[Tensor, Tensor]
"""``(weight [out, in], bias [out])`` of one layer."""


def row_mlp(rows: Tensor, layers: list[Layer], chunk: int | None = None) -> Tensor:
    """``[N, out]``: ``rows [N, in]`` through ``layers``, ReLU after every layer but the last (``chunk`` rows
    at a time on the torch path, :func:`default_chunk` when None)."""
    flat = [t for layer in layers for t in layer]
    return _RowMLP.apply(rows, default_chunk(rows) if chunk is None else chunk, False, *flat)


def channel_mlp(planes: Tensor, layers: list[Layer], chunk: int | None = None) -> Tensor:
    """``[out, N]``: :func:`row_mlp` of the columns of ``planes [in, N]`` (an image's channels, its pixels
    flattened: ``1x1`` convolutions without moving the image to rows and back)."""
    flat = [t for layer in layers for t in layer]
    return _RowMLP.apply(planes, default_chunk(planes) if chunk is None else chunk, True, *flat)


def cpp_kernels_take(t: Tensor) -> bool:
    """Whether the C++ fitting kernels take ``t``: float32 on the CPU (here and in
    :func:`lic.models.overfit.laplace_rate`)."""
    return t.device.type == "cpu" and t.dtype == torch.float32


def _arrays(flat: tuple[Tensor, ...]) -> list[tuple]:
    """The layers as float32 ``(weight, bias)`` arrays for the C++ kernels."""
    return [(w.detach().contiguous().numpy(), b.detach().contiguous().numpy()) for w, b in zip(flat[0::2], flat[1::2])]


def _tensors(grads: list[tuple]) -> list[Tensor]:
    """The C++ kernels' float64 ``(weight, bias)`` gradients as float32 tensors, flat."""
    return [torch.from_numpy(g).float() for layer in grads for g in layer]


def _forward_chunk(x: Tensor, layers: list[Layer]) -> list[Tensor]:
    """The input and every layer's output of one chunk (hidden outputs after their ReLU)."""
    outputs = [x]
    for i, (weight, bias) in enumerate(layers):
        y = torch.addmm(bias, outputs[-1], weight.t())
        outputs.append(y.clamp_min_(0) if i < len(layers) - 1 else y)
    return outputs


class _RowMLP(torch.autograd.Function):
    """:func:`row_mlp` (``planar`` False) and :func:`channel_mlp` (``planar`` True: the rows are columns)."""

    @staticmethod
    def forward(ctx, rows: Tensor, chunk: int, planar: bool, *flat: Tensor) -> Tensor:  # noqa: ANN001
        ctx.save_for_backward(rows, *flat)
        ctx.chunk, ctx.planar = chunk, planar
        if cpp_kernels_take(rows):
            return torch.from_numpy(_rans.mlp_forward(rows.detach().contiguous().numpy(), _arrays(flat), planar))
        x = rows.t() if planar else rows
        layers = list(zip(flat[0::2], flat[1::2]))
        out = x.new_empty(x.shape[0], layers[-1][0].shape[0])
        for start in range(0, x.shape[0], chunk):
            out[start : start + chunk] = _forward_chunk(x[start : start + chunk], layers)[-1]
        return out.t() if planar else out

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:  # noqa: ANN001
        rows, *flat = ctx.saved_tensors
        if cpp_kernels_take(rows):
            grad_rows, grads = _rans.mlp_backward(rows.detach().contiguous().numpy(), _arrays(tuple(flat)),
                                                  grad.contiguous().numpy(), ctx.needs_input_grad[0], ctx.planar)
            return (None if grad_rows is None else torch.from_numpy(grad_rows), None, None, *_tensors(grads))
        x, grad = (rows.t(), grad.t()) if ctx.planar else (rows, grad)
        layers = list(zip(flat[0::2], flat[1::2]))
        grad_rows = torch.empty_like(x) if ctx.needs_input_grad[0] else None
        grads = [torch.zeros_like(t) for t in flat]
        for start in range(0, x.shape[0], ctx.chunk):
            outputs = _forward_chunk(x[start : start + ctx.chunk], layers)
            g = _backward_chunk(outputs, layers, grad[start : start + ctx.chunk], grads, grad_rows is not None)
            if grad_rows is not None:
                grad_rows[start : start + ctx.chunk] = g
        if grad_rows is not None and ctx.planar:
            grad_rows = grad_rows.t()
        return (grad_rows, None, None, *grads)


def _backward_chunk(outputs: list[Tensor], layers: list[Layer], grad: Tensor, grads: list[Tensor],
                    input_grad: bool) -> Tensor:
    """Adds one chunk's parameter gradients to ``grads``; returns its input gradient (if ``input_grad``)."""
    g = grad
    for i in range(len(layers) - 1, -1, -1):
        grads[2 * i].addmm_(g.t(), outputs[i])
        grads[2 * i + 1].add_(g.sum(0))
        if i == 0 and not input_grad:
            break
        g = g @ layers[i][0]
        if i > 0:
            g.mul_(outputs[i] > 0)
    return g


Offsets = tuple[tuple[int, int], ...]
"""Neighbours ``(dy, dx)`` of a grid position whose values form its context row."""


def context_rows(grid: Tensor, offsets: Offsets) -> Tensor:
    """``[h*w, len(offsets)]``: the values at ``offsets`` of each position of ``grid`` ``[h, w]`` (zero outside)."""
    h, w = grid.shape
    pads = _pads(offsets)
    return _band(F.pad(grid, pads), offsets, pads, 0, h, w)


def context_mlp(grid: Tensor, offsets: Offsets, layers: list[Layer], chunk: int | None = None,
                extra: Tensor | None = None) -> Tensor:
    """``[h*w, out]``: :func:`context_rows` of ``grid`` through ``layers`` (ReLU after all but the last).

    Equal to ``row_mlp(context_rows(grid, offsets), layers)``, but the ``[h*w, len(offsets)]``
    contexts and their gradient are never stored whole: each band of grid lines builds its
    contexts, and in the backward pass adds their gradient to the grid's. With 16 offsets the
    two matrices are 128 bytes per latent (33 MB for a Kodak image's grids, 0.7 GB at the
    overfit mode's 4-Mpixel limit); the step takes the same time. ``extra`` (``[k, h*w]``), if
    given, holds more inputs of each position, after its context (the first layer then takes
    ``len(offsets) + k`` inputs).
    """
    flat = [t for layer in layers for t in layer]
    return _ContextMLP.apply(grid, extra, offsets, default_chunk(grid) if chunk is None else chunk, *flat)


def _pads(offsets: Offsets) -> tuple[int, int, int, int]:
    """``F.pad`` widths (left, right, top, bottom) that keep every offset of every position inside."""
    dys, dxs = [dy for dy, _ in offsets], [dx for _, dx in offsets]
    return max(0, -min(dxs)), max(0, max(dxs)), max(0, -min(dys)), max(0, max(dys))


def _band(padded: Tensor, offsets: Offsets, pads: tuple[int, int, int, int], start: int, stop: int,
          w: int, extra: Tensor | None = None) -> Tensor:
    """Context rows of grid lines ``start .. stop`` from the padded grid (then their ``extra`` inputs)."""
    left, _, top, _ = pads
    taps = [padded[top + dy + start : top + dy + stop, left + dx : left + dx + w] for dy, dx in offsets]
    rows = torch.stack(taps, dim=-1).reshape((stop - start) * w, len(offsets))
    return rows if extra is None else torch.cat([rows, extra[:, start * w : stop * w].t()], 1)


class _ContextMLP(torch.autograd.Function):
    @staticmethod
    def forward(ctx, grid: Tensor, extra: Tensor | None, offsets: Offsets, chunk: int,  # noqa: ANN001
                *flat: Tensor) -> Tensor:
        layers = list(zip(flat[0::2], flat[1::2]))
        h, w = grid.shape
        pads = _pads(offsets)
        padded = F.pad(grid.detach(), pads)
        extra = None if extra is None else extra.detach().contiguous()
        lines = max(1, chunk // max(1, w))
        ctx.save_for_backward(padded, extra, *flat)
        ctx.offsets, ctx.pads, ctx.lines, ctx.size = offsets, pads, lines, (h, w)
        if cpp_kernels_take(grid):
            return torch.from_numpy(_rans.context_mlp_forward(padded.numpy(), h, w, pads[0], pads[2], list(offsets),
                                                              _arrays(flat), None if extra is None else extra.numpy()))
        out = grid.new_empty(h * w, layers[-1][0].shape[0])
        for start in range(0, h, lines):
            stop = min(h, start + lines)
            out[start * w : stop * w] = _forward_chunk(_band(padded, offsets, pads, start, stop, w, extra), layers)[-1]
        return out

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:  # noqa: ANN001
        padded, extra, *flat = ctx.saved_tensors
        layers = list(zip(flat[0::2], flat[1::2]))
        (h, w), (left, _, top, _) = ctx.size, ctx.pads
        extra_wanted = extra is not None and ctx.needs_input_grad[1]
        if cpp_kernels_take(padded):
            native_grad, grads, native_extra = _rans.context_mlp_backward(
                padded.numpy(), h, w, left, top, list(ctx.offsets), _arrays(tuple(flat)), grad.contiguous().numpy(),
                ctx.needs_input_grad[0], None if extra is None else extra.numpy(), extra_wanted)
            grad_grid = None if native_grad is None else torch.from_numpy(native_grad)[top : top + h, left : left + w]
            grad_extra = None if native_extra is None else torch.from_numpy(native_extra)
            return (grad_grid, grad_extra, None, None, *_tensors(grads))
        grad_padded = torch.zeros_like(padded) if ctx.needs_input_grad[0] else None
        grad_extra = torch.empty_like(extra) if extra_wanted else None
        grads = [torch.zeros_like(t) for t in flat]
        taps = len(ctx.offsets)
        for start in range(0, h, ctx.lines):
            stop = min(h, start + ctx.lines)
            outputs = _forward_chunk(_band(padded, ctx.offsets, ctx.pads, start, stop, w, extra), layers)
            wanted = grad_padded is not None or grad_extra is not None
            g = _backward_chunk(outputs, layers, grad[start * w : stop * w], grads, wanted)
            if grad_extra is not None:
                grad_extra[:, start * w : stop * w] = g[:, taps:].t()
            if grad_padded is not None:
                per_tap = g[:, :taps].t().reshape(taps, stop - start, w)
                for t, (dy, dx) in enumerate(ctx.offsets):
                    grad_padded[top + dy + start : top + dy + stop, left + dx : left + dx + w].add_(per_tap[t])
        grad_grid = None if grad_padded is None else grad_padded[top : top + h, left : left + w]
        return (grad_grid, grad_extra, None, None, *grads)
