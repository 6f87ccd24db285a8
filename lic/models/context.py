"""Space-channel context model (ELIC's SCCTX): uneven channel slices, checkerboard inside each.

Slice ``k`` of the latent ``y`` is coded in two passes: *anchors* (``(h + w) % 2 == 0``)
with the hyperprior and the slices before it as context, then *non-anchors* with
the anchors of the same slice as extra spatial context. Encoder and decoder run the
same schedule (:meth:`ChannelCheckerboardContext._schedule`) on the same networks:
their fixed-point form (:mod:`lic.models.fixed_point`) when the context is made of
convolutions and ReLUs only, so the parameters are identical on every machine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Protocol

import torch
from torch import Tensor, nn

from lic.entropy.priors import GaussianPrior
from lic.entropy.range_coder import RangeDecoder, RangeEncoder
from lic.models.blocks import ChannelReweighting, ContextPositionalEmbedding, GlobalHyperContext, SliceAttention
from lic.models.fixed_point import FixedPointNetwork
from lic.models.standard_layers import CheckerboardMaskedConv2d


def anchor_mask(height: int, width: int, device: torch.device) -> Tensor:
    """Boolean ``[1, 1, H, W]`` map of anchor positions, ``(h + w)`` even."""
    h = torch.arange(height, device=device).reshape(-1, 1)
    w = torch.arange(width, device=device).reshape(1, -1)
    return ((h + w) % 2 == 0).reshape(1, 1, height, width)


def round_ste(x: Tensor) -> Tensor:
    """Rounding with a straight-through gradient."""
    return x + (torch.round(x) - x).detach()


class ParameterRefiner(Protocol):
    """Adjusts slice ``k``'s predicted parameters (e.g. from a reference frame); see :mod:`lic.models.inter`."""

    def __call__(self, k: int, scales: Tensor, means: Tensor, positions: Tensor) -> tuple[Tensor, Tensor]:
        """Refined ``(scales, means)``; in coding both are flat over ``positions`` (channel-major),
        in training they are full ``[B, g, H, W]`` maps and ``positions`` is ``None``."""


class SliceParameters(NamedTuple):
    """Entropy parameters of the positions one checkerboard pass codes, flat, channel-major."""

    scales: Tensor
    means: Tensor
    indexes: Tensor | None = None
    """Gaussian table of each scale when the networks chose it already (the Triton kernels
    fuse it into their last layer); ``None``: the prior chooses from ``scales``."""


class ContextNetworks(Protocol):
    """The three predictions the coding schedule needs for slice ``k``."""

    def channel(self, k: int, decoded: list[Tensor], hyper: Tensor) -> Tensor | None:
        """Context from the slices decoded before ``k`` (``None`` for a first slice without one)."""

    def spatial(self, k: int, anchors: Tensor) -> Tensor:
        """Checkerboard context from the decoded anchors of slice ``k``."""

    def params(self, k: int, hyper: Tensor, channel: Tensor | None, spatial: Tensor,
               positions: Tensor) -> SliceParameters:
        """The parameters of slice ``k`` at the ``[1, 1, H, W]`` boolean ``positions``, flat,
        channel-major (the order of ``tensor[positions.expand(...)]``)."""


