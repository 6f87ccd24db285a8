"""The overfit synthesis's two filters for fitting on CPUs: the upsampling stack and the residual 3x3 (and the
ARM's coarse-grid features, a linear layer over coarser grids read at nearest positions).

:func:`upsample_stack` turns the latent grids into the synthesis's full-resolution features (each
level doubles the stack of coarser grids with its learned ``8x8`` kernel and puts the next grid on
top); :func:`residual_3x3` is one refinement layer ``x + conv3x3(x)``. Through autograd both are a
chain of small single-channel convolutions, pads, copies and concatenations whose tensors go to main
memory and back. On float32 CPU tensors (the encoder's fit) forward and backward are C++
(``lic/entropy/csrc/fit_filters.cpp``): row by row, nothing but each level's stack stored. Elsewhere
(a GPU, float64) they are the torch operations below, which are also the reference the C++ is tested
against. The results equal the torch path's up to float summation order; the decoder never runs this
(it has the exact fixed-point path).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

from lic.entropy import _rans
from lic.models.row_mlp import cpp_kernels_take


def upsample_stack(grids: list[Tensor], kernels: list[Tensor]) -> Tensor:
    """``[1, L, H, W]``: every grid (``[h_i, w_i]``, finest first) upsampled to the finest grid's size.

    Coarse to fine, the stack of the grids below level ``i`` is doubled with ``kernels[i]``
    (``[1, 1, 8, 8]``), cropped to grid ``i``'s size and put under grid ``i``.
    """
    if all(cpp_kernels_take(t) for t in (*grids, *kernels)):
        return _UpsampleStack.apply(len(grids), *grids, *kernels)[None]
    x = grids[-1][None, None]
    for i in range(len(grids) - 2, -1, -1):
        h, w = grids[i].shape
        x = torch.cat([grids[i][None, None], _upsample(x, kernels[i])[:, :, :h, :w]], dim=1)
    return x


def residual_3x3(x: Tensor, weight: Tensor, bias: Tensor, relu_input: bool) -> Tensor:
    """``x + conv3x3(x') + bias`` of ``x [N, C, H, W]``, with ``x'`` = ``x`` (or ``relu(x)``) edge-replicated by 1
    (the C++ kernel takes one image; a batch goes through torch)."""
    if x.shape[0] == 1 and all(cpp_kernels_take(t) for t in (x, weight, bias)):
        return _Residual3x3.apply(x[0], weight, bias, relu_input)[None]
    inner = F.relu(x) if relu_input else x
    return x + F.conv2d(_pad_last(inner), weight, bias)


def nearest_features(sources: list[Tensor], shifts: list[int], weight: Tensor, bias: Tensor,
                     size: tuple[int, int]) -> Tensor:
    """``[F, h*w]``: ``bias + weight @ u`` at every position ``(y, x)`` of an ``h x w`` grid, ``u`` the values of
    ``sources`` (``[h_j, w_j]`` planes) at ``(y >> shifts[j], x >> shifts[j])``; ``weight`` is ``[F, sources]``."""
    if all(cpp_kernels_take(t) for t in (*sources, weight, bias)):
        return _NearestFeatures.apply(tuple(shifts), size, weight, bias, *sources)
    planes = [nearest_upsampled(s, shift, size) for s, shift in zip(sources, shifts, strict=True)]
    return torch.addmm(bias[:, None], weight, torch.stack(planes).reshape(len(planes), -1))


def nearest_upsampled(grid: Tensor, shift: int, size: tuple[int, int]) -> Tensor:
    """``grid`` nearest-neighbour upsampled ``2^shift`` times and cropped to ``size``: ``(y, x)`` holds
    ``grid[y >> shift, x >> shift]``."""
    factor = 2**shift
    return grid.repeat_interleave(factor, 0)[: size[0]].repeat_interleave(factor, 1)[:, : size[1]]


def _pad_last(x: Tensor) -> Tensor:
    """``x`` with one replicated pixel around it, channels-last (3x faster 3x3 convolutions on CPUs)."""
    return F.pad(x, (1, 1, 1, 1), mode="replicate").contiguous(memory_format=torch.channels_last)


def _upsample(x: Tensor, kernel: Tensor) -> Tensor:
    """Each channel of ``[1, C, h, w]`` doubled with ``kernel`` (edges replicated): ``[1, C, 2h, 2w]``."""
    _, c, h, w = x.shape
    # One depthwise convolution in channels-last layout: 3x faster forward and backward on CPUs
    # than a batch of single-channel ones.
    padded = F.pad(x, (2, 2, 2, 2), mode="replicate").contiguous(memory_format=torch.channels_last)
    up = F.conv_transpose2d(padded, kernel.expand(c, 1, -1, -1), stride=2, padding=3, groups=c)
    return up[:, :, 4 : 4 + 2 * h, 4 : 4 + 2 * w]


def _array(t: Tensor) -> np.ndarray:
    """``t`` as a C-contiguous array for the C++ kernels (no copy when it already is one)."""
    return t.detach().contiguous().numpy()


class _UpsampleStack(torch.autograd.Function):
    """:func:`upsample_stack` in C++: inputs ``count`` grids, then ``count - 1`` kernels; output ``[L, H, W]``."""

    @staticmethod
    def forward(ctx, count: int, *tensors: Tensor) -> Tensor:  # noqa: ANN001
        grids, kernels = tensors[:count], tensors[count:]
        stacks = [grids[-1].detach()[None]]  # stacks[j]: the stack at level count - 1 - j
        for i in range(count - 2, -1, -1):
            h, w = grids[i].shape
            up = _rans.upsample_forward(_array(stacks[-1]), _array(kernels[i][0, 0]), h, w)
            stacks.append(torch.cat([grids[i].detach()[None], torch.from_numpy(up)]))
        ctx.save_for_backward(*stacks[:-1], *kernels)
        ctx.count = count
        return stacks[-1]

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:  # noqa: ANN001
        count = ctx.count
        saved = ctx.saved_tensors
        stacks, kernels = saved[: count - 1], saved[count - 1 :]
        grad_grids: list[Tensor | None] = [None] * count
        grad_kernels: list[Tensor | None] = [None] * (count - 1)
        g = grad.contiguous()
        for i in range(count - 1):
            below = stacks[count - 2 - i]  # the stack of the grids under level i
            grad_grids[i] = g[0]
            # Whether anything under level i needs a gradient: a grid, or a kernel of a coarser level.
            wanted = any(ctx.needs_input_grad[1 + j] for j in range(i + 1, count)) or any(
                ctx.needs_input_grad[1 + count + j] for j in range(i + 1, count - 1))
            gi, gk = _rans.upsample_backward(_array(below), _array(kernels[i][0, 0]), g.shape[1], g.shape[2],
                                             _array(g[1:]), wanted)
            grad_kernels[i] = torch.from_numpy(gk).float()[None, None]
            if not wanted:
                break
            g = torch.from_numpy(gi)
        else:
            grad_grids[count - 1] = g[0]
        return (None, *grad_grids, *grad_kernels)


class _Residual3x3(torch.autograd.Function):
    """:func:`residual_3x3` in C++ on ``[C, H, W]``."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor, relu_input: bool) -> Tensor:  # noqa: ANN001
        ctx.save_for_backward(x, weight)
        ctx.relu_input = relu_input
        return torch.from_numpy(_rans.residual3x3_forward(_array(x), _array(weight), _array(bias), relu_input))

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:  # noqa: ANN001
        x, weight = ctx.saved_tensors
        gx, gw, gb = _rans.residual3x3_backward(_array(x), _array(weight), ctx.relu_input, _array(grad))
        return torch.from_numpy(gx), torch.from_numpy(gw).float(), torch.from_numpy(gb).float(), None


class _NearestFeatures(torch.autograd.Function):
    """:func:`nearest_features` in C++: inputs shifts, size, weight, bias, then the sources."""

    @staticmethod
    def forward(ctx, shifts: tuple[int, ...], size: tuple[int, int], weight: Tensor, bias: Tensor,  # noqa: ANN001
                *sources: Tensor) -> Tensor:
        ctx.save_for_backward(weight, *sources)
        ctx.shifts, ctx.size = shifts, size
        return torch.from_numpy(_rans.nearest_features_forward([_array(s) for s in sources], list(shifts), *size,
                                                               _array(weight), _array(bias)))

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:  # noqa: ANN001
        weight, *sources = ctx.saved_tensors
        wanted = any(ctx.needs_input_grad[4:])
        grad_sources, grad_weight, grad_bias = _rans.nearest_features_backward(
            [_array(s) for s in sources], list(ctx.shifts), *ctx.size, _array(weight), _array(grad), wanted)
        planes = [torch.from_numpy(g) for g in grad_sources] if wanted else [None] * len(sources)
        return (None, None, torch.from_numpy(grad_weight).float(), torch.from_numpy(grad_bias).float(), *planes)
