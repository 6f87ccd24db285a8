"""Overfitted image codec (Cool-chic / C3 class, ``lic encode --mode overfit``): the networks.

An image is represented by latent grids at resolutions ``1, 1/2, ... 1/2^(L-1)`` (one
channel each) and three tiny networks fitted to it by the encoder:

* the **ARM** (autoregressive model): an MLP of ``1x1`` layers over :data:`CONTEXT`, the
  16 causal neighbours of a latent in its own grid, predicting the mean and log-scale of
  the latent's discretised Laplace distribution. Optionally (:attr:`OverfitShape.hyper_grids`,
  :attr:`OverfitShape.coarse_features`; Cool-chic 5's hyperlatents and coarse-grid features)
  there are extra one-channel grids at the coarsest resolutions that only the ARM reads, and
  for each latent of the finest grids a linear layer of that grid maps the coarser grids'
  latents at its position (nearest neighbour) to features the ARM reads after the 16
  neighbours; the grids are then coded coarse to fine;
* the **upsampler**: one learned ``8x8`` transposed-convolution kernel per level
  (bicubic-initialised) that doubles a stack of grids, coarse to fine, until every grid
  is a channel at full resolution; a kernel is symmetric (mirror and transpose), so
  10 numbers define it (:func:`symmetric_kernel`);
* the **synthesis**: ``1x1`` conv ``L -> width``, ReLU, ``1x1`` conv ``width -> 3``, then
  two residual ``3x3`` convs on the three colour channels (the second after a ReLU).

:class:`OverfitNetwork` is the float version the encoder fits; :class:`ExactNetwork` is the
same network on quantized weights in the fixed point of ``bitstream-spec.md`` section 3.1,
which the encoder (for its reconstruction) and the decoder both run, so decoding is bit-exact
on any machine and thread count. :class:`OverfitCodec` is the registered model: it holds only
integer CDF tables (a bank of discretised Laplace tables for the latents, Gaussian tables
for the weights), computed once and shipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from lic.entropy import _rans
from lic.entropy.priors import GaussianPrior
from lic.entropy.range_coder import CdfTables
from lic.models.fit_filters import nearest_features, residual_3x3, upsample_stack
from lic.models.fixed_point import ACTIVATION_BITS, WEIGHT_BITS, FixedPointLayer, check_exact
from lic.models.row_mlp import channel_mlp, context_mlp, cpp_kernels_take

CONTEXT: tuple[tuple[int, int], ...] = (
    *((-2, dx) for dx in range(-2, 3)),
    *((-1, dx) for dx in range(-3, 4)),
    *((0, dx) for dx in range(-3, 0)),
    (-3, 0),
)
"""Causal neighbours ``(dy, dx)`` of a latent that the ARM reads, in this order (zero outside the grid)."""
MAX_GRIDS = 8
MAX_HYPER_GRIDS = 4
MAX_COARSE_FEATURES = 8
MAX_WIDTH = 64
MAX_ARM_LAYERS = 4
UPSAMPLING_KERNEL = 8
SYNTHESIS_LAYERS = 4
"""The synthesis's layers: the two ``1x1`` convolutions and the two residual ``3x3`` ones."""
DEFAULT_GRIDS = 7
"""Latent grids of a large image: full resolution down to 1/64."""
ARM_GROUP, UPSAMPLING_GROUP, SYNTHESIS_GROUP = 0, 1, 2
NETWORK_GROUPS = (ARM_GROUP, UPSAMPLING_GROUP, SYNTHESIS_GROUP)
"""The three networks whose tensors share a quantization step choice, in stream order (:func:`tensor_layout`)."""
_BICUBIC_2X = (-0.0234375, -0.0703125, 0.2265625, 0.8671875, 0.8671875, 0.2265625, -0.0703125, -0.0234375)


