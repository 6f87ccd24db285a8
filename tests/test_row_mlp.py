"""The chunked row MLP of the overfit fitting equals the plain layers, values and gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lic.models.row_mlp import row_mlp


def _plain(rows: torch.Tensor, layers: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    x = rows
    for i, (weight, bias) in enumerate(layers):
        x = F.linear(x, weight, bias)
        x = F.relu(x) if i < len(layers) - 1 else x
    return x


@pytest.mark.parametrize("widths", [(7, 40, 3), (16, 16, 16, 2), (5, 1)])
def test_row_mlp_matches_the_plain_layers_across_chunk_borders(widths: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    rows = torch.randn(37, widths[0], dtype=torch.float64, requires_grad=True)
    layers = [(torch.randn(o, i, dtype=torch.float64, requires_grad=True),
               torch.randn(o, dtype=torch.float64, requires_grad=True)) for i, o in zip(widths, widths[1:])]
    params = [rows, *(t for layer in layers for t in layer)]
    out = row_mlp(rows, layers, chunk=8)  # 37 rows: four full chunks and a partial one
    expected = _plain(rows, layers)
    torch.testing.assert_close(out, expected)
    weights = torch.randn_like(out)
    grads = torch.autograd.grad((out * weights).sum(), params)
    expected_grads = torch.autograd.grad((expected * weights).sum(), params)
    for got, want in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(got, want)
    assert torch.autograd.gradcheck(lambda r, *flat: row_mlp(r, list(zip(flat[0::2], flat[1::2])), 8), params)


def test_row_mlp_without_input_gradient() -> None:
    rows = torch.randn(10, 4)
    weight, bias = torch.randn(3, 4, requires_grad=True), torch.randn(3, requires_grad=True)
    row_mlp(rows, [(weight, bias)], chunk=3).sum().backward()
    torch.testing.assert_close(weight.grad, rows.sum(0).expand(3, 4))
    torch.testing.assert_close(bias.grad, torch.full((3,), 10.0))
