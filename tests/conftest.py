"""Shared fixtures: random CDF tables, a tiny untrained model saved as weights."""

from __future__ import annotations

import os
import sys

# Triton kernels run on CPU tensors only in interpreter mode, which Triton reads when it and
# each kernel are first imported (torch imports Triton): set it before anything imports torch.
os.environ.setdefault("TRITON_INTERPRET", "1")
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

from lic.models.registry import get_spec
from lic.models.weights import LoadedModel, load_model, save_weights

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def random_tables(rng: np.random.Generator, count: int = 6,
                  max_symbols: int = 40) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``count`` random valid CDF tables (cdf, lengths, offsets) in lic's layout."""
    sizes = rng.integers(1, max_symbols, count)
    cdf = np.zeros((count, max_symbols + 2), np.int32)
    lengths = (sizes + 2).astype(np.int32)
    offsets = rng.integers(-20, 5, count).astype(np.int32)
    for t, n in enumerate(sizes):
        pmf = rng.random(n + 1) ** 3 + 1e-6
        freq = np.maximum(1, np.floor(pmf / pmf.sum() * (65536 - (n + 1)))).astype(np.int64)
        freq[np.argmax(freq)] += 65536 - freq.sum()
        cdf[t, : n + 2] = np.concatenate([[0], np.cumsum(freq)])
    return cdf, lengths, offsets


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Weights of the untrained ``elic-tiny`` model, saved like shipped weights."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "elic-tiny.safetensors"
    module = get_spec("elic-tiny").build()
    module.initialize_gains([0.0005, 0.5])  # quality 0 and 1 give clearly different rates
    save_weights("elic-tiny", module, path)
    return path


@pytest.fixture(scope="session")
def tiny_model(tiny_weights: Path) -> LoadedModel:
    return load_model("elic-tiny", tiny_weights)


@pytest.fixture(scope="session")
def overfit_model() -> LoadedModel:
    """The shipped ``overfit`` model (its CDF tables)."""
    return load_model("overfit")


def write_noise_images(folder: Path, count: int, size: tuple[int, int], seed: int = 1) -> Path:
    """Creates ``folder`` with ``count`` random-noise PNGs of ``size`` (rows, columns): training data for tiny runs."""
    from PIL import Image

    folder.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return folder