@dataclass(frozen=True)
class OverfitShape:
    """The size of one image's networks; recorded in the stream.

    Attributes:
        grids: latent grids (full resolution down to ``1/2^(grids-1)``).
        arm_width: hidden width of the ARM.
        arm_layers: hidden layers of the ARM (each ``1x1`` + ReLU; then a ``1x1`` to 2 outputs).
        synthesis_width: channels of the synthesis's hidden ``1x1`` layer.
        symmetric_kernels: each upsampling kernel is :func:`symmetric_kernel` of 10 values (else
            64 free values: streams written before the symmetric form).
        hyper_grids: hyperlatent grids, at the resolutions of the coarsest ``hyper_grids`` latent
            grids; coded by the ARM, never seen by the synthesis (0: none).
        coarse_features: features of the coarser grids the ARM reads for each latent of the
            finest ``coarse_feature_grids`` grids (0: none).
        coarse_feature_grids: how many of the finest grids get those features.
    """

    grids: int = DEFAULT_GRIDS
    arm_width: int = 16
    arm_layers: int = 2
    synthesis_width: int = 40
    symmetric_kernels: bool = True
    hyper_grids: int = 0
    coarse_features: int = 0
    coarse_feature_grids: int = 0

    def validate(self) -> None:
        """Raises ``ValueError`` on shapes no encoder writes (bounds the decoder's allocations)."""
        if not 1 <= self.grids <= MAX_GRIDS:
            raise ValueError(f"latent grid count {self.grids} out of 1..{MAX_GRIDS}")
        if not (1 <= self.arm_width <= MAX_WIDTH and 1 <= self.arm_layers <= MAX_ARM_LAYERS):
            raise ValueError(f"ARM of {self.arm_layers} layers of {self.arm_width} out of range")
        if not 1 <= self.synthesis_width <= MAX_WIDTH:
            raise ValueError(f"synthesis width {self.synthesis_width} out of 1..{MAX_WIDTH}")
        if not 0 <= self.hyper_grids <= min(MAX_HYPER_GRIDS, self.grids - 1):
            raise ValueError(f"{self.hyper_grids} hyperlatent grids for {self.grids} latent grids")
        if not 0 <= self.coarse_features <= MAX_COARSE_FEATURES:
            raise ValueError(f"{self.coarse_features} coarse-grid features out of 0..{MAX_COARSE_FEATURES}")
        if not 0 <= self.coarse_feature_grids <= max_feature_grids(self.grids, self.hyper_grids) or (
                self.coarse_feature_grids and not self.coarse_features):
            raise ValueError(f"coarse-grid features for {self.coarse_feature_grids} grids do not fit the shape")
        if self.coarse_order and not self.symmetric_kernels:
            raise ValueError("hyperlatents and coarse-grid features need the symmetric layout")

    @property
    def coarse_order(self) -> bool:
        """Whether the grids are coded coarse to fine (hyperlatents or coarse-grid features), else finest first."""
        return bool(self.hyper_grids or self.coarse_features)

    def levels(self) -> list[int]:
        """Resolution level (``1/2^level``) of every grid the fit holds: the latents, then the hyperlatents."""
        return list(range(self.grids)) + list(range(self.grids - self.hyper_grids, self.grids))

    def latent_sizes(self, width: int, height: int) -> list[tuple[int, int]]:
        """``(h, w)`` of every grid of :meth:`levels` (latents finest first, then hyperlatents)."""
        sizes = grid_sizes(width, height, self.grids)
        return [sizes[level] for level in self.levels()]

    def coding_order(self) -> list[int]:
        """Indices into :meth:`levels` in the order the stream codes the grids: finest first, or with
        :attr:`coarse_order` the hyperlatents then the latents, each coarsest first."""
        if not self.coarse_order:
            return list(range(self.grids))
        return [self.grids + i for i in reversed(range(self.hyper_grids))] + list(reversed(range(self.grids)))

    def feature_sources(self, grid: int) -> list[int]:
        """Indices into :meth:`levels` of the grids whose latents make latent grid ``grid``'s coarse-grid
        features: the coarser latent grids, then the hyperlatents."""
        return list(range(grid + 1, self.grids)) + list(range(self.grids, self.grids + self.hyper_grids))


def max_feature_grids(grids: int, hyper_grids: int) -> int:
    """The most latent grids that can read coarse-grid features: each needs a coarser source, and every
    hyperlatent grid (the first at level ``grids - hyper_grids``) must be at its level or coarser."""
    return min(grids, grids - hyper_grids + 1) if hyper_grids else grids - 1


