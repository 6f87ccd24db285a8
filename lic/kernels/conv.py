"""Fixed-point convolution on int64 (plain or transposed), rescale, ReLU and clamp fused.

One program computes a ``BLOCK_P x BLOCK_C`` tile of output positions x output channels:
the bias, then the sum over input channels and kernel taps, ``BLOCK_R`` terms at a time
(an input tile gathered from the picture, zero outside it as zero padding, times a weight
tile), all in int64; then ``(acc + 2**13) >> 14`` and the clamp of ``bitstream-spec.md``
section 3.1. Transposed convolutions follow PyTorch's ``conv_transpose2d``: output ``o``
receives input ``i`` through tap ``k`` when ``o + padding - k == i * stride``. A masked
(checkerboard) convolution is a plain one whose masked weights are zero.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

from lic.kernels.rounding import rescale_and_clamp


@triton.jit
def _fixed_conv_kernel(x_ptr, w_ptr, b_ptr, out_ptr, c_in, h_in, w_in, c_out, h_out, w_out, lower, upper,
                       KERNEL: tl.constexpr, STRIDE: tl.constexpr, PADDING: tl.constexpr,
                       TRANSPOSED: tl.constexpr, BLOCK_P: tl.constexpr, BLOCK_R: tl.constexpr,
                       BLOCK_C: tl.constexpr):
    n = tl.program_id(2)
    p = tl.program_id(0) * BLOCK_P + tl.arange(0, BLOCK_P)
    co = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
    p_ok = p < h_out * w_out
    c_ok = co < c_out
    oy = (p // w_out)[:, None]
    ox = (p % w_out)[:, None]
    bias = tl.load(b_ptr + co, mask=c_ok, other=0)
    acc = tl.zeros([BLOCK_P, BLOCK_C], dtype=tl.int64) + bias[None, :]
    taps = KERNEL * KERNEL
    reduction = c_in * taps
    for r0 in range(0, reduction, BLOCK_R):
        # BLOCK_R terms of the sum at once: input channel ci, kernel tap (ky, kx).
        r = r0 + tl.arange(0, BLOCK_R)
        r_ok = r < reduction
        ci = (r // taps)[None, :]
        ky = (r % taps // KERNEL)[None, :]
        kx = (r % KERNEL)[None, :]
        if TRANSPOSED:
            ty = oy + PADDING - ky
            tx = ox + PADDING - kx
            ty = tl.where(ty >= 0, ty, STRIDE * h_in)  # negative: no input (moved out of range)
            tx = tl.where(tx >= 0, tx, STRIDE * w_in)
            iy = ty // STRIDE
            ix = tx // STRIDE
            ok = (ty % STRIDE == 0) & (tx % STRIDE == 0) & (iy < h_in) & (ix < w_in)
        else:
            iy = oy * STRIDE - PADDING + ky
            ix = ox * STRIDE - PADDING + kx
            ok = (iy >= 0) & (iy < h_in) & (ix >= 0) & (ix < w_in)
        ok = ok & p_ok[:, None] & r_ok[None, :]
        x = tl.load(x_ptr + ((n * c_in + ci) * h_in + iy) * w_in + ix, mask=ok, other=0)
        w = tl.load(w_ptr + r[:, None] * c_out + co[None, :], mask=r_ok[:, None] & c_ok[None, :], other=0)
        acc += tl.sum(x[:, :, None] * w[None, :, :], axis=1)
    out = rescale_and_clamp(acc, lower, upper)
    offsets = (n * c_out + co[None, :]) * (h_out * w_out) + p[:, None]
    tl.store(out_ptr + offsets, out, mask=p_ok[:, None] & c_ok[None, :])


def tap_major(weight: Tensor, transposed: bool) -> Tensor:
    """A layer's integer weight as the kernel reads it: int64 ``[C_in, K, K, C_out]``.

    ``weight`` is the ``Conv2d`` (``[C_out, C_in, K, K]``) or ``ConvTranspose2d``
    (``[C_in, C_out, K, K]``) weight holding integers.
    """
    order = (0, 2, 3, 1) if transposed else (1, 2, 3, 0)
    return weight.to(torch.int64).permute(order).contiguous()


def fixed_conv2d(a: Tensor, weight: Tensor, bias: Tensor, *, stride: int, padding: int, output_padding: int,
                 transposed: bool, lower: int, upper: int, blocks: tuple[int, int, int] | None = None) -> Tensor:
    """One fixed-point layer on int64 activations ``a`` ``[N, C_in, H, W]``; int64 ``[N, C_out, H', W']``.

    ``weight`` comes from :func:`tap_major`, ``bias`` is int64 ``[C_out]``; output sizes are
    PyTorch's for ``conv2d`` / ``conv_transpose2d`` with the same arguments. ``blocks``
    overrides the tile sizes (powers of two; any choice gives the same integers).
    """
    batch, c_in, h_in, w_in = a.shape
    kernel, c_out = weight.shape[1], weight.shape[3]
    if weight.shape[0] != c_in or weight.shape[2] != kernel:
        raise ValueError(f"weight {tuple(weight.shape)} does not fit {c_in} input channels")
    if transposed:
        h_out = (h_in - 1) * stride - 2 * padding + kernel + output_padding
        w_out = (w_in - 1) * stride - 2 * padding + kernel + output_padding
    else:
        h_out = (h_in + 2 * padding - kernel) // stride + 1
        w_out = (w_in + 2 * padding - kernel) // stride + 1
    out = torch.empty(batch, c_out, h_out, w_out, dtype=torch.int64, device=a.device)
    block_p, block_r, block_c = blocks or _blocks(h_out * w_out, c_in * kernel * kernel, c_out, a.is_cuda)
    grid = (triton.cdiv(h_out * w_out, block_p), triton.cdiv(c_out, block_c), batch)
    _fixed_conv_kernel[grid](a.contiguous(), weight, bias, out, c_in, h_in, w_in, c_out, h_out, w_out, lower, upper,
                             KERNEL=kernel, STRIDE=stride, PADDING=padding, TRANSPOSED=transposed,
                             BLOCK_P=block_p, BLOCK_R=block_r, BLOCK_C=block_c)
    return out


GPU_BLOCKS = (32, 8, 32)
"""``(BLOCK_P, BLOCK_R, BLOCK_C)`` on a GPU: a 32 x 8 x 32 int64 product tile per program."""


def _blocks(positions: int, reduction: int, channels: int, on_gpu: bool) -> tuple[int, int, int]:
    """Tile sizes: :data:`GPU_BLOCKS` on a GPU; under the interpreter, where every operation of
    every loop step costs Python overhead, few large tiles (up to 2**20 products each, Triton's
    largest tensor)."""
    if on_gpu:
        return GPU_BLOCKS[0], GPU_BLOCKS[1], min(GPU_BLOCKS[2], triton.next_power_of_2(channels))
    block_c = min(256, triton.next_power_of_2(channels))
    block_r = min(1024, triton.next_power_of_2(reduction))
    block_p = min(triton.next_power_of_2(positions), max(1, 2**20 // (block_c * block_r)))
    return block_p, block_r, block_c
