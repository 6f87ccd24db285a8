"""Fixed-point evaluation of the networks that predict entropy parameters.

An arithmetic decoder only stays in step with its encoder if both choose the same
probability table for every symbol. Float networks do not guarantee that across
devices, thread counts or BLAS libraries: summation order changes the last bits.
:class:`FixedPointNetwork` evaluates a stack of convolutions and ReLUs on integers
instead, so its output is the same number on every machine:

* activations are integers ``a`` standing for ``a / 2**ACTIVATION_BITS``, clamped to
  ``|a| <= ACTIVATION_LIMIT``;
* weights are ``round(w * 2**WEIGHT_BITS)``, biases ``round(b * 2**(ACTIVATION_BITS + WEIGHT_BITS))``;
* a layer sums integer products, adds the bias and rescales with
  ``floor((acc + 2**(WEIGHT_BITS - 1)) / 2**WEIGHT_BITS)`` (round half up).

The integers are held in float64 tensors, whose arithmetic is exact for integers
below ``2**53``. :func:`check_exact` proves from the weights that no sum can reach
that bound for *any* input (every activation is clamped), so every summation order
and every convolution algorithm that computes sums of products gives the same
result; cuDNN (which may pick FFT or Winograd algorithms) is switched off while
these networks run. ``bitstream-spec.md`` section 3.1 states the procedure.

With ``LIC_KERNELS=1`` (see :func:`lic.kernels.selection.kernels_enabled`) the layers run through the
Triton kernels of :mod:`lic.kernels` instead, on int64: the same integers, by construction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lic.kernels.selection import kernels_enabled
from lic.models.standard_layers import MaskedConv2d

ACTIVATION_BITS = 12
WEIGHT_BITS = 14
ACTIVATION_LIMIT = 2**24
EXACT_LIMIT = 2**53


class InexactNetworkError(ValueError):
    """The weights could make a fixed-point sum leave the exactly representable range."""


@dataclass(frozen=True)
class FixedPointLayer:
    """One convolution (plain or transposed) on integers, optionally followed by a ReLU."""

    weight: Tensor
    bias: Tensor
    stride: int
    padding: int
    output_padding: int
    transposed: bool
    relu: bool

    def __call__(self, x: Tensor) -> Tensor:
        if self.transposed:
            acc = F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, self.output_padding)
        else:
            acc = F.conv2d(x, self.weight, self.bias, self.stride, self.padding)
        return self.rescale(acc)

    def on_rows(self, rows: Tensor) -> Tensor:
        """A 1x1 convolution applied to feature vectors ``[N, C]``."""
        self._check_pointwise()
        return self.rescale(torch.addmm(self.bias, rows, self.weight[:, :, 0, 0].t()))

    def kernel(self, a: Tensor) -> Tensor:
        """The layer on int64 activations through :mod:`lic.kernels` (any layer shape)."""
        from lic.kernels.conv import fixed_conv2d

        return fixed_conv2d(a, self._tap_major_weight, self._int64_bias, stride=self.stride, padding=self.padding,
                            output_padding=self.output_padding, transposed=self.transposed, lower=self._lower,
                            upper=ACTIVATION_LIMIT)

    def kernel_on_rows(self, rows: Tensor, table_bounds: Tensor | None = None,
                       scale_channels: int = 0) -> tuple[Tensor, Tensor | None]:
        """:meth:`on_rows` on int64 activations through :mod:`lic.kernels`; with ``table_bounds``
        also the table indexes ``[scale_channels, N]`` of the first ``scale_channels`` outputs
        (see :func:`lic.kernels.rows.fixed_rows`)."""
        from lic.kernels.rows import fixed_rows

        self._check_pointwise()
        return fixed_rows(rows, self._channel_major_weight, self._int64_bias, lower=self._lower,
                          upper=ACTIVATION_LIMIT, bounds=table_bounds, index_channels=scale_channels)

    @property
    def _lower(self) -> int:
        return 0 if self.relu else -ACTIVATION_LIMIT

    @cached_property
    def _int64_bias(self) -> Tensor:
        return self.bias.to(torch.int64)

    @cached_property
    def _tap_major_weight(self) -> Tensor:
        from lic.kernels.conv import tap_major

        return tap_major(self.weight, self.transposed)

    @cached_property
    def _channel_major_weight(self) -> Tensor:
        from lic.kernels.rows import channel_major

        return channel_major(self.weight)

    def _check_pointwise(self) -> None:
        if self.transposed or self.weight.shape[2:] != (1, 1) or self.stride != 1 or self.padding != 0:
            raise InexactNetworkError("only 1x1 convolutions apply to feature vectors")

    def rescale(self, acc: Tensor) -> Tensor:
        """The layer's output activations of accumulators ``acc`` (sums of products plus bias)."""
        out = torch.floor((acc + 2 ** (WEIGHT_BITS - 1)) * 2.0**-WEIGHT_BITS)
        return out.clamp_(0 if self.relu else -ACTIVATION_LIMIT, ACTIVATION_LIMIT)

    def worst_sum(self) -> float:
        """Largest magnitude the accumulator can reach for any clamped input."""
        dims = (1, 2, 3) if not self.transposed else (0, 2, 3)
        per_output = self.weight.abs().sum(dim=dims) * ACTIVATION_LIMIT + self.bias.abs()
        return float(per_output.max()) + 2 ** (WEIGHT_BITS - 1)


