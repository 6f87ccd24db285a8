"""ELIC-style learned image codec (He et al., CVPR 2022), sized for small compute.

Stages, one object each:

* ``g_a`` / ``g_s``: analysis and synthesis transforms (stride-2 convolutions,
  residual bottleneck blocks, CompressAI's attention blocks), 16x down-sampling;
* ``gain`` / ``inverse_gain``: per-channel gain units that make one set of weights
  variable-rate through a continuous quality parameter;
* ``hyper``: hyper-analysis/synthesis with a factorized prior on ``z`` (4x more);
* ``context``: the space-channel context model coding ``y`` slice by slice.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from lic.entropy.priors import FactorizedPrior
from lic.entropy.range_coder import RangeDecoder, RangeEncoder
from lic.models.blocks import RegionAdaptiveTransform, SwinV2Stage, TokenMixerBlock
from lic.models.context import ChannelCheckerboardContext
from lic.models.fixed_point import FixedPointNetwork
from lic.models.layers import GainUnit, ResidualBottleneck
from lic.models.standard_layers import AttentionBlock, conv, deconv


@dataclass(frozen=True)
class ElicConfig:
    """Hyper-parameters of :class:`ElicModel`.

    Attributes:
        N: channels of the transforms.
        M: channels of the latent ``y``.
        Z: channels of the hyper-latent ``z``.
        groups: uneven channel slices of ``y`` (sum to ``M``).
        blocks: residual bottleneck blocks per transform stage.
        context_hidden: width of the channel-context networks.
        rate_levels: number of trained quality levels of the gain units.
        transform: block type of the analysis/synthesis stages: ``bottleneck`` (ELIC's
            residual bottlenecks), ``swinv2`` (S2LIC's residual SwinV2 stages) or
            ``tokenmix`` (MLICv2's MetaFormer token-mixing blocks).
        window / heads: window side and attention heads of ``swinv2`` stages.
        context_reweighting: ECA-style channel reweighting (MLICv2) in the context model.
        slice_attention: windowed inter-slice attention in the channel context (S2LIC).
        global_first_slice: hyperprior-guided global context for the first slice (MLICv2).
        context_positions: positional embedding of the latent positions in the context
            model (MLICv2).
        region_adaptive: a region-adaptive transform (SegPIC) after every transform stage,
            with ``regions`` soft regions; segmentation masks supervise it in training only.
    """

    N: int = 96
    M: int = 192
    Z: int = 96
    groups: tuple[int, ...] = (16, 16, 32, 64, 64)
    blocks: int = 1
    context_hidden: int = 96
    rate_levels: int = 8
    transform: str = "bottleneck"
    window: int = 8
    heads: int = 4
    context_reweighting: bool = False
    slice_attention: bool = False
    global_first_slice: bool = False
    context_positions: bool = False
    region_adaptive: bool = False
    regions: int = 8

    def __post_init__(self) -> None:
        if sum(self.groups) != self.M:
            raise ValueError(f"groups {self.groups} must sum to M={self.M}")
        if self.transform not in TRANSFORM_BLOCKS:
            raise ValueError(f"transform must be one of {sorted(TRANSFORM_BLOCKS)}, not {self.transform!r}")


TRANSFORM_BLOCKS = {
    "bottleneck": lambda channels, config: ResidualBottleneck(channels),
    "swinv2": lambda channels, config: SwinV2Stage(channels, config.heads, config.window),
    "tokenmix": lambda channels, config: TokenMixerBlock(channels),
}


def _stage(channels: int, config: ElicConfig) -> list[nn.Module]:
    blocks = [TRANSFORM_BLOCKS[config.transform](channels, config) for _ in range(config.blocks)]
    if config.region_adaptive:
        blocks.append(RegionAdaptiveTransform(channels, config.regions))
    return blocks


class HyperPrior(nn.Module):
    """Hyper-analysis ``h_a``, factorized prior on ``z``, hyper-synthesis ``h_s``."""

    def __init__(self, M: int, N: int, Z: int) -> None:
        super().__init__()
        self.h_a = nn.Sequential(
            conv(M, N, kernel_size=3, stride=1),
            nn.ReLU(inplace=True),
            conv(N, N, kernel_size=5, stride=2),
            nn.ReLU(inplace=True),
            conv(N, Z, kernel_size=5, stride=2),
        )
        self.h_s = nn.Sequential(
            deconv(Z, N, kernel_size=5, stride=2),
            nn.ReLU(inplace=True),
            deconv(N, N * 3 // 2, kernel_size=5, stride=2),
            nn.ReLU(inplace=True),
            conv(N * 3 // 2, 2 * N, kernel_size=3, stride=1),
        )
        self.prior = FactorizedPrior(Z)
        self.out_channels = 2 * N

    def forward(self, y: Tensor) -> tuple[Tensor, Tensor]:
        """Training pass: ``(hyper features, z likelihoods)``."""
        z_hat, likelihoods = self.prior(self.h_a(y))
        return self.h_s(z_hat), likelihoods

    def encode(self, y: Tensor, encoder: RangeEncoder, fixed_point: bool) -> Tensor:
        """Queues ``z``; returns the hyper features (fixed-point ones if ``fixed_point``)."""
        return self._features(self.prior.encode(self.h_a(y), encoder), fixed_point)

    def decode(self, decoder: RangeDecoder, z_size: tuple[int, int], device: torch.device,
               fixed_point: bool) -> Tensor:
        """Decodes ``z`` of the given grid size; returns the hyper features."""
        shape = torch.Size((1, self.prior.model.channels, *z_size))
        return self._features(self.prior.decode(decoder, shape, device), fixed_point)

    def _features(self, z_hat: Tensor, fixed_point: bool) -> Tensor:
        return FixedPointNetwork(self.h_s)(z_hat) if fixed_point else self.h_s(z_hat)


class ElicModel(nn.Module):
    """The first lic architecture: hyperprior + channel slices + checkerboard context."""

    downsampling = 64
    latent_stride = 16

    def __init__(self, config: ElicConfig) -> None:
        super().__init__()
        self.config = config
        N, M, b = config.N, config.M, config
        self.g_a = nn.Sequential(
            conv(3, N), *_stage(N, b),
            conv(N, N), *_stage(N, b), AttentionBlock(N),
            conv(N, N), *_stage(N, b),
            conv(N, M), AttentionBlock(M),
        )  # fmt: skip
        self.g_s = nn.Sequential(
            AttentionBlock(M), deconv(M, N), *_stage(N, b),
            deconv(N, N), AttentionBlock(N), *_stage(N, b),
            deconv(N, N), *_stage(N, b),
            deconv(N, 3),
        )  # fmt: skip
        self.gain = GainUnit(config.rate_levels, M)
        self.inverse_gain = GainUnit(config.rate_levels, M)
        self.hyper = HyperPrior(M, N, config.Z)
        self.context = ChannelCheckerboardContext(config.groups, self.hyper.out_channels, config.context_hidden,
                                                  config.context_reweighting, config.slice_attention,
                                                  config.global_first_slice, config.context_positions)

    @property
    def rate_levels(self) -> int:
        """Qualities run continuously over ``[0, rate_levels - 1]``."""
        return self.config.rate_levels

    def forward(self, x: Tensor, quality: float) -> dict[str, Tensor | dict[str, Tensor]]:
        """Training pass on ``x`` in ``[0, 1]`` (sides multiples of 64)."""
        return self.forward_latent(self.analyze(x, quality), quality)

    def analyze(self, x: Tensor, quality: float) -> Tensor:
        """The latent ``y`` of ``x`` at ``quality`` (gain applied), before quantization."""
        return self.g_a(x) * self.gain.gain(quality)

    def forward_latent(self, y: Tensor, quality: float,
                       relaxed: bool = False) -> dict[str, Tensor | dict[str, Tensor]]:
        """Reconstruction and likelihoods from a latent ``y``: the differentiable model of
        coding ``y``, used in training and by encode-time latent refinement.

        ``relaxed`` (coding mode only) adds ``relaxed_likelihoods``: those of ``y``
        itself rather than of its rounding (:meth:`ChannelCheckerboardContext.forward_relaxed`).
        """
        hyper, z_likelihoods = self.hyper(y)
        out: dict[str, Tensor | dict[str, Tensor]] = {}
        if relaxed:
            y_hat, y_likelihoods, y_relaxed = self.context.forward_relaxed(y, hyper)
            out["relaxed_likelihoods"] = {"y": y_relaxed, "z": z_likelihoods}
        else:
            y_hat, y_likelihoods = self.context(y, hyper)
        out["x_hat"] = self.g_s(y_hat * self.inverse_gain.gain(quality))
        out["likelihoods"] = {"y": y_likelihoods, "z": z_likelihoods}
        return out

    def initialize_gains(self, lambdas: list[float]) -> None:
        """Spreads the gain units over the rate range before training.

        The quantization step that suits a trade-off ``lambda`` scales about as
        ``lambda ** -0.5``, so level ``l`` starts at gain ``sqrt(lambda_l / lambda_ref)``
        (``lambda_ref`` the geometric mean), and the inverse gain at its reciprocal.
        """
        log_lambdas = torch.log(torch.tensor(lambdas, dtype=torch.float32))
        log_gain = 0.5 * (log_lambdas - log_lambdas.mean())
        with torch.no_grad():
            self.gain.log_gain.copy_(log_gain[:, None].expand_as(self.gain.log_gain))
            self.inverse_gain.log_gain.copy_(-log_gain[:, None].expand_as(self.inverse_gain.log_gain))

    def aux_loss(self) -> Tensor:
        """Quantile loss of the factorized prior (keeps its CDF tables tight)."""
        return self.hyper.prior.aux_loss()

    def update_tables(self) -> None:
        """Rebuilds every integer CDF table from the current weights."""
        self.hyper.prior.update_tables()
        self.context.update_tables()

    def encode(self, x: Tensor, quality: float, encoder: RangeEncoder) -> Tensor:
        """Queues all symbols of ``x`` (``[1, 3, H, W]``, sides multiples of 64); returns ``y_hat``."""
        return self.encode_latent(self.analyze(x, quality), encoder)

    def encode_latent(self, y: Tensor, encoder: RangeEncoder) -> Tensor:
        """Queues all symbols of a latent ``y`` (from :meth:`analyze`, possibly refined); returns ``y_hat``."""
        return self.context.encode(y, self.hyper.encode(y, encoder, self.fixed_point), encoder)

    def decode(self, decoder: RangeDecoder, quality: float, z_size: tuple[int, int], device: torch.device) -> Tensor:
        """Decodes ``y_hat`` for a ``z`` grid of ``z_size`` (image size / 64, rounded up)."""
        hyper = self.hyper.decode(decoder, z_size, device, self.fixed_point)
        return self.context.decode(decoder, hyper)

    @property
    def fixed_point(self) -> bool:
        """Whether entropy parameters are computed in exact fixed point (same on every machine)."""
        return self.context.fixed_point

    def synthesize(self, y_hat: Tensor, quality: float) -> Tensor:
        """Reconstruction in ``[0, 1]`` (unclamped) from ``y_hat``."""
        return self.g_s(y_hat * self.inverse_gain.gain(quality))
