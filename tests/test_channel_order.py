"""Parameter-guided channel ordering (ISCS): importance from weights, exact reordering."""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from test_cli import assert_one_line_error, run_lic

from lic.models.channel_order import channel_importance, reorder_channels
from lic.models.weights import LoadedModel, load_model


def test_importance_orders_every_channel_into_uneven_slices(tiny_model: LoadedModel) -> None:
    module = tiny_model.module
    importance = channel_importance(module, 0.5)
    channels = module.config.M
    assert sorted(importance.order) == list(range(channels))
    scores = importance.scores[importance.order]
    assert bool((scores[:-1] >= scores[1:]).all())
    assert sum(importance.groups) == channels and len(importance.groups) == len(module.config.groups)
    assert all(g >= 8 and g % 8 == 0 for g in importance.groups)


def test_reordering_permutes_transforms_gains_and_hyper_analysis_exactly(tiny_model: LoadedModel) -> None:
    torch.manual_seed(0)
    module = tiny_model.module
    order = torch.randperm(module.config.M).tolist()
    reordered = copy.deepcopy(module)
    reorder_channels(reordered, order)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        y = module.analyze(x, 0.7)
        torch.testing.assert_close(reordered.analyze(x, 0.7), y[:, order])
        torch.testing.assert_close(reordered.synthesize(y[:, order], 0.7), module.synthesize(y, 0.7))
        torch.testing.assert_close(reordered.hyper.h_a(y[:, order]), module.hyper.h_a(y))


def test_cli_reorder_channels_writes_loadable_weights(tmp_path: Path, tiny_weights: Path) -> None:
    result = run_lic("reorder-channels", "--model", "elic-tiny", "--weights", str(tiny_weights), "-q", "0.5",
                     "-o", "r.safetensors", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "slices of equal importance" in result.stdout and "fine-tuned" in result.stdout
    model = load_model("elic-tiny", tmp_path / "r.safetensors")
    assert "reordered" in model.metadata["lic.training"]
    assert_one_line_error(run_lic("reorder-channels", "--model", "elic-tiny", "--weights", str(tiny_weights),
                                  "-o", "r.safetensors", cwd=tmp_path), "exists")
