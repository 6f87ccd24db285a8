"""INR video coding (``lic encode --mode inr``): fit a network per group of frames, code its
quantized weights and each frame's embedding with the range coder (bitstream-spec.md §5.5).

Frames ``g .. g + n - 1`` of a group share one :class:`~lic.models.inr.NervDecoder`.
The first frame's packet carries the network and that frame's embedding; every other
frame's packet carries only its embedding and points back to the group's first frame
(``ref_distance``), so any frame decodes from two packets. Each group's fit starts from
the previous group's network (NIRVANA's autoregressive initialisation), which only
speeds the encoder up: the decoder never needs an earlier group.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from lic.codec.image import coding_threads
from lic.codec.tensor_coding import QuantizedTensor, decode_tensors, encode_tensors, quantization_step
from lic.errors import CorruptStreamError, UnsupportedInputError
from lic.format.sequence import FramePacket, FrameType
from lic.models.inr import STRIDE, InrCodec, NervDecoder, NervShape, grid_size
from lic.models.rate import cosine_learning_rate

MAX_GROUP = 256
"""Frames per group: a packet's ``ref_distance`` (u8) reaches back at most 255 frames."""
_SHAPE = struct.Struct("<B5H")


@dataclass(frozen=True)
class FitConfig:
    """How the encoder fits a group's network.

    Attributes:
        steps: Adam steps per group (each on ``batch`` random frames of the group).
        batch: frames per step.
        lr: peak learning rate (cosine decay to 0).
        quantize_after: fraction of the steps after which weights and embeddings pass
            through the quantizer (straight-through), so the fit adapts to it.
        seed: seed of the initialisation and of the frame sampling.
    """

    steps: int = 1500
    batch: int = 2
    lr: float = 5e-3
    quantize_after: float = 0.75
    seed: int = 0


def _fake_quantize(values: Tensor, bits: int) -> Tensor:
    """``values`` rounded to their quantization grid, with straight-through gradients."""
    step = quantization_step(values, bits)
    return values + (torch.round(values / step) * step - values).detach()


@dataclass
class FittedGroup:
    """A group's network and embeddings after fitting (float, before quantization)."""

    network: NervDecoder
    embeddings: Tensor


