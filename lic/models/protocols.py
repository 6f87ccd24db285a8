"""The contracts between models and the code that drives them, as typed protocols.

The codec, training and evaluation code call models only through these members; a new
architecture that provides them (and registers in :mod:`lic.models.registry`) plugs in;
``tests/test_model_contracts.py`` checks every registered model against them.
Rate and trade-off definitions shared by training and encoding are in :mod:`lic.models.rate`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor

from lic.entropy.range_coder import RangeDecoder, RangeEncoder


@runtime_checkable
class CodingModel(Protocol):
    """What every registered model offers the weights loader and the stream writer."""

    @property
    def rate_levels(self) -> int:
        """Number of trained quality levels (qualities run over ``0 .. rate_levels - 1``)."""

    @property
    def fixed_point(self) -> bool:
        """Whether its entropy parameters are integer arithmetic (decodable on any machine)."""

    def update_tables(self) -> None:
        """Rebuilds the entropy coder's tables after the weights changed."""

    def state_dict(self) -> dict[str, Tensor]:
        """Its parameters and buffers (:class:`torch.nn.Module`)."""

    def parameters(self) -> Iterator[torch.nn.Parameter]:
        """Its parameters (:class:`torch.nn.Module`)."""


@runtime_checkable
class ImageModel(CodingModel, Protocol):
    """A learned transform codec of whole pictures (``lic/codec/image.py`` drives it).

    Pictures are padded to multiples of ``downsampling`` (:data:`lic.format.geometry.TILE_ALIGN`
    must be a multiple of it); the latent has one sample per ``latent_stride`` pixels.
    """

    downsampling: int
    latent_stride: int

    def analyze(self, x: Tensor, quality: float) -> Tensor:
        """The latent ``y`` of ``x`` (``[1, 3, H, W]`` in 0..1, padded), before quantization."""

    def forward_latent(self, y: Tensor, quality: float,
                       relaxed: bool = False) -> dict[str, Tensor | dict[str, Tensor]]:
        """Coding-mode reconstruction ``x_hat`` and ``likelihoods`` of a latent (for refinement);
        ``relaxed`` adds ``relaxed_likelihoods``, those of the unrounded latent."""

    def encode_latent(self, y: Tensor, encoder: RangeEncoder) -> Tensor:
        """Writes ``y`` (and its side information) to ``encoder``; returns the decoded latent ``y_hat``."""

    def decode(self, decoder: RangeDecoder, quality: float, z_size: tuple[int, int], device: torch.device) -> Tensor:
        """Reads a latent ``y_hat`` whose hyper-latent is ``z_size`` from ``decoder``."""

    def synthesize(self, y_hat: Tensor, quality: float) -> Tensor:
        """The picture (``[1, 3, H, W]``, 0..1) of a decoded latent."""


@runtime_checkable
class TrainableModel(Protocol):
    """What the training loop (:mod:`lic.train.loop`) needs of a model."""

    @property
    def rate_levels(self) -> int:
        """Number of quality levels, one trade-off each."""

    def __call__(self, x: Tensor, quality: float) -> dict[str, Tensor | dict[str, Tensor]]:
        """Training-mode ``x_hat`` and ``likelihoods`` (in 0..1 per latent element)."""

    def initialize_gains(self, lambdas: list[float]) -> None:
        """Starts the per-level gains from the trade-offs they are trained for."""

    def aux_loss(self) -> Tensor:
        """The entropy bottleneck's quantile loss."""


@runtime_checkable
class ConditionalCodec(Protocol):
    """Codes a latent given a reference latent (a P-frame codec)."""

    def encode(self, y: Tensor, reference: Tensor, encoder: RangeEncoder) -> Tensor:
        """Writes ``y`` given ``reference``; returns ``y_hat``."""

    def decode(self, decoder: RangeDecoder, reference: Tensor, z_size: tuple[int, int]) -> Tensor:
        """Reads ``y_hat`` given ``reference``."""


@runtime_checkable
class VideoModel(CodingModel, Protocol):
    """An image model for intra frames and a conditional codec for P-frames."""

    @property
    def intra(self) -> ImageModel:
        """The intra-frame model."""

    @property
    def inter(self) -> ConditionalCodec:
        """The P-frame codec."""
