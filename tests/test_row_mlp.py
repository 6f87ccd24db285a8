"""The row, channel and context MLPs of the overfit fitting equal the plain layers, values and gradients:
the torch path (float64 here, chunked) exactly, the C++ kernels (float32 on the CPU) to float precision."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lic.entropy import _rans
from lic.models.overfit import CONTEXT
from lic.models.row_mlp import CHUNK_ROWS, channel_mlp, context_mlp, context_rows, default_chunk, row_mlp


def _plain(rows: torch.Tensor, layers: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    x = rows
    for i, (weight, bias) in enumerate(layers):
        x = F.linear(x, weight, bias)
        x = F.relu(x) if i < len(layers) - 1 else x
    return x


def _layers(widths: tuple[int, ...]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(torch.randn(o, i, dtype=torch.float64, requires_grad=True),
             torch.randn(o, dtype=torch.float64, requires_grad=True)) for i, o in zip(widths, widths[1:])]


def _assert_same_values_and_gradients(out: torch.Tensor, expected: torch.Tensor, params: list[torch.Tensor]) -> None:
    torch.testing.assert_close(out, expected)
    weights = torch.randn_like(out)
    grads = torch.autograd.grad((out * weights).sum(), params)
    expected_grads = torch.autograd.grad((expected * weights).sum(), params)
    for got, want in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(got, want)


@pytest.mark.parametrize("widths", [(7, 40, 3), (16, 16, 16, 2), (5, 1)])
def test_row_mlp_matches_the_plain_layers_across_chunk_borders(widths: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    rows = torch.randn(37, widths[0], dtype=torch.float64, requires_grad=True)
    layers = _layers(widths)
    params = [rows, *(t for layer in layers for t in layer)]
    out = row_mlp(rows, layers, chunk=8)  # 37 rows: four full chunks and a partial one
    _assert_same_values_and_gradients(out, _plain(rows, layers), params)
    assert torch.autograd.gradcheck(lambda r, *flat: row_mlp(r, list(zip(flat[0::2], flat[1::2])), 8), params)


def test_row_mlp_without_input_gradient() -> None:
    rows = torch.randn(10, 4)
    weight, bias = torch.randn(3, 4, requires_grad=True), torch.randn(3, requires_grad=True)
    row_mlp(rows, [(weight, bias)], chunk=3).sum().backward()
    torch.testing.assert_close(weight.grad, rows.sum(0).expand(3, 4))
    torch.testing.assert_close(bias.grad, torch.full((3,), 10.0))


@pytest.mark.parametrize(("height", "width", "chunk"), [(7, 9, 20), (5, 4, 1), (1, 6, 100)])
def test_context_mlp_equals_the_row_mlp_of_the_stored_contexts(height: int, width: int, chunk: int) -> None:
    """Bands of 2 lines, of 1 line (chunk under a line), and one band; gradients reach the grid and layers."""
    torch.manual_seed(1)
    grid = torch.randn(height, width, dtype=torch.float64, requires_grad=True)
    layers = _layers((16, 5, 2))
    params = [grid, *(t for layer in layers for t in layer)]
    out = context_mlp(grid, CONTEXT, layers, chunk)
    _assert_same_values_and_gradients(out, _plain(context_rows(grid, CONTEXT), layers), params)
    assert torch.autograd.gradcheck(lambda g, *flat: context_mlp(g, CONTEXT, list(zip(flat[0::2], flat[1::2])),
                                                                 chunk), params)


@pytest.mark.parametrize(("height", "width", "chunk"), [(7, 9, 20), (5, 4, 1)])
def test_context_mlp_extra_inputs_follow_the_context(height: int, width: int, chunk: int) -> None:
    """``extra`` ([k, h*w]) are the last inputs of each row; gradients reach the grid, the extra inputs and layers."""
    torch.manual_seed(5)
    grid = torch.randn(height, width, dtype=torch.float64, requires_grad=True)
    extra = torch.randn(3, height * width, dtype=torch.float64, requires_grad=True)
    layers = _layers((16 + 3, 5, 2))
    params = [grid, extra, *(t for layer in layers for t in layer)]
    out = context_mlp(grid, CONTEXT, layers, chunk, extra)
    _assert_same_values_and_gradients(out, _plain(torch.cat([context_rows(grid, CONTEXT), extra.t()], 1), layers),
                                      params)


def test_context_rows_are_the_causal_neighbours() -> None:
    grid = torch.arange(12.0).reshape(3, 4)
    rows = context_rows(grid, ((0, -1), (-1, 0), (-1, 2)))
    assert rows[5].tolist() == [4.0, 1.0, 3.0]  # (1, 1): left, above, above and two to the right
    assert rows[0].tolist() == [0.0, 0.0, 0.0]  # outside the grid: zero
    assert rows[7].tolist() == [6.0, 3.0, 0.0]


def test_chunks_fit_a_cpu_cache_and_take_everything_at_once_elsewhere() -> None:
    assert default_chunk(torch.empty(100_000, 16)) == CHUNK_ROWS
    assert default_chunk(torch.empty(100_000, 16, device="meta")) >= 100_000  # a GPU: one chunk for every row
    assert default_chunk(torch.empty(0, 16, device="meta")) == 1


def _assert_close_to_float64(fn: Callable[..., torch.Tensor], inputs: list[torch.Tensor]) -> None:
    """``fn`` on float32 tensors (the C++ kernels) against ``fn`` on their float64 copies (the torch path)."""
    single = [t.detach().float().requires_grad_() for t in inputs]
    double = [t.detach().double().requires_grad_() for t in inputs]
    out, expected = fn(*single), fn(*double)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out.double(), expected, rtol=1e-5, atol=1e-4)
    weights = torch.randn_like(expected)
    grads = torch.autograd.grad((out * weights.float()).sum(), single)
    expected_grads = torch.autograd.grad((expected * weights).sum(), double)
    for got, want in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(got.double(), want, rtol=1e-4, atol=1e-4 * float(want.abs().max()))


@pytest.mark.parametrize(("widths", "rows"), [((7, 40, 3), 1001), ((16, 16, 16, 2), 37), ((5, 1), 3), ((4, 2), 8)])
def test_the_cpp_row_and_channel_mlps_match_float64(widths: tuple[int, ...], rows: int) -> None:
    """Full blocks of 8 rows and a partial last one; the planar form (an image's channels) too."""
    torch.manual_seed(2)
    x = torch.randn(rows, widths[0])
    layers = [t for layer in _layers(widths) for t in layer]

    def as_layers(flat: tuple[torch.Tensor, ...]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return list(zip(flat[0::2], flat[1::2]))

    _assert_close_to_float64(lambda r, *flat: row_mlp(r, as_layers(flat)), [x, *layers])
    _assert_close_to_float64(lambda p, *flat: channel_mlp(p, as_layers(flat)), [x.t().contiguous(), *layers])


@pytest.mark.parametrize(("height", "width"), [(7, 9), (5, 4), (1, 6), (9, 16), (33, 17)])
def test_the_cpp_context_mlp_matches_float64(height: int, width: int) -> None:
    """Blocks of 8 positions within a grid line (vector loads) and across lines (gathered one by one)."""
    torch.manual_seed(3)
    grid = torch.randn(height, width)
    layers = [t for layer in _layers((16, 16, 16, 2)) for t in layer]
    _assert_close_to_float64(lambda g, *flat: context_mlp(g, CONTEXT, list(zip(flat[0::2], flat[1::2]))),
                             [grid, *layers])


@pytest.mark.parametrize(("height", "width"), [(7, 9), (9, 16), (33, 17)])
def test_the_cpp_context_mlp_with_extra_inputs_matches_float64(height: int, width: int) -> None:
    torch.manual_seed(6)
    grid, extra = torch.randn(height, width), torch.randn(6, height * width)
    layers = [t for layer in _layers((16 + 6, 16, 16, 2)) for t in layer]
    _assert_close_to_float64(lambda g, e, *flat: context_mlp(g, CONTEXT, list(zip(flat[0::2], flat[1::2])), extra=e),
                             [grid, extra, *layers])


def test_the_cpp_context_mlp_gives_the_extra_gradient_alone() -> None:
    """Only the extra inputs need a gradient (the grid is fixed): the C++ pass still writes theirs."""
    torch.manual_seed(7)
    grid, extra = torch.randn(6, 10), torch.randn(2, 60, requires_grad=True)
    layers = [(w.detach().float(), b.detach().float()) for w, b in _layers((18, 4, 2))]
    context_mlp(grid, CONTEXT, layers, extra=extra).sum().backward()
    reference = extra.detach().double().requires_grad_()
    context_mlp(grid.double(), CONTEXT, [(w.double(), b.double()) for w, b in layers], extra=reference).sum().backward()
    torch.testing.assert_close(extra.grad.double(), reference.grad, rtol=1e-4, atol=1e-5)


def test_float32_on_the_cpu_runs_the_cpp_kernels() -> None:
    torch.manual_seed(4)
    x = torch.randn(20, 7)
    (w1, b1), (w2, b2) = [(w.detach().float(), b.detach().float()) for w, b in _layers((7, 5, 3))]
    arrays = [(w1.numpy(), b1.numpy()), (w2.numpy(), b2.numpy())]
    assert np.array_equal(row_mlp(x, [(w1, b1), (w2, b2)]).numpy(), _rans.mlp_forward(x.numpy(), arrays))
    assert np.array_equal(channel_mlp(x.t().contiguous(), [(w1, b1), (w2, b2)]).numpy(),
                          _rans.mlp_forward(x.t().contiguous().numpy(), arrays, True))


def test_the_cpp_kernels_refuse_shapes_that_do_not_fit() -> None:
    rows = np.zeros((10, 4), np.float32)
    layer = (np.zeros((3, 5), np.float32), np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="do not chain"):
        _rans.mlp_forward(rows, [layer])
    good = (np.zeros((3, 4), np.float32), np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="output gradient"):
        _rans.mlp_backward(rows, [good], np.zeros((10, 2), np.float32), True)
    with pytest.raises(ValueError, match="outside the padded grid"):  # an offset reaching above a grid without padding
        _rans.context_mlp_forward(np.zeros((4, 4), np.float32), 4, 4, 0, 0, [(-1, 0)],
                                  [(np.zeros((2, 1), np.float32), np.zeros(2, np.float32))])
