"""Segmentation masks as privileged information for region-adaptive transforms (SegPIC).

The masks are Felzenszwalb-Huttenlocher graph segmentations (scikit-image) of each
training crop: class-agnostic, computed from the project's own training photos with no
labels or extra model, in milliseconds per crop. Graph-based segments follow colour and
texture boundaries, the regions where one set of transform statistics fits, unlike
regular superpixels (SLIC), which split flat areas into equal cells. They are used only
by the training loss below, never at coding time.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from lic.extras import import_optional
from lic.models.blocks import RegionAdaptiveTransform

SCALE = 100.0
"""Felzenszwalb's scale parameter: larger means fewer, bigger segments (about 20-60 per 128-px crop)."""
MIN_SIZE = 64
SAMPLES = 256


def segment_batch(x: Tensor) -> Tensor:
    """Integer segment labels ``[B, H, W]`` of a ``[B, 3, H, W]`` batch in ``[0, 1]``."""
    segmentation = import_optional("skimage.segmentation", "scikit-image", "train",
                                   "training with region masks (region-adaptive models)")
    pictures = (x.detach().float().clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy()
    labels = [segmentation.felzenszwalb(p, scale=SCALE, sigma=0.5, min_size=MIN_SIZE) for p in pictures]
    return torch.from_numpy(np.stack(labels).astype(np.int64))


def region_loss(model: torch.nn.Module, labels: Tensor, generator: torch.Generator) -> Tensor:
    """Mean over the model's region-adaptive transforms of an affinity loss: two positions
    in the same segment should fall in the same soft region, two in different segments in
    different ones (binary cross-entropy of ``a_i . a_j`` against "same segment", on
    :data:`SAMPLES` random positions per image; label-permutation invariant)."""
    losses = []
    for module in model.modules():
        if isinstance(module, RegionAdaptiveTransform) and module.assignment is not None:
            assignment = module.assignment.float()
            batch, regions, height, width = assignment.shape
            small = F.interpolate(labels[:, None].float(), size=(height, width), mode="nearest")[:, 0].long()
            count = min(SAMPLES, height * width)
            picks = torch.randint(height * width, (batch, count), generator=generator).to(assignment.device)
            a = torch.gather(assignment.reshape(batch, regions, -1), 2, picks[:, None].expand(-1, regions, -1))
            lab = torch.gather(small.reshape(batch, -1).to(assignment.device), 1, picks)
            affinity = torch.einsum("bkp,bkq->bpq", a, a).clamp(1e-6, 1 - 1e-6)
            same = (lab[:, :, None] == lab[:, None, :]).float()
            losses.append(F.binary_cross_entropy(affinity, same))
    if not losses:
        raise ValueError("the model has no region-adaptive transform to supervise")
    return torch.stack(losses).mean()


def has_regions(model: torch.nn.Module) -> bool:
    """Whether ``model`` has region-adaptive transforms (and so trains with masks)."""
    return any(isinstance(m, RegionAdaptiveTransform) for m in model.modules())
