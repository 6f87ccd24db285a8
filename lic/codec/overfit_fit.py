"""Fitting an overfitted image model (``lic encode --mode overfit``) to one image.

The encoder minimises ``MSE + lambda * bits/pixel`` over the latent grids and the three
networks of :class:`~lic.models.overfit.OverfitNetwork` (the latents with Adam, the networks with
SOAP in every preset; linear warm-up, then cosine decay). Quantization of the latents is
approximated in two phases (C3, Kim et al. 2024; Cool-chic, Ladune et al.):

1. soft rounding ``s_a(y)`` with Gaussian noise ``n``: the rate is measured on ``s_a(y) + n``
   and the synthesis sees ``s_a(s_a(y) + n)``; the temperature ``1/a`` falls linearly from 0.35
   to 0.08 and the noise's standard deviation from 0.22 to 0.15 (:attr:`FitConfig.temperature`,
   :attr:`FitConfig.noise`, Cool-chic 5's values; the former sharpness 1 -> 10 with uniform noise
   started nearly at the identity and fitted worse: docs/overfit-history.md);
2. the last :attr:`FitConfig.hard_fraction` of the steps: hard rounding, the latents frozen and the
   networks at a fifth of their learning rate (:attr:`FitConfig.hard_latent_lr` 0,
   :attr:`FitConfig.hard_lr`), so the networks adapt to the real latents. Latents that move here,
   even at a hundredth of their rate with straight-through gradients, cross rounding borders and
   make this phase raise the RD cost it minimises (docs/overfit.md, "The hard-rounding phase").

A :class:`DivergenceGuard` watches the soft-rounding steps and takes a fit that leaves its basin
back to its best state with smaller steps (:attr:`FitConfig.rollback`). With
:attr:`FitConfig.candidates` > 1 the fit opens with a tournament (Cool-chic's warm-up): that many
fresh starts each take the first :attr:`FitConfig.trial_steps` steps, and the one with the lowest RD
cost on rounded latents goes on.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from lic.codec.job_processes import JobProcesses
from lic.codec.soap import Soap
from lic.models.overfit import (
    OverfitConfig,
    OverfitNetwork,
    OverfitShape,
    default_grids,
    laplace_rate,
    max_feature_grids,
)


@dataclass(frozen=True)
class FitConfig:
    """How the encoder fits an image.

    Attributes:
        steps: optimizer steps at full resolution.
        coarse_steps: optimizer steps at half resolution first (coarse-to-fine; 0: none).
        lr: peak learning rate of the networks.
        latent_lr: peak learning rate of the latents.
        hard_lr: peak learning rate of the networks in the hard-rounding phase.
        hard_latent_lr: peak learning rate of the latents in the hard-rounding phase (straight-through
            gradients; 0: the latents are frozen there).
        temperature: soft-rounding temperature (1 / sharpness) at the first and the last
            soft-rounding step of a phase, interpolated linearly.
        noise: standard deviation of the Gaussian noise at the first and the last soft-rounding
            step of a phase, interpolated linearly.
        warmup: steps of linear warm-up.
        hard_fraction: share of the steps (at the end) with hard-rounded latents.
        shape: network sizes (grids chosen from the image size when 0).
        seed: seed of the initialisation and the noise.
        restarts: independent fits (seeds ``seed``, ``seed + 1``, ...) of which the encoder keeps the
            best coded one (:func:`fit_candidates`).
        soap: the networks are fitted with :class:`~lic.codec.soap.Soap` (betas 0.95, weight decay 0.01, as
            Cool-chic 5) instead of Adam; the latents always with Adam.
        clip: the networks' gradients are scaled down to this global L2 norm before each step (Cool-chic 5
            clips at 0.1; 0: never).
        candidates: fresh starts (networks and noise) of the fit's first phase among which the best after
            ``trial_steps`` goes on (by the RD cost with rounded latents, networks' bits excluded; 1: no
            tournament). Each extra candidate costs ``trial_steps`` steps of that phase.
        trial_steps: steps of the first phase each candidate takes (at most that phase's soft-rounding
            steps).
        rollback: a soft-rounding phase whose loss, averaged over :data:`GUARD_WINDOW` steps, exceeds
            this many times its best such average goes back to the state after that best window with
            its learning rates halved (:class:`DivergenceGuard`; 0: never). A fit that does not
            diverge never triggers it and ends at the same floats.
    """

    steps: int = 1000
    coarse_steps: int = 0
    lr: float = 2e-2
    latent_lr: float = 0.15
    hard_lr: float = 4e-3
    hard_latent_lr: float = 0.0
    temperature: tuple[float, float] = (0.35, 0.08)
    noise: tuple[float, float] = (0.22, 0.15)
    warmup: int = 50
    hard_fraction: float = 0.1
    shape: OverfitShape = field(default_factory=OverfitShape)
    seed: int = 0
    restarts: int = 1
    soap: bool = False
    clip: float = 0.0
    candidates: int = 1
    trial_steps: int = 100
    rollback: float = 2.0

    def sized_for(self, width: int, height: int) -> FitConfig:
        """This fit with no more latent grids than :func:`~lic.models.overfit.default_grids` gives the image (and
        hyperlatents and coarse-grid features that fit them, and the grids of its half-resolution phase)."""
        grids = min(self.shape.grids, default_grids(width, height))
        hyper = max(0, min(self.shape.hyper_grids, grids - 2))  # fewer than the half-resolution phase's grids
        feature_grids = max(0, min(self.shape.coarse_feature_grids, max_feature_grids(grids, hyper)))
        return replace(self, shape=replace(self.shape, grids=grids, hyper_grids=hyper,
                                           coarse_features=self.shape.coarse_features if feature_grids else 0,
                                           coarse_feature_grids=feature_grids))

    def soft_steps(self, steps: int) -> int:
        """How many of a phase's ``steps`` come before its hard-rounding part (:attr:`hard_fraction`)."""
        return int(steps * (1 - self.hard_fraction))


