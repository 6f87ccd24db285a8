"""SOAP, Adam in the eigenbasis of Shampoo's preconditioner (Vyas et al., 2024, arXiv 2409.11321).

Cool-chic 5 fits its networks with it; on lic's overfit networks it lowers the RD cost of a fit
against Adam at the same steps (docs/overfit.md, "Against Cool-chic's own encoder"). Implemented here from the
paper: for every dimension ``d`` of a weight tensor ``W`` (size ``1 < n <= max_dim``) the optimizer
keeps ``G_d``, an exponential moving average of the gradient's Gram matrix over the other dimensions,
and an orthogonal basis ``Q_d`` of its eigenvectors. Adam's moments live in the rotated space
``W x_d Q_d`` (the product along each such dimension), where a diagonal preconditioner is closer to
the full one; the step is rotated back before it is applied. The bases follow ``G_d`` by one step
of power iteration with a QR decomposition every ``frequency`` steps (an exact eigendecomposition
the first time), and the second moments are re-ordered with the eigenvalues. A parameter's first
step only starts its statistics (no update), as in the paper.

A group with ``precondition=False`` (the latent grids) is plain Adam. Weight decay is decoupled
(AdamW's form) and applied to every parameter of a group.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor


class Soap(torch.optim.Optimizer):
    """SOAP; per-group options ``lr``, ``betas``, ``eps``, ``weight_decay``, ``precondition``,
    ``frequency`` (steps between basis updates) and ``max_dim`` (larger dimensions are not
    preconditioned)."""

    def __init__(self, params: Iterable, lr: float = 1e-2, betas: tuple[float, float] = (0.95, 0.95),
                 eps: float = 1e-8, weight_decay: float = 0.01, precondition: bool = True, frequency: int = 10,
                 max_dim: int = 256) -> None:
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "precondition": precondition, "frequency": frequency, "max_dim": max_dim}
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: None = None) -> None:  # type: ignore[override]
        """One update of every parameter with a gradient."""
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                rotated = group["precondition"] and p.dim() > 1
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                    if rotated:
                        state["gram"] = [_gram(p.grad, d) if 1 < n <= group["max_dim"] else None
                                         for d, n in enumerate(p.shape)]
                        state["basis"] = [None if g is None else _eigenbasis(g) for g in state["gram"]]
                        continue
                grad = _project(p.grad, state["basis"]) if rotated else p.grad
                state["step"] += 1
                step = state["step"]
                state["exp_avg"].lerp_(grad, 1 - beta1)
                state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                denom = (state["exp_avg_sq"] / (1 - beta2**step)).sqrt_().add_(group["eps"])
                update = state["exp_avg"] / denom / (1 - beta1**step)
                if rotated:
                    update = _project(update, state["basis"], back=True)
                if group["weight_decay"]:
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                p.add_(update, alpha=-group["lr"])
                if rotated:
                    _follow(p.grad, state, beta2, step % group["frequency"] == 0)


def _gram(grad: Tensor, dim: int) -> Tensor:
    """``grad``'s Gram matrix along ``dim``: ``sum over the other indices of g[.., i, ..] g[.., j, ..]``."""
    flat = grad.movedim(dim, 0).reshape(grad.shape[dim], -1)
    return flat @ flat.T


def _eigenbasis(gram: Tensor) -> Tensor:
    """Eigenvectors of a symmetric matrix, largest eigenvalue first."""
    identity = torch.eye(len(gram), dtype=torch.float64, device=gram.device)
    _, vectors = torch.linalg.eigh(gram.double() + 1e-30 * identity)
    return vectors.flip(1).to(gram.dtype)


def _project(x: Tensor, basis: list[Tensor | None], back: bool = False) -> Tensor:
    """``x`` rotated into the bases (``x x_d Q_d`` for each dimension), or back out of them."""
    for d, q in enumerate(basis):
        if q is not None:
            x = torch.tensordot(x, q.T if back else q, dims=([d], [0])).movedim(-1, d)
    return x


def _follow(grad: Tensor, state: dict, beta: float, refresh: bool) -> None:
    """Updates the Gram matrices with ``grad`` and, when ``refresh``, the bases (one power-iteration
    step and a QR decomposition); the moments are carried into the new bases."""
    for d, gram in enumerate(state["gram"]):
        if gram is not None:
            gram.lerp_(_gram(grad, d), 1 - beta)
    if not refresh:
        return
    average = _project(state["exp_avg"], state["basis"], back=True)
    for d, (gram, q) in enumerate(zip(state["gram"], state["basis"], strict=True)):
        if q is None:
            continue
        order = torch.argsort(torch.diag(q.T @ gram @ q), descending=True)
        state["exp_avg_sq"] = state["exp_avg_sq"].index_select(d, order)
        state["basis"][d], _ = torch.linalg.qr(gram @ q[:, order])
    state["exp_avg"] = _project(average, state["basis"])
