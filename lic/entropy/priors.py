"""Entropy models whose integer CDF tables drive lic's range coder.

Both wrap CompressAI's building blocks (``EntropyBottleneck`` and
``GaussianConditional``) for training-time likelihoods, and add the coding path
through :mod:`lic.entropy.range_coder`. Their CDF tables are computed once from
the weights (``update_tables``) and stored with the weights, so an encoder and a
decoder always use the very same integers.

A model built inside :func:`stored_entropy_models` (as :func:`lic.models.weights.load_model`
does) starts with the stored forms of :mod:`lic.entropy.stored`, so coding never imports
CompressAI; the CompressAI model is swapped in on first training-time use.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
import torch
from torch import Tensor, nn

from lic.entropy.range_coder import CdfTables, RangeDecoder, RangeEncoder
from lic.entropy.stored import TABLE_BUFFERS, StoredBottleneck, StoredEntropyModel, StoredGaussian

SCALE_MIN = 0.11
SCALE_MAX = 256.0
SCALE_LEVELS = 64


def scale_table(smin: float = SCALE_MIN, smax: float = SCALE_MAX, levels: int = SCALE_LEVELS) -> list[float]:
    """Log-spaced Gaussian scales; a scale is coded with the table of the next scale up."""
    return torch.exp(torch.linspace(np.log(smin), np.log(smax), levels)).tolist()


_BUILDING_FOR_LOADING: ContextVar[bool] = ContextVar("lic_building_for_loading", default=False)


@contextmanager
def stored_entropy_models() -> Iterator[None]:
    """Priors built inside hold stored forms (no CompressAI import); for models whose weights are loaded next."""
    token = _BUILDING_FOR_LOADING.set(True)
    try:
        yield
    finally:
        _BUILDING_FOR_LOADING.reset(token)


class _TableOwner(nn.Module):
    """Holds an ``EntropyModel`` (or its stored form) and the :class:`CdfTables` built from its buffers."""

    model: nn.Module

    def __init__(self) -> None:
        super().__init__()
        self._tables: CdfTables | None = None

    def _initial_model(self) -> nn.Module:
        """The stored form inside :func:`stored_entropy_models`, else a fresh CompressAI model."""
        return self._stored_model() if _BUILDING_FOR_LOADING.get() else self._compressai_model()

    def _stored_model(self) -> StoredEntropyModel:
        raise NotImplementedError

    def _compressai_model(self) -> nn.Module:
        raise NotImplementedError

    def trainable(self) -> nn.Module:
        """The CompressAI entropy model (likelihoods, table building), swapped in for a stored form on first use."""
        if isinstance(self.model, StoredEntropyModel):
            state = self.model.state_dict()
            device = state["scale_bound" if "scale_bound" in state else "quantiles"].device
            with torch.random.fork_rng(devices=[]):  # its random initialisation is overwritten at once
                model = self._compressai_model()
            for name in TABLE_BUFFERS:
                getattr(model, name).resize_(state[name].shape)
            model.load_state_dict(state)
            self.model = model.to(device).train(self.model.training)
        return self.model

    def tables(self) -> CdfTables:
        """The CDF tables, validated once and cached."""
        if self._tables is None:
            if self.model._quantized_cdf.numel() == 0:
                raise RuntimeError("CDF tables are not built: call update_tables() first")
            self._tables = CdfTables(
                self.model._quantized_cdf.cpu().numpy(),
                self.model._cdf_length.cpu().numpy(),
                self.model._offset.cpu().numpy(),
            )
        return self._tables

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: object, **kwargs: object) -> None:
        for name in TABLE_BUFFERS:
            stored = state_dict.get(f"{prefix}model.{name}")
            if stored is not None:
                getattr(self.model, name).resize_(stored.shape)
        self._tables = None
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class FactorizedPrior(_TableOwner):
    """Fully factorized, per-channel prior for hyper-latents ``z`` (Ballé et al. 2018)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.model = self._initial_model()

    def _stored_model(self) -> StoredEntropyModel:
        return StoredBottleneck(self.channels)

    def _compressai_model(self) -> nn.Module:
        from compressai.entropy_models import EntropyBottleneck

        return EntropyBottleneck(self.channels)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """Returns ``(z_hat, likelihoods)``: noisy ``z`` in training, rounded otherwise (float32)."""
        model = self.trainable()
        with torch.autocast(z.device.type, enabled=False):
            return model(z.float())

    def aux_loss(self) -> Tensor:
        """Loss that fits the quantiles used to bound the CDF tables."""
        return self.trainable().loss()

    def update_tables(self) -> None:
        """Recomputes the integer CDF tables from the current weights."""
        self.trainable().update(force=True)
        self._tables = None

    def _medians(self, z: Tensor) -> Tensor:
        return self.model._get_medians().reshape(1, -1, 1, 1).to(z.dtype)

    def _indexes(self, shape: torch.Size) -> np.ndarray:
        channel = np.arange(shape[1], dtype=np.int32).reshape(1, -1, 1, 1)
        return np.broadcast_to(channel, tuple(shape)).reshape(-1)

    def encode(self, z: Tensor, encoder: RangeEncoder) -> Tensor:
        """Queues ``z`` (rounded around the channel medians); returns ``z_hat``."""
        medians = self._medians(z)
        symbols = torch.round(z - medians)
        encoder.encode(symbols.to(torch.int32).cpu().numpy(), self._indexes(z.shape), self.tables())
        return symbols + medians

    def decode(self, decoder: RangeDecoder, shape: torch.Size, device: torch.device) -> Tensor:
        """Decodes a ``z_hat`` of ``shape`` (``[1, C, h, w]``)."""
        values = decoder.decode(self._indexes(shape), self.tables())
        symbols = torch.from_numpy(values.astype(np.float32)).reshape(shape).to(device)
        medians = self.model._get_medians().reshape(1, -1, 1, 1).to(device)
        return symbols + medians