DEFAULT_PRESET = "fast"
"""The preset of ``lic encode --mode overfit`` without ``--preset``, and of the Python API."""
PRESETS: dict[str, FitConfig] = {
    "fast": FitConfig(steps=900, coarse_steps=600, restarts=2, soap=True, clip=0.1),
    "medium": FitConfig(steps=2000, coarse_steps=1200, restarts=2, latent_lr=0.3, soap=True, clip=0.1),
    "slow": FitConfig(steps=6000, coarse_steps=2500, restarts=2, latent_lr=0.3, soap=True, clip=0.1),
}
"""Iteration budgets and recipes of ``--preset`` (measured times per Kodak image and how each recipe was
chosen: docs/overfit.md)."""


@dataclass
class FittedImage:
    """The fitted networks (float) and grids (float, as :meth:`~lic.models.overfit.OverfitShape.levels`: the
    latents finest first, then the hyperlatents) of one image."""

    network: OverfitNetwork
    latents: list[Tensor]


@dataclass(frozen=True)
class FitProgress:
    """One step's figures, for a progress display."""

    step: int
    steps: int
    bpp: float
    psnr: float


def soft_round(y: Tensor, sharpness: float) -> Tensor:
    """Agustsson & Theis's differentiable rounding: identity as ``sharpness -> 0``, rounding as it grows.

    ``floor(y) + 1/2 + tanh(a r) / (2 tanh(a / 2))`` with ``r = y - floor(y) - 1/2``, ``a`` the sharpness; one
    autograd node that keeps only the ``tanh`` (a third less time per fitting step's two soft roundings than
    the same expression through autograd).
    """
    return _SoftRound.apply(y, sharpness)


