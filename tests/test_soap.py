"""The SOAP optimizer of the overfit mode's networks (lic.codec.soap)."""

from __future__ import annotations

import numpy as np
import torch

from lic.codec.overfit_fit import FitConfig, SoftQuantization, _Phase, fit_image
from lic.codec.soap import Soap, _project
from lic.models.overfit import OverfitConfig, OverfitNetwork, OverfitShape

SHAPE = OverfitShape(grids=3, arm_width=8, arm_layers=2, synthesis_width=8)


def test_an_unpreconditioned_group_is_adam() -> None:
    torch.manual_seed(1)
    x = torch.randn(50, 3, requires_grad=True)
    y = x.detach().clone().requires_grad_(True)
    soap = Soap([{"params": [x], "precondition": False, "betas": (0.9, 0.999), "weight_decay": 0.0}], lr=0.1)
    adam = torch.optim.Adam([y], lr=0.1)
    for _ in range(20):
        for v, optimizer in ((x, soap), (y, adam)):
            optimizer.zero_grad()
            (v**3).sum().backward()
            optimizer.step()
    assert torch.allclose(x, y, atol=1e-5)


def test_rotation_into_the_bases_and_back_is_the_identity() -> None:
    torch.manual_seed(2)
    x = torch.randn(4, 5, 3)
    basis = [torch.linalg.qr(torch.randn(n, n))[0] for n in (4, 5)] + [None]
    rotated = _project(x, basis)
    assert not torch.allclose(rotated, x)
    assert torch.allclose(_project(rotated, basis, back=True), x, atol=1e-5)


def test_soap_beats_adam_on_an_ill_conditioned_problem() -> None:
    torch.manual_seed(0)
    a = torch.randn(16, 16)
    a = a @ a.T + 0.1 * torch.eye(16)
    target = torch.randn(16, 16)
    losses = []
    for make in (lambda p: Soap([p], lr=0.05, weight_decay=0.0), lambda p: torch.optim.Adam([p], lr=0.05)):
        w = torch.zeros(16, 16, requires_grad=True)
        optimizer = make(w)
        for _ in range(300):
            optimizer.zero_grad()
            loss = ((a @ (w - target)) ** 2).mean()
            loss.backward()
            optimizer.step()
        losses.append(loss.item())
    assert losses[0] < 0.1 * losses[1]


def test_a_soap_fit_is_repeatable_and_its_state_restores() -> None:
    rng = np.random.default_rng(3)
    pixels = np.clip(rng.normal(128, 40, (12, 16, 3)), 0, 255).astype(np.uint8)
    fit = FitConfig(steps=30, coarse_steps=12, soap=True, clip=0.1, shape=SHAPE)
    first, second = (fit_image(pixels, 1e-3, fit, OverfitConfig()) for _ in range(2))
    assert all(torch.equal(a, b) for a, b in zip(first.network.tensors(), second.network.tensors(), strict=True))
    adam = fit_image(pixels, 1e-3, FitConfig(steps=30, coarse_steps=12, shape=SHAPE), OverfitConfig())
    assert not torch.equal(first.network.tensors()[0], adam.network.tensors()[0])

    target = torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255
    phase = _Phase.start(target, OverfitNetwork(SHAPE), None, fit)
    soft = SoftQuantization(sharpness=3.0, noise=0.2)
    for _ in range(12):  # past a basis refresh (every 10 steps)
        phase.step(fit.latent_lr, fit.lr, 1e-3, OverfitConfig(), soft)
    state = phase.snapshot()
    torch.manual_seed(5)
    after = [phase.step(fit.latent_lr, fit.lr, 1e-3, OverfitConfig(), soft) for _ in range(3)]
    phase.restore(state)
    torch.manual_seed(5)
    again = [phase.step(fit.latent_lr, fit.lr, 1e-3, OverfitConfig(), soft) for _ in range(3)]
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(after, again, strict=True))