class FixedPointContextNetworks:
    """The context's convolution stacks in exact fixed point (see :mod:`lic.models.fixed_point`)."""

    def __init__(self, context: ChannelCheckerboardContext) -> None:
        self.gaussian = context.gaussian
        self.channel_nets = [FixedPointNetwork(m) for m in context.channel_context]
        self.spatial_nets = [FixedPointNetwork(m) for m in context.spatial_context]
        self.param_nets = [FixedPointNetwork(m) for m in context.param_aggregation]

    def channel(self, k: int, decoded: list[Tensor], hyper: Tensor) -> Tensor | None:
        return self.channel_nets[k - 1](torch.cat(decoded, dim=1)) if k > 0 else None

    def spatial(self, k: int, anchors: Tensor) -> Tensor:
        return self.spatial_nets[k](anchors)

    def params(self, k: int, hyper: Tensor, channel: Tensor | None, spatial: Tensor,
               positions: Tensor) -> SliceParameters:
        # The aggregation is 1x1 convolutions: run it on the selected positions only (half the work).
        parts = [spatial] + ([channel] if channel is not None else []) + [hyper]
        features = torch.cat(parts, dim=1)[0][:, positions[0, 0]]
        g = spatial.shape[1] // 2
        out, indexes = self.param_nets[k].apply_to_rows_with_tables(
            features.t(), self.gaussian.table_bounds(features.device), g)
        scales, means = out.t().chunk(2, dim=0)
        return SliceParameters(scales.reshape(-1), means.reshape(-1),
                               None if indexes is None else indexes.reshape(-1))