class _SoftRound(torch.autograd.Function):
    @staticmethod
    def forward(ctx, y: Tensor, sharpness: float) -> Tensor:  # noqa: ANN001
        floor = torch.floor(y)
        t = torch.tanh((y - floor - 0.5) * sharpness)
        scale = 1.0 / (2 * math.tanh(sharpness / 2))
        ctx.save_for_backward(t)
        ctx.slope = sharpness * scale
        return (t * scale).add_(floor).add_(0.5)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # noqa: ANN001
        (t,) = ctx.saved_tensors
        return grad * (1 - t * t) * ctx.slope, None


def hard_round(y: Tensor) -> Tensor:
    """Rounding with straight-through gradients."""
    return y + (torch.round(y) - y).detach()


def rd_terms(network: OverfitNetwork, rate_inputs: list[Tensor], synthesis_inputs: list[Tensor], target: Tensor,
             config: OverfitConfig) -> tuple[Tensor, Tensor]:
    """``(bits per pixel, MSE)`` of quantized latents (rate on ``rate_inputs``, every grid; image from
    ``synthesis_inputs``, the latent grids without the hyperlatents)."""
    values = torch.cat([g.reshape(-1) for g in rate_inputs])
    params = network.arm_outputs(rate_inputs)
    pixels = target.shape[-1] * target.shape[-2]
    bpp = laplace_rate(values, params, config) / pixels
    x = network.synthesize(network.upsampled(synthesis_inputs))
    return bpp, torch.mean((x - target) ** 2)


def fit_image(pixels: np.ndarray, lmbda: float, fit: FitConfig, config: OverfitConfig,
              progress: Callable[[FitProgress], None] | None = None, device: str = "cpu") -> FittedImage:
    """Fits latents and networks of ``fit.shape`` to an ``HxWx3`` uint8 image at rate weight ``lmbda``.

    With ``fit.coarse_steps``, the grids but the finest and the networks are first fitted to the
    image at half resolution (a quarter of the cost per step), then everything at full resolution.
    The fit runs on ``device`` (a CUDA fit takes other float paths than a CPU fit of the same seed,
    so its stream differs, but the decoder reproduces it exactly on any machine); the result is on
    the CPU, where the encoder quantizes and codes it. ``progress`` counts :func:`fit_steps` steps.
    """
    target = image_target(pixels).to(device)
    total = fit_steps(fit)
    phase, first = full_resolution_phase(target, lmbda, fit, config, progress, total)
    fitted = _run_phase(phase, first, lmbda, fit.steps, fit, config, progress, total - fit.steps, total, hard=True)
    return FittedImage(fitted.network.cpu(), [y.cpu() for y in fitted.latents])


def fit_steps(fit: FitConfig) -> int:
    """The steps one fit of ``fit`` takes: both phases' and its tournament's extra candidates'."""
    return fit.steps + fit.coarse_steps + (fit.candidates - 1) * trial_steps(fit)


def trial_steps(fit: FitConfig) -> int:
    """Steps each candidate of the opening tournament takes (0 without one)."""
    if fit.candidates <= 1:
        return 0
    opening_soft_steps = fit.coarse_steps if _opens_at_half_resolution(fit) else fit.soft_steps(fit.steps)
    return max(0, min(fit.trial_steps, opening_soft_steps))


def image_target(pixels: np.ndarray) -> Tensor:
    """An ``HxWx3`` uint8 image as the ``1x3xHxW`` float target of a fit (values 0..1)."""
    return torch.from_numpy(np.array(pixels, dtype=np.uint8)).permute(2, 0, 1)[None].float() / 255.0


