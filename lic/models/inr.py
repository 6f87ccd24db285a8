"""Implicit neural video representation (HNeRV / NIRVANA style): one small network per
group of frames, fitted at encode time.

A group's frames are represented by a :class:`NervDecoder` (convolutions and pixel
shuffles from a low-resolution grid up to the frame size, shared by the group) and
one tiny embedding per frame (``embed`` channels on the ``H/16 x W/16`` grid). The
encoder fits both to the frames (:func:`lic.codec.inr.fit_group`), quantizes them
and codes the integers with the range coder; the decoder evaluates the network on
a frame's embedding. Nothing is trained ahead of time: the registered model
:class:`InrCodec` only holds the integer CDF tables the weights are coded with and
the size presets of each quality level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from lic.entropy.priors import GaussianPrior

STRIDE = 16
"""Frames are represented from a grid of ``ceil(H/16) x ceil(W/16)`` positions (4 x2 stages)."""
MAX_CHANNELS = 256
MAX_EMBED = 32


@dataclass(frozen=True)
class NervShape:
    """The size of one group's network; recorded in the stream.

    Attributes:
        embed: channels of each frame's embedding.
        channels: stem channels (at ``H/16``), then the output channels of the four x2
            upsampling stages (at ``H/8`` ... ``H``): five numbers.
    """

    embed: int
    channels: tuple[int, ...]

    def validate(self) -> None:
        """Raises ``ValueError`` on shapes no encoder writes (bounds allocation on decode)."""
        if not 1 <= self.embed <= MAX_EMBED:
            raise ValueError(f"embedding channels {self.embed} out of 1..{MAX_EMBED}")
        if len(self.channels) != 5 or not all(1 <= c <= MAX_CHANNELS for c in self.channels):
            raise ValueError(f"network channels {self.channels} are not five numbers in 1..{MAX_CHANNELS}")


@dataclass(frozen=True)
class InrConfig:
    """The INR codec's quality levels: level ``q`` fits a network of shape ``levels[q]``."""

    embed: tuple[int, ...] = (2, 2, 4, 4, 6, 8)
    channels: tuple[tuple[int, ...], ...] = (
        (16, 12, 12, 8, 8),
        (24, 16, 12, 12, 8),
        (32, 24, 16, 12, 12),
        (48, 32, 24, 16, 12),
        (64, 48, 32, 24, 16),
        (96, 64, 48, 32, 24),
    )
    weight_step_bits: int = 6

    def shape(self, level: int) -> NervShape:
        """The network shape of quality level ``level``."""
        return NervShape(self.embed[level], tuple(self.channels[level]))


class NervDecoder(nn.Module):
    """Embedding ``[B, embed, H/16, W/16]`` to frames ``[B, 3, H, W]`` (before clamping)."""

    def __init__(self, shape: NervShape) -> None:
        super().__init__()
        shape.validate()
        self.shape = shape
        c = shape.channels
        self.stem = nn.Conv2d(shape.embed, c[0], 3, padding=1)
        self.stages = nn.ModuleList(nn.Conv2d(c[i], 4 * c[i + 1], 3, padding=1) for i in range(4))
        self.head = nn.Conv2d(c[4], 3, 3, padding=1)

    def forward(self, embedding: Tensor) -> Tensor:
        """Frames in ``[0, 1]`` up to the fit's error, ``16x`` the embedding's size."""
        x = F.gelu(self.stem(embedding))
        for stage in self.stages:
            x = F.gelu(F.pixel_shuffle(stage(x), 2))
        return self.head(x) + 0.5


def parameter_count(shape: NervShape) -> int:
    """Weights and biases of a :class:`NervDecoder` of ``shape``."""
    c = shape.channels
    total = shape.embed * c[0] * 9 + c[0]
    total += sum(c[i] * 4 * c[i + 1] * 9 + 4 * c[i + 1] for i in range(4))
    return total + c[4] * 3 * 9 + 3


def macs_per_pixel(shape: NervShape) -> float:
    """Multiply-accumulates of a :class:`NervDecoder` of ``shape`` per output pixel."""
    c = shape.channels
    macs = shape.embed * c[0] * 9 / STRIDE**2
    macs += sum(c[i] * 4 * c[i + 1] * 9 / 4 ** (4 - i) for i in range(4))
    return macs + c[4] * 3 * 9


def grid_size(width: int, height: int) -> tuple[int, int]:
    """Embedding grid ``(h, w)`` of a ``width x height`` frame."""
    return math.ceil(height / STRIDE), math.ceil(width / STRIDE)


class InrCodec(nn.Module):
    """The registered INR "model": weight-coding CDF tables and the quality presets.

    Its state is the integer tables of a zero-mean Gaussian per scale-table entry,
    computed once (:meth:`update_tables`) and shipped, so encoder and decoder code
    weights with the same integers on any machine.
    """

    fixed_point = True

    def __init__(self, config: InrConfig) -> None:
        super().__init__()
        if len(config.embed) != len(config.channels):
            raise ValueError("one embedding size per quality level is needed")
        self.config = config
        self.prior = GaussianPrior()

    @property
    def rate_levels(self) -> int:
        """Number of quality levels (network sizes)."""
        return len(self.config.channels)

    def update_tables(self) -> None:
        """Builds the CDF tables from the scale table."""
        self.prior.update_tables()

    def shape_at(self, quality: float) -> NervShape:
        """The network shape of a (rounded) quality."""
        return self.config.shape(int(round(quality)))
