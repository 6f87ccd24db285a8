"""The entropy models behind the coder (lic/entropy/priors.py): their integer CDF tables are
valid and shaped like the distributions they code, and coding through them is lossless."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lic.entropy.priors import SCALE_LEVELS, SCALE_MAX, SCALE_MIN, FactorizedPrior, GaussianPrior, scale_table
from lic.entropy.range_coder import PRECISION, RangeDecoder, RangeEncoder


@pytest.fixture(scope="module")
def gaussian() -> GaussianPrior:
    prior = GaussianPrior()
    prior.update_tables()
    return prior.eval()


@pytest.fixture(scope="module")
def factorized() -> FactorizedPrior:
    torch.manual_seed(0)
    prior = FactorizedPrior(4)
    optimizer = torch.optim.Adam(prior.parameters(), lr=1e-2)
    for _ in range(50):  # fit the quantiles a little, so the tables are those of a trained model
        z = torch.randn(8, 4, 8, 8) * torch.tensor([0.5, 1.0, 3.0, 8.0]).reshape(1, 4, 1, 1)
        _, likelihoods = prior(z)
        loss = -torch.log2(likelihoods).sum() / z.numel() + prior.aux_loss()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    prior.update_tables()
    return prior.eval()


def test_scale_table_is_log_spaced_between_its_bounds() -> None:
    table = np.array(scale_table())
    assert len(table) == SCALE_LEVELS
    assert table[0] == pytest.approx(SCALE_MIN) and table[-1] == pytest.approx(SCALE_MAX)
    np.testing.assert_allclose(np.diff(np.log(table)), math.log(SCALE_MAX / SCALE_MIN) / (SCALE_LEVELS - 1),
                               rtol=1e-4)


def _check_tables(prior: GaussianPrior | FactorizedPrior) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tables = prior.tables()
    for row, length in zip(tables.cdf, tables.lengths):
        cdf = row[:length]
        assert cdf[0] == 0 and cdf[-1] == 1 << PRECISION
        assert (np.diff(cdf) > 0).all()  # every symbol, the escape included, has a non-zero frequency
    return tables.cdf, tables.lengths, tables.offsets


def test_gaussian_tables_are_valid_centred_and_widen_with_the_scale(gaussian: GaussianPrior) -> None:
    cdf, lengths, offsets = _check_tables(gaussian)
    assert len(lengths) == SCALE_LEVELS
    assert (np.diff(lengths) >= 0).all() and lengths[-1] > 10 * lengths[0]
    centre = -offsets
    np.testing.assert_array_equal(lengths - 2, 2 * centre + 1)  # symmetric range around 0, plus the escape
    peak = np.array([cdf[t, c + 1] - cdf[t, c] for t, c in enumerate(centre)])
    assert (np.diff(peak) <= 0).all()  # P(0) falls as the scale grows
    for t in (0, 20, 40, 63):
        freq = np.diff(cdf[t, : lengths[t] - 1])  # without the escape
        np.testing.assert_allclose(freq, freq[::-1], atol=16)  # symmetric up to the integer fix-up (of 65536)
        expected = math.erf(0.5 / (math.sqrt(2) * scale_table()[t]))  # mass of [-0.5, 0.5]
        assert peak[t] / (1 << PRECISION) == pytest.approx(expected, rel=0.02, abs=2 / (1 << PRECISION))


def test_gaussian_table_choice_matches_compressai(gaussian: GaussianPrior) -> None:
    table = torch.tensor(scale_table())
    scales = torch.cat([torch.rand(2000) * 300, table, table * 1.0001, torch.tensor([0.0, 0.05, 1e6])])
    ours = gaussian.table_indexes(scales)
    assert torch.equal(ours, gaussian.trainable().build_indexes(scales))
    assert (table[ours.long()] >= torch.minimum(scales, table[-1]) * (1 - 1e-6)).all()  # coded with a wider table


def test_factorized_tables_hold_the_fitted_mass(factorized: FactorizedPrior) -> None:
    _check_tables(factorized)
    z = torch.arange(-60, 61, dtype=torch.float32).reshape(1, 1, -1, 1).expand(1, 4, -1, 1)
    medians = factorized.model._get_medians().reshape(1, 4, 1, 1)
    _, likelihoods = factorized(z + medians.round())
    mass = likelihoods.sum(dim=(0, 2, 3))
    np.testing.assert_allclose(mass.detach().numpy(), 1.0, atol=1e-3)


def test_coding_through_both_priors_is_lossless(gaussian: GaussianPrior, factorized: FactorizedPrior) -> None:
    generator = torch.Generator().manual_seed(0)
    z = torch.randn(1, 4, 5, 6, generator=generator) * 4
    scales = torch.rand(300, generator=generator) * 20
    means = torch.randn(300, generator=generator) * 5
    y = means + scales * torch.randn(300, generator=generator)
    y[:3] = torch.tensor([1e4, -1e4, 500.0])  # far outside every table: the escape path
    encoder = RangeEncoder(2)
    z_hat = factorized.encode(z, encoder)
    y_hat = gaussian.encode(y, scales, means, encoder)
    decoder = RangeDecoder(encoder.finish())
    assert torch.equal(factorized.decode(decoder, z.shape, torch.device("cpu")), z_hat)
    assert torch.equal(gaussian.decode(decoder, scales, means), y_hat)
    assert torch.equal(torch.round(y_hat - means), torch.round(y - means))
