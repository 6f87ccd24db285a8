"""The chunked row and context MLPs of the overfit fitting equal the plain layers, values and gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lic.models.overfit import CONTEXT
from lic.models.row_mlp import CHUNK_ROWS, context_mlp, context_rows, default_chunk, row_mlp


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
