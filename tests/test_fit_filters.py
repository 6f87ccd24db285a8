"""The overfit synthesis's upsampling stack and residual 3x3 filters, and the ARM's nearest (coarse-grid) features:
the C++ kernels (float32 on the CPU, the encoder's fit) equal the torch path (float64 here) in values and gradients
to float precision."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lic.entropy import _rans
from lic.models.fit_filters import nearest_features, nearest_upsampled, residual_3x3, upsample_stack
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
    out = run([*latents, *values])
    assert out.shape == (1, grids, height, width)
    if grids > 1:
        assert "UpsampleStack" in type(out.grad_fn).__name__ or "UpsampleStack" in str(out.grad_fn.next_functions)


def test_upsample_stack_gradients_of_a_part_of_its_inputs() -> None:
    """Kernels alone, or the finest grid alone, requiring gradients: the others are skipped, not wrong."""
    torch.manual_seed(2)
    sizes = grid_sizes(40, 24, 5)
    fixed = [torch.randn(h, w) for h, w in sizes]
    values = torch.randn(4, 10)
    for wanted in ("kernels", "finest"):
        latents = [g.clone().requires_grad_(wanted == "finest" and i == 0) for i, g in enumerate(fixed)]
        kernels = [v.clone().requires_grad_(wanted == "kernels") for v in values]
        weights = torch.randn(1, 5, 24, 40)
        (upsample_stack(latents, [symmetric_kernel(k) for k in kernels]) * weights).sum().backward()
        latents64 = [g.detach().double().requires_grad_(g.requires_grad) for g in latents]
        kernels64 = [k.detach().double().requires_grad_(k.requires_grad) for k in kernels]
        (upsample_stack(latents64, [symmetric_kernel(k) for k in kernels64]) * weights.double()).sum().backward()
        for a, b in zip([*latents, *kernels], [*latents64, *kernels64], strict=True):
            assert (a.grad is None) == (b.grad is None)
            if a.grad is not None:
                assert _relative_error(a.grad, b.grad) < 1e-5


@pytest.mark.parametrize("relu_input", [False, True])
@pytest.mark.parametrize(("channels", "height", "width"), [(3, 40, 67), (3, 1, 1), (3, 3, 17), (1, 9, 33)])
def test_residual_3x3_kernel_matches_the_torch_path(relu_input: bool, channels: int, height: int, width: int) -> None:
    torch.manual_seed(1)
    x = torch.randn(1, channels, height, width)
    x[:, :, ::3] = 0.0  # exact zeros: the ReLU passes no gradient there, as torch's
    x.requires_grad_()
    weight = torch.randn(channels, channels, 3, 3, requires_grad=True)
    bias = torch.randn(channels, requires_grad=True)
    _compare([x, weight, bias], lambda t: residual_3x3(t[0], t[1], t[2], relu_input))
    assert "Residual3x3" in str(residual_3x3(x, weight, bias, relu_input).grad_fn.next_functions)


def test_residual_3x3_of_a_batch_goes_through_torch() -> None:
    x = torch.randn(2, 3, 5, 6)
    weight, bias = torch.randn(3, 3, 3, 3), torch.randn(3)
    out = residual_3x3(x, weight, bias, relu_input=True)
    assert out.shape == (2, 3, 5, 6)
    torch.testing.assert_close(out[1:], residual_3x3(x[1:], weight, bias, relu_input=True))


@pytest.mark.parametrize(("height", "width"), [(37, 53), (8, 8), (1, 3)])
def test_nearest_features_kernel_matches_the_torch_path(height: int, width: int) -> None:
    """Sources one to six levels coarser (their sides rounded up), the grid's own level too (shift 0)."""
    torch.manual_seed(4)
    shifts = [0, 1, 2, 3, 6]
    sources = [torch.randn(-(-height // 2**s), -(-width // 2**s), requires_grad=True) for s in shifts]
    weight, bias = torch.randn(3, len(shifts), requires_grad=True), torch.randn(3, requires_grad=True)
    _compare([weight, bias, *sources],
             lambda t: nearest_features(t[2:], shifts, t[0], t[1], (height, width)))


def test_nearest_upsampling_reads_the_covering_position() -> None:
    grid = torch.arange(6.0).reshape(2, 3)
    up = nearest_upsampled(grid, 1, (3, 5))
    assert up.tolist() == [[0, 0, 1, 1, 2], [0, 0, 1, 1, 2], [3, 3, 4, 4, 5]]


def test_nearest_features_refuse_sources_that_do_not_cover_the_grid() -> None:
    plane = np.zeros((2, 2), np.float32)
    with pytest.raises(ValueError, match="cover"):
        _rans.nearest_features_forward([plane], [1], 5, 4, np.zeros((1, 1), np.float32), np.zeros(1, np.float32))


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
    with pytest.raises(ValueError, match="bias"):
        _rans.residual3x3_forward(planes, np.zeros((2, 2, 3, 3), np.float32), np.zeros(3, np.float32), False)
    with pytest.raises(ValueError, match="output gradient"):
        _rans.residual3x3_backward(planes, np.zeros((2, 2, 3, 3), np.float32), False, np.zeros((2, 4, 4), np.float32))
    with pytest.raises(ValueError, match="channels, height, width"):
        _rans.upsample_forward(np.zeros((0, 4, 5), np.float32), np.zeros((8, 8), np.float32), 8, 10)