def full_resolution_phase(target: Tensor, lmbda: float, fit: FitConfig, config: OverfitConfig,
                          progress: Callable[[FitProgress], None] | None, total: int) -> tuple[_Phase, int]:
    """Seeds torch with ``fit.seed`` and returns the full-resolution phase and the step it is at: the
    half-resolution fit of ``fit.coarse_steps`` (reported as the first steps of ``total``) refined to
    full resolution at step 0, or without one the :func:`_opening` at full resolution."""
    torch.manual_seed(fit.seed)
    if not _opens_at_half_resolution(fit):
        return _opening(target, fit.shape, lmbda, fit.steps, fit.soft_steps(fit.steps), fit,
                        config, progress, total)
    half = _half(target)
    phase, first = _opening(half, _half_resolution_shape(fit.shape), lmbda, fit.coarse_steps, fit.coarse_steps, fit,
                            config, progress, total)
    extra = (fit.candidates - 1) * trial_steps(fit)
    opened = _run_phase(phase, first, lmbda, fit.coarse_steps, fit, config, progress, extra, total, hard=False)
    start = _refine_from(opened, fit.shape, target)
    return _Phase.start(target, start.network, start.latents, fit), 0


def _half_resolution_shape(shape: OverfitShape) -> OverfitShape:
    """The networks of the half-resolution phase: one latent grid fewer (its grid ``i`` is grid ``i + 1`` at full
    resolution), the same hyperlatents, coarse-grid features for one grid fewer."""
    return replace(shape, grids=shape.grids - 1, coarse_feature_grids=max(0, shape.coarse_feature_grids - 1))


def _opens_at_half_resolution(fit: FitConfig) -> bool:
    """Whether a fit of ``fit`` opens at half resolution."""
    return fit.coarse_steps > 0 and fit.shape.grids > 1


def _opening(target: Tensor, shape: OverfitShape, lmbda: float, steps: int, hard_from: int, fit: FitConfig,
             config: OverfitConfig, progress: Callable[[FitProgress], None] | None,
             total: int) -> tuple[_Phase, int]:
    """A fit's first phase (of ``steps``, soft rounding until ``hard_from``) from fresh networks of ``shape``
    and zero grids, and the step it is at: step 0, or the best of ``fit.candidates`` such starts after
    :func:`trial_steps` steps each, by :meth:`_Phase.rounded_cost` (Cool-chic's warm-up tournament)."""
    trial = trial_steps(fit)
    if not trial:
        return _Phase.start(target, OverfitNetwork(shape).to(target.device), None, fit), 0
    best, best_cost = None, math.inf
    for candidate in range(fit.candidates):
        phase = _Phase.start(target, OverfitNetwork(shape).to(target.device), None, fit)
        _soft_steps(phase, lmbda, steps, hard_from, fit, config, progress, candidate * trial, total, stop=trial)
        cost = phase.rounded_cost(lmbda, config)
        if cost < best_cost:
            best, best_cost = phase, cost
    assert best is not None
    return best, trial


def fit_candidates(pixels: np.ndarray, lmbda: float, fit: FitConfig, config: OverfitConfig,
                   progress: Callable[[FitProgress], None] | None = None, workers: int = 1,
                   device: str = "cpu") -> list[FittedImage]:
    """The ``fit.restarts`` fits of one image (seeds ``fit.seed, fit.seed + 1, ...``), each on one thread.

    The first runs in this process and reports ``progress``; with ``workers`` > 1 the others run at the
    same time in up to ``workers - 1`` spawned processes (a fit is a chain of small operations that more
    threads do not speed up, so cores are spent on candidates), else one after another, with ``progress``
    counting all their steps. The processes are killed if this one is stopped (:class:`JobProcesses`).
    On a CUDA ``device`` the fits run one after another in this process, whatever ``workers`` says.
    """
    seeds = [replace(fit, seed=fit.seed + i, restarts=1) for i in range(max(1, fit.restarts))]
    if workers <= 1 or len(seeds) == 1 or torch.device(device).type != "cpu":
        per = fit_steps(fit)
        return [_fit_one_thread(pixels, lmbda, f, config, _offset(progress, i * per, per * len(seeds)), device)
                for i, f in enumerate(seeds)]
    with JobProcesses(_fit_one_thread, [(pixels, lmbda, f, config) for f in seeds[1:]], workers - 1) as others:
        first = _fit_one_thread(pixels, lmbda, seeds[0], config, progress)
        return [first, *others.results()]