class GaussianPrior(_TableOwner):
    """Conditional Gaussian prior with a quantized scale table and predicted means."""

    def __init__(self) -> None:
        super().__init__()
        self.model = self._initial_model()

    def _stored_model(self) -> StoredEntropyModel:
        return StoredGaussian(scale_table())

    def _compressai_model(self) -> nn.Module:
        from compressai.entropy_models import GaussianConditional

        return GaussianConditional(scale_table())

    def likelihood(self, y: Tensor, scales: Tensor, means: Tensor) -> Tensor:
        """Probability mass of the unit bin around each ``y`` under N(means, scales), in float32."""
        model = self.trainable()
        with torch.autocast(y.device.type, enabled=False):
            return model.likelihood_lower_bound(model._likelihood(y.float(), scales.float(), means.float()))

    def update_tables(self) -> None:
        """Recomputes the integer CDF tables of the scale table."""
        self.trainable().update()
        self._tables = None

    def table_bounds(self, device: torch.device) -> Tensor:
        """The scale table without its last entry, float64: a scale's table is the number of these below it."""
        return self.model.scale_table[:-1].to(device, torch.float64)

    def table_indexes(self, scales: Tensor) -> Tensor:
        """Table of each scale: the first scale-table entry ``>= scale`` (the last one above all).

        Same numbers as CompressAI's ``build_indexes`` (which loops over the 64 entries),
        in one ``bucketize``; scales below the table's first entry take table 0.
        """
        return torch.bucketize(scales.to(torch.float64), self.table_bounds(scales.device)).to(torch.int32)

    def encode(self, y: Tensor, scales: Tensor, means: Tensor, encoder: RangeEncoder,
               indexes: Tensor | None = None) -> Tensor:
        """Queues ``round(y - means)`` with the table of each scale; returns ``y_hat``.

        ``indexes``: the scales' :meth:`table_indexes` when already computed (by a kernel).
        """
        symbols = torch.round(y - means)
        indexes = self.table_indexes(scales) if indexes is None else indexes
        encoder.encode(symbols.to(torch.int32).cpu().numpy(), indexes.cpu().numpy(), self.tables())
        return symbols + means

    def decode(self, decoder: RangeDecoder, scales: Tensor, means: Tensor, indexes: Tensor | None = None) -> Tensor:
        """Decodes ``y_hat`` for the given (flat) scales and means (and their table ``indexes``, if known)."""
        indexes = self.table_indexes(scales) if indexes is None else indexes
        values = decoder.decode(indexes.cpu().numpy(), self.tables())
        symbols = torch.from_numpy(values.astype(np.float64)).to(means.device, means.dtype)
        return symbols.reshape(means.shape) + means
