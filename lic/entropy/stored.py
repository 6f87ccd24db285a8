"""Entropy models as a weights file stores them: CompressAI's parameter and buffer layout,
without CompressAI's maths and without importing it.

Coding needs only the integer CDF tables, the medians of the factorized prior and the
scale table; training needs CompressAI's likelihoods and table builder. A model built
for loading (:func:`lic.entropy.priors.stored_entropy_models`) holds these containers,
``load_state_dict`` fills them from the weights, and the priors swap in the CompressAI
model (:meth:`lic.entropy.priors._TableOwner.trainable`) the first time training-time
maths is asked for (encode-time latent refinement, rebuilding tables). Importing
``compressai`` runs its package ``__init__``, which imports ``torch_geometric`` and its
data sets: about 2 s that a plain encode or decode no longer pays.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

TABLE_BUFFERS = ("_offset", "_quantized_cdf", "_cdf_length")
"""The integer tables of every CompressAI entropy model (empty until filled)."""


class _Bound(nn.Module):
    """The stored buffer of a CompressAI ``LowerBound``."""

    def __init__(self, bound: float) -> None:
        super().__init__()
        self.register_buffer("bound", torch.tensor([float(bound)]))


class StoredEntropyModel(nn.Module):
    """What every CompressAI ``EntropyModel`` stores: a likelihood bound and the CDF tables."""

    def __init__(self) -> None:
        super().__init__()
        self.likelihood_lower_bound = _Bound(1e-9)
        for name in TABLE_BUFFERS:
            self.register_buffer(name, torch.zeros(0, dtype=torch.int32))


class StoredBottleneck(StoredEntropyModel):
    """The stored form of CompressAI's ``EntropyBottleneck(channels, filters=(3, 3, 3, 3))``."""

    def __init__(self, channels: int, filters: tuple[int, ...] = (3, 3, 3, 3)) -> None:
        super().__init__()
        self.channels = int(channels)
        widths = (1, *filters, 1)
        layers = range(len(widths) - 1)
        self.matrices = nn.ParameterList(nn.Parameter(torch.zeros(channels, widths[i + 1], widths[i])) for i in layers)
        self.biases = nn.ParameterList(nn.Parameter(torch.zeros(channels, widths[i + 1], 1)) for i in layers)
        self.factors = nn.ParameterList(nn.Parameter(torch.zeros(channels, widths[i + 1], 1)) for i in layers[:-1])
        self.quantiles = nn.Parameter(torch.zeros(channels, 1, 3))
        self.register_buffer("target", torch.zeros(3))

    def _get_medians(self) -> Tensor:
        """The channel medians ``[C, 1, 1]``, as CompressAI's ``EntropyBottleneck`` gives them."""
        return self.quantiles[:, :, 1:2]


class StoredGaussian(StoredEntropyModel):
    """The stored form of CompressAI's ``GaussianConditional(scale_table)``."""

    def __init__(self, scale_table: list[float], scale_bound: float = 0.11) -> None:
        super().__init__()
        self.lower_bound_scale = _Bound(scale_bound)
        self.register_buffer("scale_table", torch.tensor(scale_table, dtype=torch.float32))
        self.register_buffer("scale_bound", torch.tensor([float(scale_bound)]))
