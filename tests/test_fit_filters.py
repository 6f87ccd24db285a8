"""The overfit synthesis's upsampling stack and residual 3x3 filters: the C++ kernels (float32 on the CPU, the
encoder's fit) equal the torch path (float64 here) in values and gradients to float precision."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lic.entropy import _rans
from lic.models.fit_filters import residual_3x3, upsample_stack
from lic.models.overfit import grid_sizes, symmetric_kernel


def _relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    return float((got.detach().double() - want.detach()).abs().max() / want.detach().abs().max().clamp_min(1e-12))


def _compare(inputs32: list[torch.Tensor], run: object) -> None:
    """``run`` on float32 leaves (C++) and on float64 copies (torch): outputs and every input's gradient."""
    inputs64 = [t.detach().double().requires_grad_() for t in inputs32]
    out32, out64 = run(inputs32), run(inputs64)  # type: ignore[operator]
    assert out32.dtype == torch.float32 and out64.dtype == torch.float64
    assert _relative_error(out32, out64) < 1e-5
    weights = torch.randn_like(out64)
    (out32 * weights.float()).sum().backward()
    (out64 * weights).sum().backward()
    for a, b in zip(inputs32, inputs64, strict=True):
        assert a.grad is not None and b.grad is not None
        assert _relative_error(a.grad, b.grad) < 1e-5


@pytest.mark.parametrize(("width", "height", "grids"), [(96, 64, 7), (37, 23, 4), (5, 3, 2), (1, 1, 1), (2, 9, 3)])
def test_upsample_stack_kernel_matches_the_torch_path(width: int, height: int, grids: int) -> None:
    torch.manual_seed(0)
    latents = [torch.randn(h, w, requires_grad=True) for h, w in grid_sizes(width, height, grids)]
    values = [torch.randn(10, requires_grad=True) for _ in range(grids - 1)]

    def run(t: list[torch.Tensor]) -> torch.Tensor:
        return upsample_stack(t[:grids], [symmetric_kernel(v) for v in t[grids:]])

    _compare([*latents, *values], run)
    assert run([*latents, *values]).shape == (1, grids, height, width)


@pytest.mark.parametrize("relu_input", [False, True])
@pytest.mark.parametrize(("height", "width"), [(40, 67), (1, 1), (3, 17)])
def test_residual_3x3_kernel_matches_the_torch_path(relu_input: bool, height: int, width: int) -> None:
    torch.manual_seed(1)
    x = torch.randn(1, 3, height, width, requires_grad=True)
    weight, bias = torch.randn(3, 3, 3, 3, requires_grad=True), torch.randn(3, requires_grad=True)
    _compare([x, weight, bias], lambda t: residual_3x3(t[0], t[1], t[2], relu_input))


def test_kernels_refuse_mismatched_shapes() -> None:
    planes = np.zeros((2, 4, 5), np.float32)
    with pytest.raises(ValueError, match="kernel must be"):
        _rans.upsample_forward(planes, np.zeros((7, 7), np.float32), 8, 10)
    with pytest.raises(ValueError, match="1..2x"):
        _rans.upsample_forward(planes, np.zeros((8, 8), np.float32), 9, 10)
    with pytest.raises(ValueError, match="output gradient"):
        _rans.upsample_backward(planes, np.zeros((8, 8), np.float32), 8, 10, np.zeros((2, 8, 9), np.float32), True)
    with pytest.raises(ValueError, match="weight"):
        _rans.residual3x3_forward(planes, np.zeros((2, 3, 3, 3), np.float32), np.zeros(2, np.float32), False)