def _quantize_layer(conv: nn.Conv2d | nn.ConvTranspose2d, relu: bool, device: torch.device) -> FixedPointLayer:
    weight = conv.weight.detach()
    if isinstance(conv, MaskedConv2d):
        weight = weight * conv.mask
    outputs = weight.shape[0 if isinstance(conv, nn.Conv2d) else 1]
    bias = conv.bias.detach() if conv.bias is not None else torch.zeros(outputs)
    transposed = isinstance(conv, nn.ConvTranspose2d)
    for name, value in (("stride", conv.stride), ("padding", conv.padding), ("dilation", conv.dilation)):
        if len(set(value)) != 1:
            raise InexactNetworkError(f"fixed-point layers need square {name}, not {value}")
    if conv.dilation[0] != 1 or conv.groups != 1:
        raise InexactNetworkError("fixed-point layers support neither dilation nor groups")
    return FixedPointLayer(
        weight=torch.round(weight.double() * 2.0**WEIGHT_BITS).to(device),
        bias=torch.round(bias.double() * 2.0 ** (ACTIVATION_BITS + WEIGHT_BITS)).to(device),
        stride=conv.stride[0],
        padding=conv.padding[0],
        output_padding=conv.output_padding[0] if transposed else 0,
        transposed=transposed,
        relu=relu,
    )


class FixedPointNetwork:
    """A float ``Conv2d``/``ConvTranspose2d``/``ReLU`` stack evaluated exactly on integers.

    Built from the float module's current weights; :meth:`__call__` takes and returns
    real values (float64 tensors that are exact multiples of ``2**-ACTIVATION_BITS``).

    Raises:
        InexactNetworkError: the module holds other layers, or its weights are so
            large that a sum could exceed ``2**53``.
    """

    def __init__(self, module: nn.Module) -> None:
        layers = list(module) if isinstance(module, nn.Sequential) else [module]
        device = next(module.parameters()).device
        self.layers: list[FixedPointLayer] = []
        for i, layer in enumerate(layers):
            if isinstance(layer, nn.ReLU):
                continue
            if not isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
                raise InexactNetworkError(f"{type(layer).__name__} has no fixed-point form")
            relu = i + 1 < len(layers) and isinstance(layers[i + 1], nn.ReLU)
            self.layers.append(_quantize_layer(layer, relu, device))
        check_exact(self.layers)

    def __call__(self, x: Tensor) -> Tensor:
        a = _to_fixed(x)
        if kernels_enabled():
            a = a.to(torch.int64)
            for layer in self.layers:
                a = layer.kernel(a)
            return a.double() * 2.0**-ACTIVATION_BITS
        with exact_convolutions():
            for layer in self.layers:
                a = layer(a)
        return a * 2.0**-ACTIVATION_BITS

    def apply_to_rows(self, rows: Tensor) -> Tensor:
        """The network on feature vectors ``[N, C]`` -> ``[N, C_out]``; 1x1 convolutions only.

        The same integers as :meth:`__call__` at those positions, for the cost of the
        positions asked for (a matrix product per layer).
        """
        return self.apply_to_rows_with_tables(rows)[0]

    def apply_to_rows_with_tables(self, rows: Tensor, table_bounds: Tensor | None = None,
                                  scale_channels: int = 0) -> tuple[Tensor, Tensor | None]:
        """:meth:`apply_to_rows`, and the Gaussian table of each of the first ``scale_channels``
        outputs read as a scale (int32 ``[scale_channels, N]``, the number of ``table_bounds``
        below it) when the kernels run: their last layer computes it in the same pass. On the
        torch path the tables are left to the caller (``None``).
        """
        a = _to_fixed(rows)
        if kernels_enabled():
            a = a.to(torch.int64)
            for layer in self.layers[:-1]:
                a = layer.kernel_on_rows(a)[0]
            a, indexes = self.layers[-1].kernel_on_rows(a, table_bounds, scale_channels)
            return a.double() * 2.0**-ACTIVATION_BITS, indexes
        for layer in self.layers:
            a = layer.on_rows(a)
        return a * 2.0**-ACTIVATION_BITS, None


def _to_fixed(x: Tensor) -> Tensor:
    return torch.round(x.double() * 2.0**ACTIVATION_BITS).clamp_(-ACTIVATION_LIMIT, ACTIVATION_LIMIT)


def check_exact(layers: list[FixedPointLayer]) -> None:
    """Raises :class:`InexactNetworkError` unless every accumulator stays below ``2**53``."""
    for i, layer in enumerate(layers):
        if layer.worst_sum() >= EXACT_LIMIT:
            raise InexactNetworkError(f"fixed-point layer {i} could overflow exact float64 integers")


@contextmanager
def exact_convolutions() -> Iterator[None]:
    """Runs convolutions as plain sums of products (cuDNN off: no FFT/Winograd algorithms)."""
    with torch.backends.cudnn.flags(enabled=False):
        yield
