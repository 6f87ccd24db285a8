"""The fitting's rate term in C++ (float32 on the CPU) equals the torch expression, value and gradients."""

from __future__ import annotations

import torch

from lic.models.overfit import OverfitConfig, laplace_bits, laplace_rate


def test_the_cpp_rate_and_its_gradient_match_float64() -> None:
    torch.manual_seed(5)
    config = OverfitConfig()
    n = 5000
    values = (torch.randn(n) * 3).round() + 0.3 * torch.randn(n)
    # Means near the values, log-scales across and beyond the table bank's range (the clamp's edges).
    params = torch.stack([values + torch.randn(n), torch.empty(n).uniform_(-5.0, 4.0)], dim=1)
    v32, p32 = values.clone().requires_grad_(), params.clone().requires_grad_()
    v64, p64 = values.double().requires_grad_(), params.double().requires_grad_()
    rate = laplace_rate(v32, p32, config)
    expected = laplace_bits(v64, p64[:, 0], p64[:, 1], config)
    torch.testing.assert_close(rate.double(), expected.sum(), rtol=1e-5, atol=0)
    (2.0 * rate).backward()
    (2.0 * expected.sum()).backward()
    # Away from the 2^-16 floor (where float32 and float64 may fall on either side of it) the gradients agree.
    probability = 2.0 ** (-expected.detach())
    clear = probability > 2.0**-15
    torch.testing.assert_close(v32.grad.double()[clear], v64.grad[clear], rtol=2e-3, atol=1e-3)
    torch.testing.assert_close(p32.grad.double()[clear], p64.grad[clear], rtol=2e-3, atol=1e-3)


def test_other_tensors_take_the_torch_expression() -> None:
    config = OverfitConfig()
    values = torch.randn(10, dtype=torch.float64)
    params = torch.randn(10, 2, dtype=torch.float64)
    assert laplace_rate(values, params, config).dtype == torch.float64
    torch.testing.assert_close(laplace_rate(values, params, config),
                               laplace_bits(values, params[:, 0], params[:, 1], config).sum())
