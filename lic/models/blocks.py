"""Transform blocks from the research lic builds on, interchangeable in the ELIC transforms.

* :class:`SwinV2Stage` (S2LIC): shifted-window attention with scaled cosine attention
  and a log-spaced continuous relative position bias (Swin Transformer V2), in a
  residual stage. Works on any size: feature maps are padded to whole windows.
* :class:`TokenMixerBlock` (MLICv2's MetaFormer-style block): a cheap depth-wise
  convolution as spatial token mixer plus a channel MLP, each with a residual.
* :class:`ChannelReweighting` (MLICv2): ECA-style channel attention (global pooling,
  1-D convolution across channels, sigmoid gate) for the entropy-model contexts.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _relative_coordinates(window: int) -> tuple[Tensor, Tensor]:
    """Log-spaced relative coordinates table ``[(2w-1)^2, 2]`` and the index ``[w^2, w^2]`` into it."""
    span = torch.arange(-(window - 1), window, dtype=torch.float32)
    table = torch.stack(torch.meshgrid(span, span, indexing="ij"), dim=-1).reshape(-1, 2)
    table = table / max(window - 1, 1) * 8
    table = torch.sign(table) * torch.log2(table.abs() + 1.0) / math.log2(8)
    coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
    relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
    index = relative[..., 0] * (2 * window - 1) + relative[..., 1]
    return table, index


class WindowAttentionV2(nn.Module):
    """Multi-head self-attention inside windows, SwinV2 style (cosine similarity with a
    learned per-head temperature, continuous position bias from a small MLP)."""

    def __init__(self, dim: int, window: int, heads: int) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones(heads, 1, 1)))
        self.cpb_mlp = nn.Sequential(nn.Linear(2, 256), nn.ReLU(inplace=True), nn.Linear(256, heads, bias=False))
        table, index = _relative_coordinates(window)
        self.register_buffer("coords_table", table, persistent=False)
        self.register_buffer("position_index", index, persistent=False)
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim))
        self.v_bias = nn.Parameter(torch.zeros(dim))
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        """``x``: ``[windows * B, N, C]``; ``mask``: ``[windows, N, N]`` additive, or None."""
        batch, tokens, dim = x.shape
        bias = torch.cat([self.q_bias, torch.zeros_like(self.v_bias), self.v_bias])
        qkv = F.linear(x, self.qkv.weight, bias).reshape(batch, tokens, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        attn = attn * torch.clamp(self.logit_scale, max=math.log(100.0)).exp()
        position = self.cpb_mlp(self.coords_table)[self.position_index.reshape(-1)]
        position = 16 * torch.sigmoid(position.reshape(tokens, tokens, -1).permute(2, 0, 1))
        attn = attn + position.unsqueeze(0)
        if mask is not None:
            windows = mask.shape[0]
            attn = attn.reshape(batch // windows, windows, self.heads, tokens, tokens) + mask[None, :, None]
            attn = attn.reshape(batch, self.heads, tokens, tokens)
        out = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(batch, tokens, dim)
        return self.proj(out)


def _shift_mask(height: int, width: int, window: int, shift: int, device: torch.device) -> Tensor:
    """Additive mask that stops shifted windows from attending across the wrap-around."""
    region = torch.zeros(height, width, device=device)
    label = 0
    for hs in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
        for ws in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
            region[hs, ws] = label
            label += 1
    windows = region.reshape(height // window, window, width // window, window).permute(0, 2, 1, 3)
    windows = windows.reshape(-1, window * window)
    different = windows[:, None, :] != windows[:, :, None]
    return torch.zeros_like(different, dtype=torch.float32).masked_fill(different, -100.0)


class SwinV2Block(nn.Module):
    """One (shifted-)window attention block with post-normalisation and an MLP (SwinV2)."""

    def __init__(self, dim: int, heads: int, window: int, shift: int, mlp_ratio: float = 2.0) -> None:
        super().__init__()
        self.window, self.shift = window, shift
        self.attn = WindowAttentionV2(dim, window, heads)
        self.norm1 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, x: Tensor) -> Tensor:
        """``x``: ``[B, C, H, W]`` of any size."""
        batch, dim, height, width = x.shape
        w = self.window
        pad_h, pad_w = -height % w, -width % w
        tokens = F.pad(x, (0, pad_w, 0, pad_h)).permute(0, 2, 3, 1)  # B, H', W', C
        hp, wp = height + pad_h, width + pad_w
        shift = self.shift if min(hp, wp) > w else 0
        shifted = torch.roll(tokens, (-shift, -shift), dims=(1, 2)) if shift else tokens
        windows = shifted.reshape(batch, hp // w, w, wp // w, w, dim).permute(0, 1, 3, 2, 4, 5).reshape(-1, w * w, dim)
        mask = _shift_mask(hp, wp, w, shift, x.device) if shift else None
        windows = windows + self.norm1(self.attn(windows, mask))
        windows = windows + self.norm2(self.mlp(windows))
        merged = windows.reshape(batch, hp // w, wp // w, w, w, dim).permute(0, 1, 3, 2, 4, 5)
        merged = merged.reshape(batch, hp, wp, dim)
        if shift:
            merged = torch.roll(merged, (shift, shift), dims=(1, 2))
        return merged[:, :height, :width].permute(0, 3, 1, 2).contiguous()


class SwinV2Stage(nn.Module):
    """S2LIC's residual SwinV2 stage: a window block and a shifted-window block, a 3x3
    convolution, and a residual connection around them."""

    def __init__(self, dim: int, heads: int = 4, window: int = 8) -> None:
        super().__init__()
        self.blocks = nn.Sequential(SwinV2Block(dim, heads, window, 0), SwinV2Block(dim, heads, window, window // 2))
        self.conv = nn.Conv2d(dim, dim, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(self.blocks(x))


class TokenMixerBlock(nn.Module):
    """MetaFormer block: ``x + DWConv(norm(x))``, then ``x + MLP(norm(x))`` with 1x1 convolutions."""

    def __init__(self, dim: int, kernel: int = 7, expansion: int = 2) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(1, dim)
        self.mixer = nn.Conv2d(dim, dim, kernel, padding=kernel // 2, groups=dim)
        self.norm2 = nn.GroupNorm(1, dim)
        self.mlp = nn.Sequential(nn.Conv2d(dim, dim * expansion, 1), nn.GELU(), nn.Conv2d(dim * expansion, dim, 1))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.mixer(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ChannelReweighting(nn.Module):
    """ECA-style channel attention: ``x * sigmoid(conv1d(mean_hw(x)))``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        kernel = max(3, int(abs(math.log2(channels) + 1) / 2) // 2 * 2 + 1)
        self.conv = nn.Conv1d(1, 1, kernel, padding=kernel // 2, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        weights = self.conv(x.mean(dim=(2, 3)).unsqueeze(1)).squeeze(1)
        return x * torch.sigmoid(weights)[:, :, None, None]


class SliceAttention(nn.Module):
    """Windowed attention over the slices decoded so far (S2LIC's inter-slice context,
    in windows so its cost stays linear in the image size): 1x1 projection, a window and a
    shifted-window SwinV2 block, 1x1 projection to the context channels."""

    def __init__(self, in_channels: int, out_channels: int, dim: int, heads: int = 4, window: int = 8) -> None:
        super().__init__()
        self.inp = nn.Conv2d(in_channels, dim, 1)
        self.blocks = nn.Sequential(SwinV2Block(dim, heads, window, 0), SwinV2Block(dim, heads, window, window // 2))
        self.out = nn.Conv2d(dim, out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.out(self.blocks(self.inp(x)))


class ContextPositionalEmbedding(nn.Module):
    """Positional embedding for the context model (MLICv2): adds a learned projection of
    sinusoids of each latent position's row and column to the hyper features.

    The sinusoids have periods of 2, 4, ... ``2**frequencies`` latents (absolute latent
    coordinates, so a position means the same at any image size); the projection is
    zero-initialised, so the block starts as the identity.
    """

    def __init__(self, channels: int, frequencies: int = 4) -> None:
        super().__init__()
        self.frequencies = frequencies
        self.project = nn.Conv2d(4 * frequencies, channels, 1)
        nn.init.zeros_(self.project.weight)
        nn.init.zeros_(self.project.bias)

    def sinusoids(self, height: int, width: int, device: torch.device) -> Tensor:
        """``[1, 4 * frequencies, height, width]``: sin and cos of the row, then of the column."""
        periods = 2.0 ** torch.arange(1, self.frequencies + 1, device=device, dtype=torch.float32)
        rows = torch.arange(height, device=device, dtype=torch.float32)[None, :] * (2 * math.pi) / periods[:, None]
        cols = torch.arange(width, device=device, dtype=torch.float32)[None, :] * (2 * math.pi) / periods[:, None]
        row_features = torch.cat([rows.sin(), rows.cos()])[:, :, None].expand(-1, height, width)
        col_features = torch.cat([cols.sin(), cols.cos()])[:, None, :].expand(-1, height, width)
        return torch.cat([row_features, col_features])[None]

    def forward(self, hyper: Tensor) -> Tensor:
        """``hyper`` ``[B, C, H, W]`` plus the embedding of its positions."""
        features = self.sinusoids(hyper.shape[2], hyper.shape[3], hyper.device).to(hyper.dtype)
        return hyper + self.project(features)


class GlobalHyperContext(nn.Module):
    """A context for the first slice, which has no decoded slices before it: global statistics
    of the hyperprior features (mean over the image) mapped to per-channel features (after
    MLICv2's hyperprior-guided global correlation prediction)."""

    def __init__(self, hyper_channels: int, out_channels: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(2 * hyper_channels, hyper_channels), nn.ReLU(inplace=True),
                                 nn.Linear(hyper_channels, out_channels))

    def forward(self, hyper: Tensor) -> Tensor:
        stats = torch.cat([hyper.mean(dim=(2, 3)), hyper.std(dim=(2, 3), unbiased=False)], dim=1)
        return self.mlp(stats)[:, :, None, None].expand(-1, -1, *hyper.shape[2:])


class RegionAdaptiveTransform(nn.Module):
    """SegPIC's region-adaptive transform with scale affine layers, masks learned in place.

    A 3x3 convolution assigns every position softly to ``regions`` regions; each region's
    mean feature gives a per-channel scale and shift (the scale affine layer, zero-initialised
    so the block starts as the identity), applied where the region lies:
    ``x * (1 + sum_k a_k gamma_k) + sum_k a_k beta_k``. Segmentation masks are privileged
    information: in training they supervise the soft assignment (:func:`lic.train.regions.region_loss`,
    reading :attr:`assignment`); coding never needs them, so nothing about them is sent.
    """

    def __init__(self, channels: int, regions: int = 8) -> None:
        super().__init__()
        self.assign = nn.Conv2d(channels, regions, 3, padding=1)
        self.affine = nn.Sequential(nn.Linear(channels, channels), nn.GELU(), nn.Linear(channels, 2 * channels))
        nn.init.zeros_(self.affine[-1].weight)
        nn.init.zeros_(self.affine[-1].bias)
        self.assignment: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        """``x``: ``[B, C, H, W]``; the soft assignment of a training pass stays in :attr:`assignment`."""
        assignment = torch.softmax(self.assign(x), dim=1)
        mass = assignment.sum(dim=(2, 3)).unsqueeze(-1) + 1e-6
        region = torch.einsum("bkhw,bchw->bkc", assignment, x) / mass
        gamma, beta = self.affine(region).chunk(2, dim=-1)
        scale = torch.einsum("bkhw,bkc->bchw", assignment, gamma)
        shift = torch.einsum("bkhw,bkc->bchw", assignment, beta)
        self.assignment = assignment if self.training else None
        return x * (1 + scale) + shift