class ChannelCheckerboardContext(nn.Module):
    """Predicts the Gaussian parameters of ``y`` slice by slice and codes it.

    Args:
        groups: channels of each slice (uneven, small first, as in ELIC).
        hyper_channels: channels of the hyper-decoder output it is conditioned on.
        hidden: width of the channel-context networks.
        reweighting: gate the inputs of each parameter network with ECA-style channel
            reweighting (MLICv2).
        slice_attention: add windowed attention over the decoded slices to the channel
            context of every slice after the first (S2LIC's inter-slice context).
        global_first_slice: give the first slice a context from the hyperprior's global
            statistics (MLICv2).
        positional: add a positional embedding of each latent position to the hyper
            features every context network reads (MLICv2).
    """

    def __init__(self, groups: tuple[int, ...], hyper_channels: int, hidden: int, reweighting: bool = False,
                 slice_attention: bool = False, global_first_slice: bool = False, positional: bool = False) -> None:
        super().__init__()
        self.groups = tuple(groups)
        self.position = ContextPositionalEmbedding(hyper_channels) if positional else None
        self.slice_attention = nn.ModuleList(
            SliceAttention(sum(self.groups[:k]), 2 * g, hidden) for k, g in enumerate(self.groups) if k > 0
        ) if slice_attention else None
        self.global_context = GlobalHyperContext(hyper_channels, 2 * self.groups[0]) if global_first_slice else None
        self.channel_context = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(sum(self.groups[:k]), hidden, 5, padding=2),
                nn.ReLU(inplace=True),
                nn.Conv2d(hidden, 2 * g, 5, padding=2),
            )
            for k, g in enumerate(self.groups)
            if k > 0
        )
        self.spatial_context = nn.ModuleList(
            CheckerboardMaskedConv2d(g, 2 * g, kernel_size=5, padding=2) for g in self.groups
        )
        self.param_aggregation = nn.ModuleList()
        for k, g in enumerate(self.groups):
            inputs = 2 * g + (2 * g if k > 0 or global_first_slice else 0) + hyper_channels
            mid = (inputs + 2 * g) // 2
            self.param_aggregation.append(
                nn.Sequential(
                    *([ChannelReweighting(inputs)] if reweighting else []),
                    nn.Conv2d(inputs, mid, 1),
                    nn.ReLU(inplace=True),
                    nn.Conv2d(mid, mid, 1),
                    nn.ReLU(inplace=True),
                    nn.Conv2d(mid, 2 * g, 1),
                )
            )
        self.gaussian = GaussianPrior()

    @property
    def fixed_point(self) -> bool:
        """Whether coding uses exact fixed-point parameters (convolutions and ReLUs only)."""
        return self.slice_attention is None and self.global_context is None and self.position is None and not any(
            isinstance(m, ChannelReweighting) for m in self.param_aggregation.modules()
        )

    def coding_networks(self) -> ContextNetworks:
        """The networks coding runs: fixed point when :attr:`fixed_point`, else the float modules."""
        return FixedPointContextNetworks(self) if self.fixed_point else _FloatContextNetworks(self)

    def _channel_ctx(self, k: int, decoded: list[Tensor], hyper: Tensor) -> Tensor | None:
        if k == 0:
            return self.global_context(hyper) if self.global_context is not None else None
        previous = torch.cat(decoded, dim=1)
        context = self.channel_context[k - 1](previous)
        if self.slice_attention is not None:
            context = context + self.slice_attention[k - 1](previous)
        return context

    def _params(self, k: int, hyper: Tensor, channel: Tensor | None, spatial: Tensor) -> tuple[Tensor, Tensor]:
        parts = [spatial] + ([channel] if channel is not None else []) + [hyper]
        scales, means = self.param_aggregation[k](torch.cat(parts, dim=1)).chunk(2, dim=1)
        return scales, means

    def forward(self, y: Tensor, hyper: Tensor, refine: ParameterRefiner | None = None) -> tuple[Tensor, Tensor]:
        """Training pass: returns ``(y_hat, likelihoods)``; ``refine`` adjusts every slice's parameters.

        Likelihoods use additive uniform noise; ``y_hat`` (fed to the contexts and
        the synthesis transform) uses straight-through rounding around the means.
        The context model always runs in float32, also inside a bf16 autocast region,
        so its rounding matches the float32 coding path.
        """
        with torch.autocast(y.device.type, enabled=False):
            y_hat, likelihoods, _ = self._forward(y.float(), hyper.float(), refine, relaxed=False)
            return y_hat, likelihoods

    def forward_relaxed(self, y: Tensor, hyper: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Coding-mode pass for latent refinement: ``(y_hat, likelihoods, relaxed_likelihoods)``.

        ``likelihoods`` are those of the rounded ``y_hat`` (what coding costs);
        ``relaxed_likelihoods`` those of ``y`` itself, whose rate grows smoothly as a
        latent leaves its mean (the rounded rate is flat there, so steps on it drift).
        """
        with torch.autocast(y.device.type, enabled=False):
            y_hat, likelihoods, relaxed = self._forward(y.float(), hyper.float(), None, relaxed=True)
            assert relaxed is not None
            return y_hat, likelihoods, relaxed

    def _with_position(self, hyper: Tensor) -> Tensor:
        return self.position(hyper) if self.position is not None else hyper

    def _forward(self, y: Tensor, hyper: Tensor, refine: ParameterRefiner | None,
                 relaxed: bool) -> tuple[Tensor, Tensor, Tensor | None]:
        hyper = self._with_position(hyper)
        anchors = anchor_mask(y.shape[2], y.shape[3], y.device)
        decoded: list[Tensor] = []
        likelihoods: list[Tensor] = []
        relaxed_likelihoods: list[Tensor] = []
        for k, y_k in enumerate(y.split(self.groups, dim=1)):
            channel = self._channel_ctx(k, decoded, hyper)
            zeros = y_k.new_zeros(y_k.shape[0], 2 * y_k.shape[1], *y_k.shape[2:])
            scales_a, means_a = self._params(k, hyper, channel, zeros)
            if refine is not None:
                scales_a, means_a = refine(k, scales_a, means_a, None)
            y_anchor = torch.where(anchors, round_ste(y_k - means_a) + means_a, torch.zeros_like(y_k))
            scales_n, means_n = self._params(k, hyper, channel, self.spatial_context[k](y_anchor))
            if refine is not None:
                scales_n, means_n = refine(k, scales_n, means_n, None)
            scales = torch.where(anchors, scales_a, scales_n)
            means = torch.where(anchors, means_a, means_n)
            y_hat_k = round_ste(y_k - means) + means
            rate_proxy = y_k + torch.empty_like(y_k).uniform_(-0.5, 0.5) if self.training else y_hat_k
            likelihoods.append(self.gaussian.likelihood(rate_proxy, scales, means))
            if relaxed:
                relaxed_likelihoods.append(self.gaussian.likelihood(y_k, scales, means))
            decoded.append(y_hat_k)
        return (torch.cat(decoded, dim=1), torch.cat(likelihoods, dim=1),
                torch.cat(relaxed_likelihoods, dim=1) if relaxed else None)

    def encode(self, y: Tensor, hyper: Tensor, encoder: RangeEncoder, refine: ParameterRefiner | None = None) -> Tensor:
        """Queues the symbols of ``y`` (batch of one) in decoding order; returns ``y_hat``."""
        slices = y.split(self.groups, dim=1)

        def code(k: int, params: SliceParameters, sel: Tensor) -> Tensor:
            return self.gaussian.encode(slices[k][sel], params.scales, params.means, encoder, params.indexes)

        return self._schedule(hyper, code, refine)

    def decode(self, decoder: RangeDecoder, hyper: Tensor, refine: ParameterRefiner | None = None) -> Tensor:
        """Decodes ``y_hat`` (batch of one) on the grid of ``hyper``."""

        def code(k: int, params: SliceParameters, sel: Tensor) -> Tensor:
            return self.gaussian.decode(decoder, params.scales, params.means, params.indexes)

        return self._schedule(hyper, code, refine)

    def _schedule(self, hyper: Tensor, code: Callable[[int, SliceParameters, Tensor], Tensor],
                  refine: ParameterRefiner | None = None) -> Tensor:
        """The slice/checkerboard schedule shared by encoder and decoder.

        ``hyper`` comes from the hyper-synthesis in the matching arithmetic (float64
        fixed-point values when :attr:`fixed_point`). ``code(k, params, selector)``
        codes slice ``k`` at the positions ``selector`` picks (``params`` holds those
        positions' values, flat) and returns their ``y_hat``. Returns ``y_hat`` in float32.
        """
        nets = self.coding_networks()
        hyper = self._with_position(hyper)
        height, width = hyper.shape[2], hyper.shape[3]
        anchors = anchor_mask(height, width, hyper.device)
        decoded: list[Tensor] = []
        for k, g in enumerate(self.groups):
            channel = nets.channel(k, decoded, hyper)
            shape = (1, g, height, width)
            sel_a = anchors.expand(shape)
            sel_n = ~sel_a
            zeros = hyper.new_zeros(1, 2 * g, height, width)
            params = nets.params(k, hyper, channel, zeros, anchors)
            if refine is not None:  # new scales: the prior chooses their tables
                params = SliceParameters(*refine(k, params.scales, params.means, anchors))
            y_k = hyper.new_zeros(shape)
            y_k[sel_a] = code(k, params, sel_a).to(y_k.dtype)
            params = nets.params(k, hyper, channel, nets.spatial(k, y_k), ~anchors)
            if refine is not None:
                params = SliceParameters(*refine(k, params.scales, params.means, ~anchors))
            y_k[sel_n] = code(k, params, sel_n).to(y_k.dtype)
            decoded.append(y_k)
        return torch.cat(decoded, dim=1).float()

    def update_tables(self) -> None:
        """Recomputes the Gaussian CDF tables."""
        self.gaussian.update_tables()


class _FloatContextNetworks:
    """The context's float modules, for variants with layers that have no fixed-point form."""

    def __init__(self, context: ChannelCheckerboardContext) -> None:
        self.context = context

    def channel(self, k: int, decoded: list[Tensor], hyper: Tensor) -> Tensor | None:
        return self.context._channel_ctx(k, decoded, hyper)

    def spatial(self, k: int, anchors: Tensor) -> Tensor:
        return self.context.spatial_context[k](anchors)

    def params(self, k: int, hyper: Tensor, channel: Tensor | None, spatial: Tensor,
               positions: Tensor) -> SliceParameters:
        scales, means = self.context._params(k, hyper, channel, spatial)
        selector = positions.expand_as(scales)
        return SliceParameters(scales[selector], means[selector])
