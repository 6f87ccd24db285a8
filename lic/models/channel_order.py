"""Parameter-guided latent channel ordering and grouping (after ISCS).

The channel slices of :class:`~lic.models.elic.ElicModel` are coded in order, each with the
slices before it as context, so the channels that carry the most should come first. This
module estimates each latent channel's importance from the trained weights alone (no image
is needed) and reorders the channels of a trained model accordingly.

Importance of channel ``c`` at a quality: its spread in quantization steps (the encoder
gain times the weight norm of the last analysis convolution's output ``c``) times its
effect on the picture per step (the inverse gain times the weight norm of the first
synthesis deconvolution's input ``c``): the pixel-domain energy the channel can carry.
Channels whose synthesis filters are nearly the same (cosine similarity) are reported as
redundant pairs.

Reordering is exact for the transforms, the gains and the hyper-analysis (weights are
permuted). The context networks see other channels in each slice afterwards, so a reordered
model is fine-tuned (``lic train`` with ``init_weights``) before use.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from lic.models.elic import ElicModel
from lic.models.standard_layers import AttentionBlock


@dataclass(frozen=True)
class ChannelImportance:
    """Per-channel importance of a model's latent and what follows from it.

    Attributes:
        scores: importance of each latent channel (current order).
        order: channels by decreasing importance (``order[0]`` is the most important).
        groups: uneven slice sizes, multiples of 8, each holding about the same share of
            the total importance (small slices first), summing to ``M``.
        redundant_pairs: channel pairs whose synthesis filters have cosine similarity
            above 0.9.
    """

    scores: Tensor
    order: list[int]
    groups: tuple[int, ...]
    redundant_pairs: list[tuple[int, int]]


def _synthesis_input(model: ElicModel) -> nn.ConvTranspose2d:
    return next(m for m in model.g_s if isinstance(m, nn.ConvTranspose2d))


def _analysis_output(model: ElicModel) -> nn.Conv2d:
    return [m for m in model.g_a if isinstance(m, nn.Conv2d)][-1]


def channel_importance(model: ElicModel, quality: float, slices: int | None = None) -> ChannelImportance:
    """Importance of every latent channel of ``model`` at ``quality`` (weights only)."""
    with torch.no_grad():
        spread = model.gain.gain(quality).flatten() * _analysis_output(model).weight.flatten(1).norm(dim=1)
        filters = _synthesis_input(model).weight.flatten(1)
        effect = model.inverse_gain.gain(quality).flatten() * filters.norm(dim=1)
        scores = spread * effect
        similarity = nn.functional.normalize(filters, dim=1) @ nn.functional.normalize(filters, dim=1).T
    order = torch.argsort(scores, descending=True).tolist()
    pairs = [(i, j) for i, j in torch.nonzero(torch.triu(similarity, 1) > 0.9).tolist()]
    return ChannelImportance(scores, order, _groups(scores[order], slices or len(model.config.groups)), pairs)


def _groups(sorted_scores: Tensor, slices: int) -> tuple[int, ...]:
    """Slice sizes (multiples of 8) that split the sorted importance into equal shares."""
    total = len(sorted_scores)
    cumulative = torch.cumsum(sorted_scores, 0) / sorted_scores.sum()
    bounds, previous = [], 0
    for k in range(1, slices):
        cut = int(torch.searchsorted(cumulative, torch.tensor(k / slices)).item()) + 1
        cut = max(previous + 8, min(total - 8 * (slices - k), (cut + 7) // 8 * 8))
        bounds.append(cut)
        previous = cut
    edges = [0, *bounds, total]
    return tuple(b - a for a, b in zip(edges, edges[1:]))


def _permute_attention(block: AttentionBlock, order: Tensor, channels: int) -> None:
    for module in block.modules():
        if isinstance(module, nn.Conv2d):
            if module.in_channels == channels:
                module.weight.copy_(module.weight[:, order])
            if module.out_channels == channels:
                module.weight.copy_(module.weight[order])
                module.bias.copy_(module.bias[order])


def reorder_channels(model: ElicModel, order: list[int]) -> None:
    """Permutes ``model``'s latent channels in place: new channel ``i`` is old ``order[i]``.

    The analysis output, the synthesis input, the gains and the hyper-analysis input are
    permuted exactly; the context networks keep their weights (fine-tune afterwards).
    """
    channels = model.config.M
    if sorted(order) != list(range(channels)):
        raise ValueError(f"order must be a permutation of 0..{channels - 1}")
    index = torch.tensor(order)
    with torch.no_grad():
        last = _analysis_output(model)
        last.weight.copy_(last.weight[index])
        last.bias.copy_(last.bias[index])
        for block in (*model.g_a, *model.g_s):
            if isinstance(block, AttentionBlock) and _block_channels(block) == channels:
                _permute_attention(block, index, channels)
        first = _synthesis_input(model)
        first.weight.copy_(first.weight[index])
        for gain in (model.gain, model.inverse_gain):
            gain.log_gain.copy_(gain.log_gain[:, index])
        hyper_input = model.hyper.h_a[0]
        hyper_input.weight.copy_(hyper_input.weight[:, index])


def _block_channels(block: AttentionBlock) -> int:
    return next(m for m in block.modules() if isinstance(m, nn.Conv2d)).in_channels
