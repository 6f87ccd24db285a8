"""Inter (P) frames: the intra entropy model, refined by the previous frame's decoded latent.

A P-frame goes through the intra model's analysis and synthesis transforms unchanged and is
coded with the intra model's own hyperprior, channel and checkerboard context, in the same
symbol order; :class:`TemporalRefiner` then corrects every slice's predicted means and scales
with what the previous decoded latent ``y_hat_{t-1}`` shows at and around each position
(DCVC-style conditional coding in the latent domain; motion is implicit: the temporal
network's 5x5 and 3x3 convolutions on the 1/16-resolution reference see +-3 latents, 48
pixels). The correction's last layer starts at zero, so an untrained refiner codes exactly
like an intra frame, and training can only move the probabilities towards the reference.
Quality does not drift along a GOP: every frame is quantized from its own analysis; only the
probabilities depend on the reference.

All networks between decoded symbols and table choices run in exact fixed point
(:mod:`lic.models.fixed_point`), like the intra context model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from lic.entropy.range_coder import RangeDecoder, RangeEncoder
from lic.models.elic import ElicConfig, ElicModel
from lic.models.fixed_point import FixedPointNetwork


@dataclass(frozen=True)
class InterConfig:
    """Hyper-parameters of :class:`TemporalRefiner`."""

    hidden: int = 64


class TemporalRefiner(nn.Module):
    """Per slice: features of the reference latent, and a pointwise correction of the parameters.

    For slice ``k`` (``g`` channels): ``F_k = T_k(reference_k)`` (5x5 then 3x3 convolutions
    with ReLUs, over the whole grid), then ``(d_scale, d_mean) = C_k([scales, means, F_k])``
    (1x1 convolutions) at every coded position, added to the intra prediction.
    """

    def __init__(self, groups: tuple[int, ...], config: InterConfig) -> None:
        super().__init__()
        self.groups = tuple(groups)
        h = config.hidden
        self.temporal = nn.ModuleList(
            nn.Sequential(nn.Conv2d(g, h, 5, padding=2), nn.ReLU(inplace=True), nn.Conv2d(h, h, 3, padding=1),
                          nn.ReLU(inplace=True))
            for g in self.groups
        )
        self.correction = nn.ModuleList(
            nn.Sequential(nn.Conv2d(2 * g + h, h, 1), nn.ReLU(inplace=True), nn.Conv2d(h, 2 * g, 1))
            for g in self.groups
        )
        with torch.no_grad():
            for net in self.correction:
                net[-1].weight.zero_()
                net[-1].bias.zero_()

    def for_training(self, reference: Tensor):  # noqa: ANN201
        """The refiner the intra context calls in training (full parameter maps, float)."""
        features = [net(r) for net, r in zip(self.temporal, reference.split(self.groups, dim=1))]

        def refine(k: int, scales: Tensor, means: Tensor, positions: None) -> tuple[Tensor, Tensor]:
            delta_scales, delta_means = self.correction[k](torch.cat([scales, means, features[k]], dim=1)).chunk(2, 1)
            return scales + delta_scales, means + delta_means

        return refine

    def for_coding(self, reference: Tensor):  # noqa: ANN201
        """The refiner the coding schedule calls (flat parameters at the coded positions, fixed point)."""
        features = [FixedPointNetwork(net)(r) for net, r in zip(self.temporal, reference.split(self.groups, dim=1))]
        corrections = [FixedPointNetwork(net) for net in self.correction]

        def refine(k: int, scales: Tensor, means: Tensor, positions: Tensor) -> tuple[Tensor, Tensor]:
            g = self.groups[k]
            rows = torch.cat([scales.reshape(g, -1).t(), means.reshape(g, -1).t(),
                              features[k][0][:, positions[0, 0]].t()], dim=1)
            delta = corrections[k].apply_to_rows(rows).t()
            return scales + delta[:g].reshape(-1), means + delta[g:].reshape(-1)

        return refine


class ConditionalLatentCodec(nn.Module):
    """Codes a latent ``y`` with an intra model's entropy model refined by a reference latent."""

    def __init__(self, intra: ElicModel, config: InterConfig) -> None:
        super().__init__()
        self.refiner = TemporalRefiner(intra.config.groups, config)
        self._intra = [intra]  # not a submodule: its weights belong to the intra model's file

    @property
    def intra(self) -> ElicModel:
        """The intra model whose entropy model this codec refines."""
        return self._intra[0]

    def forward(self, y: Tensor, reference: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """Training pass: ``(y_hat, likelihoods)`` (noise as the rate proxy while training)."""
        hyper, z_likelihoods = self.intra.hyper(y)
        y_hat, y_likelihoods = self.intra.context(y, hyper, self.refiner.for_training(reference))
        return y_hat, {"y": y_likelihoods, "z": z_likelihoods}

    def encode(self, y: Tensor, reference: Tensor, encoder: RangeEncoder) -> Tensor:
        """Queues ``z`` and ``y`` in the intra symbol order; returns ``y_hat`` (float32)."""
        hyper = self.intra.hyper.encode(y, encoder, fixed_point=True)
        return self.intra.context.encode(y, hyper, encoder, self.refiner.for_coding(reference))

    def decode(self, decoder: RangeDecoder, reference: Tensor, z_size: tuple[int, int]) -> Tensor:
        """Decodes ``y_hat`` (float32) on the grid of ``reference``."""
        hyper = self.intra.hyper.decode(decoder, z_size, reference.device, fixed_point=True)
        return self.intra.context.decode(decoder, hyper, self.refiner.for_coding(reference))

    def aux_loss(self) -> Tensor:
        """No factorized prior of its own: zero."""
        return torch.zeros(())

    def update_tables(self) -> None:
        """No tables of its own (it uses the intra model's)."""


@dataclass(frozen=True)
class ElicVideoConfig:
    """A video model: a registered intra model plus a conditional codec for P-frames."""

    intra_model: str = "elic-s"
    intra: ElicConfig = field(default_factory=ElicConfig)
    inter: InterConfig = field(default_factory=InterConfig)


class ElicVideoModel(nn.Module):
    """Intra frames through ``intra`` (an :class:`ElicModel`), P-frames through ``inter``.

    Its weights file stores only ``inter`` and names the intra model's weights by digest
    (:attr:`base_model`), so the intra weights are not shipped twice.
    """

    def __init__(self, config: ElicVideoConfig) -> None:
        super().__init__()
        self.config = config
        self.intra = ElicModel(config.intra)
        self.inter = ConditionalLatentCodec(self.intra, config.inter)

    @property
    def base_model(self) -> str:
        """The registered intra model whose weights this model builds on."""
        return self.config.intra_model

    @property
    def stored_module(self) -> nn.Module:
        """The part of the model its own weights file holds."""
        return self.inter

    @property
    def rate_levels(self) -> int:
        """Quality levels (those of the intra model)."""
        return self.intra.rate_levels

    @property
    def fixed_point(self) -> bool:
        """Whether entropy parameters are exact fixed point (the P-frame codec always is)."""
        return self.intra.fixed_point

    def forward(self, x: Tensor, quality: float) -> dict[str, Tensor | dict[str, Tensor]]:
        """One P-frame pass on ``x``, referring to its own latent (a still scene): what a P-frame
        costs to code (``lic models`` counts it)."""
        y = self.intra.analyze(x, quality)
        y_hat, likelihoods = self.inter(y, y)
        return {"x_hat": self.intra.synthesize(y_hat, quality), "likelihoods": likelihoods}

    def update_tables(self) -> None:
        """Rebuilds the integer CDF tables of the stored part."""
        self.inter.update_tables()
