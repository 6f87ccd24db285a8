"""Fixed-point 1x1 convolution on feature vectors, optionally choosing the Gaussian tables.

The parameter-aggregation networks are 1x1 convolutions evaluated at the positions one
checkerboard pass codes (``FixedPointNetwork.apply_to_rows``). One program computes a
``BLOCK_N x BLOCK_C`` tile of rows x output channels: the bias plus the int64 products,
``BLOCK_R`` input channels at a time, then the rescale and clamp. Given the scale table, the last layer also
writes, for its first ``index_channels`` outputs (the scales ``σ = a / 2**12``), the index
of the first table entry ``>= σ`` (the number of entries ``< σ`` among all but the last),
found by binary search over the sorted table: the same number as
:meth:`lic.entropy.priors.GaussianPrior.table_indexes` of the same scales.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

from lic.kernels.rounding import rescale_and_clamp


@triton.jit
def _fixed_rows_kernel(x_ptr, x_row_stride, x_col_stride, w_ptr, b_ptr, out_ptr, index_ptr, bounds_ptr, n_bounds,
                       rows, c_in, c_out, index_channels, lower, upper,
                       WITH_INDEX: tl.constexpr, SEARCH_STEPS: tl.constexpr, BLOCK_N: tl.constexpr,
                       BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr):
    r = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
    co = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
    r_ok = r < rows
    c_ok = co < c_out
    bias = tl.load(b_ptr + co, mask=c_ok, other=0)
    acc = tl.zeros([BLOCK_N, BLOCK_C], dtype=tl.int64) + bias[None, :]
    for k0 in range(0, c_in, BLOCK_R):
        ci = k0 + tl.arange(0, BLOCK_R)
        ci_ok = ci < c_in
        x = tl.load(x_ptr + r[:, None] * x_row_stride + ci[None, :] * x_col_stride,
                    mask=r_ok[:, None] & ci_ok[None, :], other=0)
        w = tl.load(w_ptr + ci[:, None] * c_out + co[None, :], mask=ci_ok[:, None] & c_ok[None, :], other=0)
        acc += tl.sum(x[:, :, None] * w[None, :, :], axis=1)
    out = rescale_and_clamp(acc, lower, upper)
    ok = r_ok[:, None] & c_ok[None, :]
    tl.store(out_ptr + co[None, :] * rows + r[:, None], out, mask=ok)  # channel-major [C_out, N]
    if WITH_INDEX:
        # Binary search for the number of bounds below the scale out / 2**12 (exact in float64:
        # |out| <= 2**24); bounds past the last one count as +inf.
        scale = out.to(tl.float64) * 0.000244140625
        index = tl.zeros([BLOCK_N, BLOCK_C], dtype=tl.int32)
        step = 1 << SEARCH_STEPS
        for _ in tl.static_range(SEARCH_STEPS):
            step = step // 2
            probe = index + step - 1
            bound = tl.load(bounds_ptr + probe, mask=probe < n_bounds, other=float("inf"))
            index = tl.where(bound < scale, index + step, index)
        is_scale = ok & (co[None, :] < index_channels)
        tl.store(index_ptr + co[None, :] * rows + r[:, None], index, mask=is_scale)


def channel_major(weight: Tensor) -> Tensor:
    """A 1x1 layer's integer weight ``[C_out, C_in, 1, 1]`` as the kernel reads it: int64 ``[C_in, C_out]``."""
    return weight[:, :, 0, 0].to(torch.int64).t().contiguous()


def fixed_rows(a: Tensor, weight: Tensor, bias: Tensor, *, lower: int, upper: int,
               bounds: Tensor | None = None, index_channels: int = 0,
               blocks: tuple[int, int, int] | None = None) -> tuple[Tensor, Tensor | None]:
    """One fixed-point 1x1 layer on int64 rows ``a`` ``[N, C_in]`` (any strides).

    Returns the int64 activations ``[N, C_out]`` (a transposed view of a channel-major
    buffer, so that ``out.t()`` is contiguous) and, when ``bounds`` (float64, the scale
    table without its last entry) is given, the int32 table indexes ``[index_channels, N]``
    of the first ``index_channels`` outputs read as scales. ``blocks`` overrides the tile
    sizes (powers of two; any choice gives the same integers).
    """
    rows, c_in = a.shape
    c_out = weight.shape[1]
    if weight.shape[0] != c_in:
        raise ValueError(f"weight {tuple(weight.shape)} does not fit {c_in} input channels")
    out = torch.empty(c_out, rows, dtype=torch.int64, device=a.device)
    with_index = bounds is not None
    indexes = torch.empty(index_channels, rows, dtype=torch.int32, device=a.device) if with_index else None
    n_bounds = bounds.numel() if with_index else 0
    block_n, block_r, block_c = blocks or _blocks(rows, c_in, c_out, a.is_cuda)
    grid = (triton.cdiv(rows, block_n), triton.cdiv(c_out, block_c))
    _fixed_rows_kernel[grid](a, a.stride(0), a.stride(1), weight, bias, out, indexes if with_index else out,
                             bounds if with_index else out, n_bounds, rows, c_in, c_out, index_channels, lower, upper,
                             WITH_INDEX=with_index, SEARCH_STEPS=max(1, n_bounds.bit_length()),
                             BLOCK_N=block_n, BLOCK_R=block_r, BLOCK_C=block_c)
    return out.t(), indexes


GPU_BLOCKS = (32, 8, 32)
"""``(BLOCK_N, BLOCK_R, BLOCK_C)`` on a GPU: a 32 x 8 x 32 int64 product tile per program."""


def _blocks(rows: int, reduction: int, channels: int, on_gpu: bool) -> tuple[int, int, int]:
    """Tile sizes: :data:`GPU_BLOCKS` on a GPU; few large tiles under the interpreter (up to
    2**20 products, Triton's largest tensor)."""
    if on_gpu:
        return GPU_BLOCKS[0], GPU_BLOCKS[1], min(GPU_BLOCKS[2], triton.next_power_of_2(channels))
    block_c = min(256, triton.next_power_of_2(channels))
    block_r = min(512, triton.next_power_of_2(reduction))
    block_n = min(triton.next_power_of_2(rows), max(1, 2**20 // (block_c * block_r)))
    return block_n, block_r, block_c