def fit_group(frames: list[np.ndarray], shape: NervShape, bits: int, config: FitConfig,
              start: NervDecoder | None = None) -> FittedGroup:
    """Fits a network of ``shape`` and one embedding per frame to ``HxWx3`` uint8 ``frames``.

    ``start`` (the previous group's network, same shape) initialises the network.
    """
    generator = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)
    network = NervDecoder(shape)
    if start is not None:
        network.load_state_dict(start.state_dict())
    height, width = frames[0].shape[:2]
    target = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float().div(255.0)
    rows, cols = grid_size(width, height)
    embeddings = torch.nn.Parameter(0.5 * torch.randn(len(frames), shape.embed, rows, cols, generator=generator))
    optimizer = torch.optim.Adam([*network.parameters(), embeddings], lr=config.lr)
    names = [name for name, _ in network.named_parameters()]
    for step in range(config.steps):
        for group in optimizer.param_groups:
            group["lr"] = cosine_learning_rate(config.lr, 0.0, config.steps, step)
        batch = torch.randint(len(frames), (min(config.batch, len(frames)),), generator=generator)
        if step >= config.quantize_after * config.steps:
            weights = {n: _fake_quantize(p, bits) for n, p in zip(names, network.parameters())}
            out = torch.func.functional_call(network, weights, (_fake_quantize(embeddings, bits)[batch],))
        else:
            out = network(embeddings[batch])
        loss = F.mse_loss(out[:, :, :height, :width], target[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return FittedGroup(network.eval(), embeddings.detach())


def _network_shapes(shape: NervShape) -> list[tuple[int, ...]]:
    return [tuple(p.shape) for p in NervDecoder(shape).parameters()]


def _network_of(shape: NervShape, parameters: Iterable[Tensor]) -> NervDecoder:
    """The decoder's network: a :class:`NervDecoder` of ``shape`` holding the dequantized ``parameters``."""
    network = NervDecoder(shape)
    with torch.no_grad():
        for parameter, values in zip(network.parameters(), parameters, strict=True):
            parameter.copy_(values)
    return network.eval()


def _network_packet(frame: int, network: NervDecoder, embedding: Tensor, codec: InrCodec,
                    bits: int) -> tuple[bytes, NervDecoder, Tensor]:
    """The first frame of a group: ``[shape + steps, lane]``; also the dequantized network and embedding."""
    quantized = [QuantizedTensor.of(p, bits) for p in network.parameters()]
    quantized.append(QuantizedTensor.of(embedding, bits))
    entries, lane = encode_tensors(quantized, codec.prior)
    shape = network.shape
    head = _SHAPE.pack(shape.embed, *shape.channels) + entries
    packet = FramePacket(frame, FrameType.INR, 0, [head, lane]).pack()
    return packet, _network_of(shape, (t.values() for t in quantized[:-1])), quantized[-1].values()


def _embedding_packet(frame: int, distance: int, embedding: Tensor, codec: InrCodec,
                      bits: int) -> tuple[bytes, Tensor]:
    """Any other frame of a group: ``[step, lane]`` of its embedding; also the dequantized embedding."""
    quantized = QuantizedTensor.of(embedding, bits)
    entries, lane = encode_tensors([quantized], codec.prior)
    return FramePacket(frame, FrameType.INR, distance, [entries, lane]).pack(), quantized.values()


def render(network: NervDecoder, embedding: Tensor, width: int, height: int) -> np.ndarray:
    """The ``HxWx3`` uint8 frame the network makes of one (dequantized) embedding."""
    with coding_threads(), torch.inference_mode():
        x = network(embedding.unsqueeze(0))[0, :, :height, :width]
        return torch.round(x.clamp(0, 1) * 255).to(torch.uint8).permute(1, 2, 0).numpy()


def encode_inr_frames(frames: Iterable[np.ndarray], width: int, height: int, codec: InrCodec, quality: float,
                      group_size: int, fit: FitConfig,
                      on_frame: Callable[[int, bytes, np.ndarray, np.ndarray], None]) -> list[bytes]:
    """Packets of every frame; ``on_frame(index, packet, source, reconstruction)`` sees each one."""
    if not 1 <= group_size <= MAX_GROUP:
        raise UnsupportedInputError(f"INR groups hold 1..{MAX_GROUP} frames (--intra-period), not {group_size}")
    shape = codec.shape_at(quality)
    bits = codec.config.weight_step_bits
    packets: list[bytes] = []
    previous: NervDecoder | None = None
    for first, group in _groups(frames, group_size):
        fitted = fit_group(group, shape, bits, fit, previous)
        previous = fitted.network
        network = None
        for offset, (pixels, embedding) in enumerate(zip(group, fitted.embeddings)):
            if offset == 0:
                packet, network, values = _network_packet(first, fitted.network, embedding, codec, bits)
            else:
                packet, values = _embedding_packet(first + offset, offset, embedding, codec, bits)
            packets.append(packet)
            on_frame(first + offset, packet, pixels, render(network, values, width, height))
    return packets


def _groups(frames: Iterable[np.ndarray], size: int) -> Iterator[tuple[int, list[np.ndarray]]]:
    group: list[np.ndarray] = []
    first = 0
    for index, pixels in enumerate(frames):
        group.append(pixels)
        if len(group) == size:
            yield first, group
            first, group = index + 1, []
    if group:
        yield first, group


def decode_network(packet: FramePacket, codec: InrCodec, width: int, height: int) -> tuple[NervDecoder, Tensor]:
    """The network and first-frame embedding in a group's first packet."""
    where = f"frame {packet.frame}"
    if len(packet.lanes) != 2 or len(packet.lanes[0]) < _SHAPE.size:
        raise CorruptStreamError(f"{where}: damaged INR network packet")
    embed, *channels = _SHAPE.unpack_from(packet.lanes[0])
    shape = NervShape(embed, tuple(channels))
    try:
        shape.validate()
    except ValueError as exc:
        raise CorruptStreamError(f"{where}: {exc}") from None
    rows, cols = grid_size(width, height)
    shapes = [*_network_shapes(shape), (shape.embed, rows, cols)]
    tensors = decode_tensors(packet.lanes[0][_SHAPE.size :], packet.lanes[1], shapes, codec.prior, where)
    return _network_of(shape, tensors[:-1]), tensors[-1]


def decode_embedding(packet: FramePacket, codec: InrCodec, network: NervDecoder, width: int,
                     height: int) -> Tensor:
    """The embedding in a group's later packet."""
    if len(packet.lanes) != 2:
        raise CorruptStreamError(f"frame {packet.frame}: damaged INR packet")
    rows, cols = grid_size(width, height)
    shape = (network.shape.embed, rows, cols)
    return decode_tensors(packet.lanes[0], packet.lanes[1], [shape], codec.prior, f"frame {packet.frame}")[0]


def check_frame_size(width: int, height: int, limit: int) -> None:
    """Refuses frames whose padded size is above ``limit`` pixels."""
    rows, cols = grid_size(width, height)
    if rows * cols * STRIDE * STRIDE > limit:
        raise UnsupportedInputError(f"INR frames of {width}x{height} are too large (at most {limit:,} pixels)")