def tensor_layout(shape: OverfitShape) -> list[tuple[int, bool]]:
    """``(group, is_bias)`` of every tensor of :meth:`OverfitNetwork.tensors`, in stream order: the ARM's layers
    and the coarse-grid feature layers (weight, bias each; :data:`ARM_GROUP`), the upsampling kernels
    (:data:`UPSAMPLING_GROUP`), the synthesis's layers (weight, bias each; :data:`SYNTHESIS_GROUP`)."""
    pairs = shape.arm_layers + 1 + shape.coarse_feature_grids
    return ([(ARM_GROUP, bias) for _ in range(pairs) for bias in (False, True)]
            + [(UPSAMPLING_GROUP, False)] * (shape.grids - 1)
            + [(SYNTHESIS_GROUP, bias) for _ in range(SYNTHESIS_LAYERS) for bias in (False, True)])


def grid_sizes(width: int, height: int, grids: int) -> list[tuple[int, int]]:
    """``(h, w)`` of each latent grid, finest first: ``ceil(H / 2^i) x ceil(W / 2^i)``."""
    return [(-(-height // 2**i), -(-width // 2**i)) for i in range(grids)]


def default_grids(width: int, height: int) -> int:
    """Grids down to 1/64, fewer when the coarsest would be under 2 latents on its longer side."""
    grids = 1
    while grids < DEFAULT_GRIDS and max(width, height) / 2**grids >= 2:
        grids += 1
    return grids


@dataclass(frozen=True)
class OverfitConfig:
    """The registered model's constants: quality scale and latent table bank.

    Quality ``q`` in ``[0, rate_levels - 1]`` fits with the rate-distortion weight
    ``lambda = lambda_low * (lambda_high / lambda_low) ** (q / (rate_levels - 1))`` (MSE on
    ``[0, 1]`` pixels plus lambda times bits per pixel).

    Latent table ``(row, phase)`` (index ``row * 2^mean_bits + phase``) is the discretised
    Laplace of scale ``exp((scale_base + row * scale_step) / 2^12)`` centred at
    ``phase / 2^mean_bits``, on the integers ``-R .. R`` with
    ``R = ceil(scale * tail_ratio) + 1`` (other values escape).
    """

    rate_levels: int = 8
    lambda_low: float = 0.02
    lambda_high: float = 0.0001
    scale_base: int = -12288
    scale_step: int = 640
    scale_levels: int = 41
    mean_bits: int = 4
    tail_ratio: float = 6.93

    def lmbda(self, quality: float) -> float:
        """Rate-distortion weight of ``quality``."""
        return self.lambda_low * (self.lambda_high / self.lambda_low) ** (quality / (self.rate_levels - 1))

    def log_scale_range(self) -> tuple[float, float]:
        """Natural-log scales of the first and last table rows."""
        top = self.scale_base + (self.scale_levels - 1) * self.scale_step
        return self.scale_base / 2**ACTIVATION_BITS, top / 2**ACTIVATION_BITS


def _symmetric_index() -> Tensor:
    """``[8, 8]`` index into the 10 values: ``(a, b) = (min(i, 7 - i), min(j, 7 - j))``, sorted, row-major."""
    pairs = [(a, b) for a in range(4) for b in range(a, 4)]
    fold = [min(i, UPSAMPLING_KERNEL - 1 - i) for i in range(UPSAMPLING_KERNEL)]
    return torch.tensor([[pairs.index(tuple(sorted((fold[i], fold[j])))) for j in range(UPSAMPLING_KERNEL)]
                         for i in range(UPSAMPLING_KERNEL)])


_SYMMETRIC_INDEX = _symmetric_index()


def symmetric_kernel(values: Tensor) -> Tensor:
    """The ``[1, 1, 8, 8]`` kernel of 10 values (bitstream-spec.md section 6.2): same under mirror and transpose."""
    return values[_SYMMETRIC_INDEX].reshape(1, 1, UPSAMPLING_KERNEL, UPSAMPLING_KERNEL)


def _bicubic_kernel(symmetric: bool) -> Tensor:
    """Bicubic 2x upsampling as a kernel's free values (10, or the whole ``[1, 1, 8, 8]``)."""
    k = torch.tensor(_BICUBIC_2X)
    if symmetric:
        return torch.tensor([float(k[a] * k[b]) for a in range(4) for b in range(a, 4)])
    return torch.outer(k, k).reshape(1, 1, UPSAMPLING_KERNEL, UPSAMPLING_KERNEL)


class OverfitNetwork(nn.Module):
    """The float networks the encoder fits (see the module docstring)."""

    def __init__(self, shape: OverfitShape) -> None:
        super().__init__()
        shape.validate()
        self.shape = shape
        layers: list[nn.Module] = []
        width = len(CONTEXT)
        for _ in range(shape.arm_layers):
            layers += [nn.Conv2d(width, shape.arm_width, 1), nn.ReLU()]
            width = shape.arm_width
        layers.append(nn.Conv2d(width, 2, 1))
        self.arm = nn.Sequential(*layers)
        with torch.no_grad():
            self.arm[-1].weight.mul_(0.1)
            self.arm[-1].bias.copy_(torch.tensor([0.0, -1.0]))
        _add_inputs(self.arm[0], shape.coarse_features)
        sources = [len(shape.feature_sources(k)) for k in range(shape.coarse_feature_grids)]
        self.feature_weights = nn.ParameterList(nn.Parameter(torch.zeros(shape.coarse_features, n)) for n in sources)
        self.feature_biases = nn.ParameterList(nn.Parameter(torch.zeros(shape.coarse_features)) for _ in sources)
        self.upsampling = nn.ParameterList(nn.Parameter(_bicubic_kernel(shape.symmetric_kernels))
                                           for _ in range(shape.grids - 1))
        self.mix = nn.Conv2d(shape.grids, shape.synthesis_width, 1)
        self.to_rgb = nn.Conv2d(shape.synthesis_width, 3, 1)
        self.refine = nn.ModuleList(nn.Conv2d(3, 3, 3) for _ in range(2))
        with torch.no_grad():
            self.to_rgb.bias.fill_(0.5)
            for conv in self.refine:
                conv.weight.zero_()
                conv.bias.zero_()

    def tensors(self) -> list[Tensor]:
        """Every parameter in stream order: ARM layers, coarse-grid feature layers, upsampling kernels, synthesis
        layers."""
        out: list[Tensor] = []
        for conv in self.arm:
            if isinstance(conv, nn.Conv2d):
                out += [conv.weight, conv.bias]
        for weight, bias in zip(self.feature_weights, self.feature_biases, strict=True):
            out += [weight, bias]
        out += list(self.upsampling)
        for conv in (self.mix, self.to_rgb, *self.refine):
            out += [conv.weight, conv.bias]
        return out

    def arm_outputs(self, grids: list[Tensor]) -> Tensor:
        """``[N, 2]`` (mean, log-scale) of every latent of ``grids`` (``[h, w]`` each, as
        :meth:`OverfitShape.levels`), grid after grid, from its causal context and coarse-grid features."""
        layers = [(layer.weight[:, :, 0, 0], layer.bias) for layer in self.arm if isinstance(layer, nn.Conv2d)]
        plain = [(layers[0][0][:, : len(CONTEXT)], layers[0][1]), *layers[1:]]
        levels = self.shape.levels()
        out = []
        for k, grid in enumerate(grids):
            if k >= self.shape.coarse_feature_grids:
                out.append(context_mlp(grid, CONTEXT, plain))
                continue
            sources = self.shape.feature_sources(k)
            features = nearest_features([grids[j] for j in sources], [levels[j] - levels[k] for j in sources],
                                        self.feature_weights[k], self.feature_biases[k], (grid.shape[0], grid.shape[1]))
            out.append(context_mlp(grid, CONTEXT, layers, extra=features))
        return torch.cat(out)

    def upsampled(self, grids: list[Tensor]) -> Tensor:
        """``[1, L, H, W]``, the synthesis's input: every latent grid (``[h_i, w_i]``, finest first) upsampled to
        full resolution."""
        return upsample_stack(grids, [self.kernel(i) for i in range(len(grids) - 1)])

    def kernel(self, level: int) -> Tensor:
        """The ``[1, 1, 8, 8]`` upsampling kernel into grid ``level``."""
        values = self.upsampling[level]
        return symmetric_kernel(values) if self.shape.symmetric_kernels else values

    def synthesize(self, upsampled: Tensor) -> Tensor:
        """``[1, 3, H, W]`` image (before clamping) of the :meth:`upsampled` grids."""
        _, c, h, w = upsampled.shape
        # The 1x1 convolutions as one MLP over the pixels (fused C++ on CPUs: lic.models.row_mlp).
        rgb = channel_mlp(upsampled.reshape(c, h * w), [(self.mix.weight[:, :, 0, 0], self.mix.bias),
                                                       (self.to_rgb.weight[:, :, 0, 0], self.to_rgb.bias)])
        x = residual_3x3(rgb.reshape(1, 3, h, w), self.refine[0].weight, self.refine[0].bias, relu_input=False)
        return residual_3x3(x, self.refine[1].weight, self.refine[1].bias, relu_input=True)


def _add_inputs(conv: nn.Conv2d, count: int) -> None:
    """Gives the ARM's first layer ``count`` more inputs (the coarse-grid features), their weights drawn from a
    generator of their own: the rest of a network starts as one without features of the same seed (the global
    random numbers are drawn alike), so fits with and without them compare seed by seed."""
    if not count:
        return
    own = torch.Generator().manual_seed(count)
    bound = 1 / math.sqrt(conv.in_channels)
    extra = (torch.rand(conv.out_channels, count, 1, 1, generator=own) * 2 - 1) * bound
    conv.weight = nn.Parameter(torch.cat([conv.weight.detach(), extra], 1))
    conv.in_channels += count


def laplace_bits(values: Tensor, mean: Tensor, log_scale: Tensor, config: OverfitConfig) -> Tensor:
    """Bits of integer-bin ``values`` under the discretised Laplace(mean, exp(log_scale)).

    The scale is clamped to the table bank's range and each probability to at least 2^-16,
    as the 16-bit tables are.
    """
    low, high = config.log_scale_range()
    scale = torch.exp(log_scale.clamp(low, high))
    upper = _laplace_cdf(values + 0.5 - mean, scale)
    lower = _laplace_cdf(values - 0.5 - mean, scale)
    return -torch.log2((upper - lower).clamp_min(2.0**-16))


def laplace_rate(values: Tensor, params: Tensor, config: OverfitConfig) -> Tensor:
    """Total :func:`laplace_bits` of ``values [N]`` under ``params [N, 2]`` (mean, log-scale): one C++ pass
    each way for float32 CPU tensors (the encoder's fit; ``lic/entropy/csrc/fit_rate.cpp``), the torch
    expression elsewhere."""
    if cpp_kernels_take(values) and cpp_kernels_take(params):
        low, high = config.log_scale_range()
        return _LaplaceRate.apply(values, params, low, high)
    return laplace_bits(values, params[:, 0], params[:, 1], config).sum()


class _LaplaceRate(torch.autograd.Function):
    @staticmethod
    def forward(ctx, values: Tensor, params: Tensor, low: float, high: float) -> Tensor:  # noqa: ANN001
        ctx.save_for_backward(values, params)
        ctx.bounds = (low, high)
        bits = _rans.laplace_rate(values.detach().contiguous().numpy(), params.detach().contiguous().numpy(), low, high)
        return values.new_tensor(bits)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:  # noqa: ANN001
        values, params = ctx.saved_tensors
        grad_values, grad_params = _rans.laplace_rate_backward(values.detach().contiguous().numpy(),
                                                               params.detach().contiguous().numpy(), *ctx.bounds,
                                                               float(grad))
        return torch.from_numpy(grad_values), torch.from_numpy(grad_params), None, None


def _laplace_cdf(x: Tensor, scale: Tensor) -> Tensor:
    e = 0.5 * torch.exp(-x.abs() / scale)
    return torch.where(x < 0, e, 1 - e)


def laplace_tables(config: OverfitConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The latent table bank ``(cdf [T, S], lengths [T], offsets [T])`` (see :class:`OverfitConfig`)."""
    from compressai._CXX import pmf_to_quantized_cdf

    phases = 2**config.mean_bits
    cdfs, offsets = [], []
    for row in range(config.scale_levels):
        scale = math.exp((config.scale_base + row * config.scale_step) / 2**ACTIVATION_BITS)
        reach = math.ceil(scale * config.tail_ratio) + 1
        values = torch.arange(-reach, reach + 1, dtype=torch.float64)
        for phase in range(phases):
            mean = phase / phases
            s = torch.tensor(scale, dtype=torch.float64)
            pmf = (_laplace_cdf(values + 0.5 - mean, s) - _laplace_cdf(values - 0.5 - mean, s)).clamp_min(0)
            tail = max(0.0, 1.0 - float(pmf.sum()))
            cdfs.append(pmf_to_quantized_cdf([*pmf.tolist(), tail], 16))
            offsets.append(-reach)
    longest = max(len(c) for c in cdfs)
    cdf = np.zeros((len(cdfs), longest), dtype=np.int32)
    for i, c in enumerate(cdfs):
        cdf[i, : len(c)] = c
    return cdf, np.array([len(c) for c in cdfs], dtype=np.int32), np.array(offsets, dtype=np.int32)


class OverfitCodec(nn.Module):
    """The registered overfit "model": the integer CDF tables and the quality scale.

    Its state is the latent table bank (:func:`laplace_tables`) and the Gaussian tables the
    network weights are coded with (as the INR mode's), computed once and shipped.
    """

    fixed_point = True

    def __init__(self, config: OverfitConfig) -> None:
        super().__init__()
        self.config = config
        self.prior = GaussianPrior()
        self.register_buffer("latent_cdf", torch.zeros(0, dtype=torch.int32))
        self.register_buffer("latent_cdf_length", torch.zeros(0, dtype=torch.int32))
        self.register_buffer("latent_offset", torch.zeros(0, dtype=torch.int32))
        self._latent_tables: CdfTables | None = None

    @property
    def rate_levels(self) -> int:
        """Number of quality levels (the quality is continuous in ``[0, rate_levels - 1]``)."""
        return self.config.rate_levels

    def update_tables(self) -> None:
        """Builds every CDF table from the configuration."""
        self.prior.update_tables()
        cdf, lengths, offsets = laplace_tables(self.config)
        self.latent_cdf = torch.from_numpy(cdf)
        self.latent_cdf_length = torch.from_numpy(lengths)
        self.latent_offset = torch.from_numpy(offsets)
        self._latent_tables = None

    def latent_tables(self) -> CdfTables:
        """The latent table bank, validated once and cached."""
        if self._latent_tables is None:
            if self.latent_cdf.numel() == 0:
                raise RuntimeError("CDF tables are not built: call update_tables() first")
            self._latent_tables = CdfTables(self.latent_cdf.cpu().numpy(), self.latent_cdf_length.cpu().numpy(),
                                            self.latent_offset.cpu().numpy())
        return self._latent_tables

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: object, **kwargs: object) -> None:
        for name in ("latent_cdf", "latent_cdf_length", "latent_offset"):
            stored = state_dict.get(f"{prefix}{name}")
            if stored is not None:
                getattr(self, name).resize_(stored.shape)
        self._latent_tables = None
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


# --- exact (fixed-point) evaluation, shared by the encoder's reconstruction and the decoder ---


@dataclass(frozen=True)
class ExactNetwork:
    """:class:`OverfitNetwork` on quantized weights, in fixed point (bitstream-spec.md section 6).

    Built from each tensor's integers ``q`` and power-of-two step ``2^-e`` (``e <= 14``), so
    the fixed-point weights ``q * 2^(14 - e)`` and biases ``q * 2^(26 - e)`` are exact.
    """

    shape: OverfitShape
    arm: list[FixedPointLayer]
    feature_layers: list[FixedPointLayer]
    upsampling: list[FixedPointLayer]
    synthesis: list[FixedPointLayer]

    @classmethod
    def of(cls, shape: OverfitShape, integers: list[np.ndarray], exponents: list[int]) -> ExactNetwork:
        """From the stream's tensors (integers and step exponents, :meth:`OverfitNetwork.tensors` order).

        Raises:
            InexactNetworkError: weights so large that a sum could leave the exact range.
        """
        layout = tensor_layout(shape)
        fixed = [_fixed(q, e, WEIGHT_BITS + ACTIVATION_BITS if bias else WEIGHT_BITS)
                 for q, e, (_, bias) in zip(integers, exponents, layout, strict=True)]
        arm_tensors, kernels, synthesis_tensors = ([t for t, (g, _) in zip(fixed, layout) if g == group]
                                                   for group in NETWORK_GROUPS)
        layers = [FixedPointLayer(_as_1x1(weight), bias, 1, 0, 0, False, i < shape.arm_layers)
                  for i, (weight, bias) in enumerate(zip(arm_tensors[::2], arm_tensors[1::2]))]
        arm, feature_layers = layers[: shape.arm_layers + 1], layers[shape.arm_layers + 1 :]
        zero = torch.zeros(1, dtype=torch.float64)
        upsampling = [FixedPointLayer(symmetric_kernel(k) if shape.symmetric_kernels else k, zero, 2, 3, 0, True,
                                      False) for k in kernels]
        synthesis = [FixedPointLayer(weight, bias, 1, 0, 0, False, i == 0)  # ReLU after the first 1x1 only
                     for i, (weight, bias) in enumerate(zip(synthesis_tensors[::2], synthesis_tensors[1::2]))]
        check_exact(arm + feature_layers + upsampling + synthesis)
        return cls(shape, arm, feature_layers, upsampling, synthesis)

    def cpp_arm_layers(self) -> list[tuple[np.ndarray, np.ndarray, bool]]:
        """``(weight [out, in], bias [out], relu)`` int64 arrays of the ARM, for the C++ coder."""
        return [(layer.weight[:, :, 0, 0].numpy().astype(np.int64), layer.bias.numpy().astype(np.int64),
                 layer.relu) for layer in self.arm]

    def cpp_feature_layers(self) -> list[tuple[int, list[int], np.ndarray, np.ndarray]]:
        """``(grid, sources, weight [features, sources], bias [features])`` of each coarse-grid feature layer
        for the C++ coder: grid and sources as positions in the stream's :meth:`OverfitShape.coding_order`."""
        position = {grid: i for i, grid in enumerate(self.shape.coding_order())}
        return [(position[k], [position[j] for j in self.shape.feature_sources(k)],
                 layer.weight[:, :, 0, 0].numpy().astype(np.int64), layer.bias.numpy().astype(np.int64))
                for k, layer in enumerate(self.feature_layers)]

    def reconstruct(self, grids: list[np.ndarray]) -> np.ndarray:
        """``HxWx3`` uint8 pixels of the integer latent grids (finest first, ``[h_i, w_i]`` each; hyperlatent
        grids after them are ignored).

        Spec section 6.4, in C++ (``lic/entropy/csrc/overfit_synthesis.cpp``) on the integers of
        these layers; :meth:`of` proved every sum exact.
        """
        layers = [(layer.weight.numpy(), layer.bias.numpy()) for layer in self.synthesis]
        kernels = [layer.weight[0, 0].numpy() for layer in self.upsampling]
        return _rans.overfit_synthesis([np.ascontiguousarray(g, dtype=np.int32) for g in grids[: self.shape.grids]],
                                       kernels, layers)


def _as_1x1(weight: Tensor) -> Tensor:
    """A ``[out, in]`` weight as the ``[out, in, 1, 1]`` of a ``1x1`` convolution (the ARM's already are)."""
    return weight[:, :, None, None] if weight.dim() == 2 else weight


def _fixed(q: np.ndarray, exponent: int, bits: int) -> Tensor:
    """Integers ``q * 2^(bits - exponent)`` as float64 (exact: ``exponent <= bits``)."""
    return torch.from_numpy(q.astype(np.float64)) * 2.0 ** (bits - exponent)


def parameter_count(shape: OverfitShape) -> int:
    """Weights and biases of an :class:`OverfitNetwork` of ``shape``."""
    return sum(p.numel() for p in OverfitNetwork(shape).tensors())


def macs_per_pixel(shape: OverfitShape) -> float:
    """Multiply-accumulates per decoded pixel (latents per pixel ~4/3)."""
    inputs = len(CONTEXT) + shape.coarse_features
    arm = inputs * shape.arm_width + (shape.arm_layers - 1) * shape.arm_width**2 + 2 * shape.arm_width
    latents = sum(4.0**-level for level in shape.levels())
    features = sum(shape.coarse_features * len(shape.feature_sources(k)) * 4.0**-k
                   for k in range(shape.coarse_feature_grids))
    upsampling = sum(16 * (shape.grids - 1 - i) * 4.0**-i for i in range(shape.grids - 1))
    synthesis = shape.grids * shape.synthesis_width + shape.synthesis_width * 3 + 2 * 27 * 3
    return arm * latents + features + upsampling + synthesis
