"""The space-channel context model (lic/models/context.py): the coding schedule is causal,
each checkerboard pass depending only on what the decoder already has, and it uses that context."""

from __future__ import annotations

import pytest
import torch

from lic.entropy.range_coder import RangeEncoder
from lic.models.context import SliceParameters, anchor_mask, round_ste
from lic.models.registry import get_spec


def test_anchor_mask_is_a_checkerboard() -> None:
    mask = anchor_mask(5, 6, torch.device("cpu"))[0, 0]
    assert mask[0, 0] and not mask[0, 1] and not mask[1, 0] and mask[1, 1]
    assert torch.equal(mask[:, 1:], ~mask[:, :-1]) and torch.equal(mask[1:], ~mask[:-1])
    assert int(mask.sum()) == 15


def test_round_ste_rounds_forward_and_passes_gradients_straight_through() -> None:
    x = torch.tensor([0.4, 0.6, -1.5, 2.49], requires_grad=True)
    y = round_ste(x)
    assert torch.equal(y, torch.round(x.detach()))
    y.sum().backward()
    assert torch.equal(x.grad, torch.ones(4))


@pytest.fixture(scope="module")
def context_and_hyper():  # noqa: ANN201
    torch.manual_seed(0)
    model = get_spec("elic-tiny").build().eval()
    model.update_tables()
    y = torch.randn(1, model.config.M, 8, 12) * 4  # the latent of a 128 x 192 image
    with torch.no_grad():
        hyper = model.hyper.encode(y, RangeEncoder(1), fixed_point=True)
    return model.context, hyper, y


def _run_schedule(context, hyper: torch.Tensor, y: torch.Tensor) -> list[SliceParameters]:  # noqa: ANN001
    """The parameters of every pass of the coding schedule, coding the symbols of ``y``."""
    calls: list[SliceParameters] = []
    slices = y.double().split(context.groups, dim=1)

    def code(k: int, params: SliceParameters, selector: torch.Tensor) -> torch.Tensor:
        calls.append(SliceParameters(params.scales.clone(), params.means.clone()))
        return torch.round(slices[k][selector] - params.means) + params.means

    with torch.no_grad():
        context._schedule(hyper, code)
    return calls


def test_every_pass_depends_only_on_the_passes_before_it(context_and_hyper) -> None:  # noqa: ANN001
    """Changing one symbol leaves the parameters of its own pass and all earlier passes
    unchanged (the decoder cannot know it yet) and changes some later ones (the context is used)."""
    context, hyper, y = context_and_hyper
    groups = context.groups
    base = _run_schedule(context, hyper, y)
    assert len(base) == 2 * len(groups)
    starts = [sum(groups[:k]) for k in range(len(groups))]
    for k, first in enumerate(starts):
        for anchor, (row, col) in ((True, (2, 2)), (False, (2, 3))):  # (h + w) even: an anchor
            changed = y.clone()
            changed[0, first + groups[k] - 1, row, col] += 7.0
            calls = _run_schedule(context, hyper, changed)
            coded_in = 2 * k + (0 if anchor else 1)
            for i, (before, after) in enumerate(zip(base, calls)):
                same = torch.equal(before.scales, after.scales) and torch.equal(before.means, after.means)
                if i <= coded_in:
                    assert same, f"pass {i} depends on a symbol of pass {coded_in}"
            if coded_in + 1 < len(base):
                assert any(not torch.equal(b.means, a.means) or not torch.equal(b.scales, a.scales)
                           for b, a in zip(base[coded_in + 1 :], calls[coded_in + 1 :]))


def _pass_of(groups: tuple[int, ...], height: int, width: int) -> torch.Tensor:
    """``[M, H, W]``: the coding pass (2k anchors, 2k + 1 non-anchors of slice k) of every symbol."""
    anchors = anchor_mask(height, width, torch.device("cpu"))[0, 0]
    slices = torch.cat([torch.full((g, 1, 1), k) for k, g in enumerate(groups)])
    return 2 * slices + (~anchors).long()


def test_training_likelihoods_are_as_causal_as_coding(context_and_hyper) -> None:  # noqa: ANN001
    """The training pass sees the whole latent at once; a symbol's likelihood must still not
    depend on any symbol of its own pass or a later one (else training and coding differ)."""
    context, _, y = context_and_hyper
    hyper = torch.randn(1, context.param_aggregation[0][0].in_channels - 2 * context.groups[0], *y.shape[2:])
    passes = _pass_of(context.groups, *y.shape[2:])
    with torch.no_grad():
        _, base = context(y, hyper)
    generator = torch.Generator().manual_seed(0)
    for _ in range(12):
        channel, row, col = (int(torch.randint(n, (1,), generator=generator)) for n in y.shape[1:])
        changed = y.clone()
        changed[0, channel, row, col] += 7.0
        with torch.no_grad():
            _, likelihoods = context(changed, hyper)
        moved = (likelihoods != base)[0]
        moved[channel, row, col] = False  # its own probability changes with its value
        assert not moved[passes <= passes[channel, row, col]].any()