def _offset(progress: Callable[[FitProgress], None] | None, done: int,
            total: int) -> Callable[[FitProgress], None] | None:
    """``progress`` for one of several fits run in sequence (steps counted over all of them)."""
    if progress is None:
        return None
    return lambda p: progress(FitProgress(done + p.step, total, p.bpp, p.psnr))


def _fit_one_thread(pixels: np.ndarray, lmbda: float, fit: FitConfig, config: OverfitConfig,
                    progress: Callable[[FitProgress], None] | None = None, device: str = "cpu") -> FittedImage:
    """:func:`fit_image` on one torch thread (the same floats wherever a candidate runs)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return fit_image(pixels, lmbda, fit, config, progress, device)
    finally:
        torch.set_num_threads(threads)


def _half(target: Tensor) -> Tensor:
    """The image at half resolution (2x2 means; an odd last row or column is repeated)."""
    _, _, h, w = target.shape
    padded = F.pad(target, (0, w % 2, 0, h % 2), mode="replicate")
    return F.avg_pool2d(padded, 2)


def _refine_from(half: FittedImage, shape: OverfitShape, target: Tensor) -> FittedImage:
    """A full-resolution start from a half-resolution fit: its grids become grids 1.. (its hyperlatents stay
    hyperlatents, its feature layers those of the next finer grid), a zero grid 0."""
    height, width = target.shape[-2:]
    network = OverfitNetwork(shape).to(target.device)
    with torch.no_grad():
        network.arm.load_state_dict(half.network.arm.state_dict())
        for i, (weight, bias) in enumerate(zip(half.network.feature_weights, half.network.feature_biases)):
            network.feature_weights[i + 1].copy_(weight)
            network.feature_biases[i + 1].copy_(bias)
        for i, kernel in enumerate(half.network.upsampling):
            network.upsampling[i + 1].copy_(kernel)
        network.mix.weight.zero_()
        network.mix.weight[:, 1:].copy_(half.network.mix.weight)
        network.mix.bias.copy_(half.network.mix.bias)
        for mine, theirs in ((network.to_rgb, half.network.to_rgb), *zip(network.refine, half.network.refine)):
            mine.load_state_dict(theirs.state_dict())
    finest = target.new_zeros(height, width)
    return FittedImage(network, [finest, *half.latents])


@dataclass(frozen=True)
class SoftQuantization:
    """How one soft-rounding step quantizes the latents: the rounding's sharpness and the noise's std."""

    sharpness: float
    noise: float

    @classmethod
    def at(cls, progress: float, fit: FitConfig) -> SoftQuantization:
        """The annealed values ``progress`` (0 at the first soft step, towards 1 at the last) into a phase."""
        (t0, t1), (n0, n1) = fit.temperature, fit.noise
        return cls(1.0 / (t0 + (t1 - t0) * progress), n0 + (n1 - n0) * progress)


@dataclass(frozen=True)
class PhaseState:
    """A fit's state at one step: the networks' and the optimizer's state dicts and the latents."""

    network: dict
    latents: list[Tensor]
    optimizer: dict


@dataclass
class _Phase:
    """A fit in progress at one resolution: its target, networks, latents and their optimizer (Adam, or SOAP for
    the networks)."""

    target: Tensor
    network: OverfitNetwork
    latents: list[Tensor]
    optimizer: torch.optim.Optimizer
    clip: float = 0.0

    @classmethod
    def start(cls, target: Tensor, network: OverfitNetwork, latents: list[Tensor] | None, fit: FitConfig) -> _Phase:
        """A phase from ``latents`` (zero grids when None) and ``network``, with a fresh optimizer (Adam, or
        SOAP for the networks with ``fit.soap``) whose steps clip the networks' gradients to ``fit.clip``."""
        height, width = target.shape[-2:]
        if latents is None:
            latents = [target.new_zeros(h, w) for h, w in network.shape.latent_sizes(width, height)]
        latents = [y.clone().requires_grad_(True) for y in latents]
        optimizer: torch.optim.Optimizer
        if fit.soap:
            optimizer = Soap([{"params": latents, "lr": fit.latent_lr, "betas": (0.9, 0.999), "weight_decay": 0.0,
                               "precondition": False}, {"params": network.parameters()}], lr=fit.lr)
        else:
            optimizer = torch.optim.Adam([{"params": latents, "lr": fit.latent_lr},
                                          {"params": network.parameters()}], lr=fit.lr)
        return cls(target, network, latents, optimizer, fit.clip)

    def step(self, latent_lr: float, network_lr: float, lmbda: float, config: OverfitConfig,
             soft: SoftQuantization | None) -> tuple[Tensor, Tensor]:
        """One optimizer step on ``MSE + lambda * bpp``: soft rounding and noise as ``soft`` says, or hard
        rounding (straight-through) when it is None; the networks' gradients clipped to the L2 norm
        :attr:`clip` when it is positive. Returns the step's ``(bpp, MSE)``."""
        self.optimizer.param_groups[0]["lr"] = latent_lr
        self.optimizer.param_groups[1]["lr"] = network_lr
        grids = self.network.shape.grids
        if soft is not None:
            noisy = [soft_round(y, soft.sharpness) + soft.noise * torch.randn_like(y) for y in self.latents]
            synthesis_inputs = [soft_round(y, soft.sharpness) for y in noisy[:grids]]
        else:
            noisy = [hard_round(y) for y in self.latents]
            synthesis_inputs = noisy[:grids]
        bpp, mse = rd_terms(self.network, noisy, synthesis_inputs, self.target, config)
        self.optimizer.zero_grad(set_to_none=True)
        (mse + lmbda * bpp).backward()
        if self.clip > 0:
            torch.nn.utils.clip_grad_norm_(self.network.parameters(), self.clip)
        self.optimizer.step()
        return bpp.detach(), mse.detach()

    def snapshot(self) -> PhaseState:
        """A copy of the latents, the networks and the optimizer's state."""
        return PhaseState(copy.deepcopy(self.network.state_dict()), [y.detach().clone() for y in self.latents],
                          copy.deepcopy(self.optimizer.state_dict()))

    def restore(self, state: PhaseState) -> None:
        """Back to ``state`` (which stays usable: Adam updates the tensors it loads in place, so it gets copies)."""
        self.network.load_state_dict(state.network)
        with torch.no_grad():
            for y, saved in zip(self.latents, state.latents, strict=True):
                y.copy_(saved)
        self.optimizer.load_state_dict(copy.deepcopy(state.optimizer))

    def rounded_cost(self, lmbda: float, config: OverfitConfig) -> float:
        """``MSE + lambda * bpp`` with the latents rounded, without noise or the networks' bits."""
        with torch.no_grad():
            rounded = [torch.round(y) for y in self.latents]
            bpp, mse = rd_terms(self.network, rounded, rounded[: self.network.shape.grids], self.target, config)
        return float(mse + lmbda * bpp)

    def fitted(self) -> FittedImage:
        """The networks (in eval mode) and a detached copy of the latents."""
        return FittedImage(self.network.eval(), [y.detach().clone() for y in self.latents])


GUARD_WINDOW = 25
"""Steps over which :class:`DivergenceGuard` averages the loss."""


class DivergenceGuard:
    """Watches a phase's loss and undoes a divergence (:attr:`FitConfig.rollback`).

    Every :data:`GUARD_WINDOW` steps it compares the window's mean loss with the best window's: a new
    best keeps a copy of the latents, networks and optimizer state; a mean above ``rollback`` times the
    best restores that copy and halves :attr:`factor`, the learning rates' multiplier. High learning
    rates can make a fit leave its basin for good (the loss a million times higher within 200 steps,
    docs/overfit.md "Recipe and budget"); this brings it back at the cost of a copy per window.
    """

    def __init__(self, phase: _Phase, rollback: float) -> None:
        self.phase, self.rollback = phase, rollback
        self.factor = 1.0
        self._sum: Tensor | float = 0.0
        self._steps = 0
        self._best = math.inf
        self._saved: PhaseState | None = None

    def observe(self, loss: Tensor) -> None:
        """Counts one step's loss; at a window's end, keeps or restores the state."""
        if self.rollback <= 0:
            return
        self._sum = self._sum + loss
        self._steps += 1
        if self._steps < GUARD_WINDOW:
            return
        mean = float(self._sum) / self._steps
        self._sum, self._steps = 0.0, 0
        if mean < self._best:
            self._best = mean
            self._saved = self.phase.snapshot()
        elif mean > self.rollback * self._best and self._saved is not None:
            self.phase.restore(self._saved)
            self.factor *= 0.5


def _soft_steps(phase: _Phase, lmbda: float, steps: int, hard_from: int, fit: FitConfig, config: OverfitConfig,
                progress: Callable[[FitProgress], None] | None, done: int, total: int, first: int = 0,
                stop: int | None = None) -> None:
    """Steps ``first .. hard_from - 1`` (or up to ``stop``) of a phase of ``steps``: soft rounding and
    noise, annealed, under a :class:`DivergenceGuard`; step ``i`` is reported as ``done + i + 1``."""
    guard = DivergenceGuard(phase, fit.rollback)
    for step in range(first, hard_from if stop is None else stop):
        decay = _schedule(step, steps, fit, hard_from) * guard.factor
        soft = SoftQuantization.at(step / max(1, hard_from), fit)
        bpp, mse = phase.step(fit.latent_lr * decay, fit.lr * decay, lmbda, config, soft)
        guard.observe(mse + lmbda * bpp)
        _report(progress, done + step + 1, total, bpp, mse)


def _run_phase(phase: _Phase, first: int, lmbda: float, steps: int, fit: FitConfig, config: OverfitConfig,
               progress: Callable[[FitProgress], None] | None, done: int, total: int, hard: bool) -> FittedImage:
    """Steps ``first .. steps - 1`` of a phase (warm-up, cosine decay; the hard-rounding phase at the end if
    ``hard``)."""
    hard_from = fit.soft_steps(steps) if hard else steps
    _soft_steps(phase, lmbda, steps, hard_from, fit, config, progress, done, total, first)
    for step in range(max(first, hard_from), steps):
        decay = _schedule(step, steps, fit, hard_from)
        bpp, mse = phase.step(fit.hard_latent_lr * decay, fit.hard_lr * decay, lmbda, config, None)
        _report(progress, done + step + 1, total, bpp, mse)
    return phase.fitted()


def _report(progress: Callable[[FitProgress], None] | None, step: int, total: int, bpp: Tensor, mse: Tensor) -> None:
    if progress is not None:
        progress(FitProgress(step, total, float(bpp), 10 * math.log10(1 / max(float(mse), 1e-10))))


def _schedule(step: int, steps: int, fit: FitConfig, hard_from: int) -> float:
    """Learning-rate factor: linear warm-up, cosine decay; the hard phase (its own peak rates) decays again."""
    if step < fit.warmup:
        return (step + 1) / fit.warmup
    if step >= hard_from:
        return 0.5 * (1 + math.cos(math.pi * (step - hard_from) / max(1, steps - hard_from)))
    return 0.5 * (1 + math.cos(math.pi * (step - fit.warmup) / max(1, hard_from - fit.warmup)))
