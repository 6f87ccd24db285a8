"""The overfitted image mode (lic encode --mode overfit): exactness, the C++ ARM, hostile streams."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import lic
from lic.codec.image import decode_image
from lic.codec.overfit import OverfitEncoded, encode_overfit
from lic.codec.overfit_fit import FitConfig, soft_round
from lic.entropy import _rans
from lic.errors import CorruptStreamError, LicError, UnsupportedStreamError
from lic.format.container import read_image_stream, write_image_stream
from lic.models.overfit import CONTEXT, ExactNetwork, OverfitShape, symmetric_kernel
from lic.models.row_mlp import context_rows
from lic.models.weights import LoadedModel

SHAPE = OverfitShape(grids=4, arm_width=8, arm_layers=2, synthesis_width=8)


def _image(height: int, width: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 5, y * 7, (x + y) * 3], axis=-1) % 256
    return np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def model(overfit_model: LoadedModel) -> LoadedModel:
    return overfit_model


@pytest.fixture(scope="module")
def encoded(model: LoadedModel) -> tuple[np.ndarray, OverfitEncoded]:
    pixels = _image(20, 36)
    return pixels, encode_overfit(pixels, model, 5.0, FitConfig(steps=40, shape=SHAPE))


def test_round_trip_is_bit_exact(model: LoadedModel, encoded) -> None:  # noqa: ANN001
    pixels, result = encoded
    decoded, header = decode_image(result.data, model)
    assert header.model == "overfit" and (header.width, header.height) == (36, 20)
    assert np.array_equal(decoded, result.reconstruction)
    assert decoded.shape == pixels.shape
    mse = np.mean((decoded.astype(float) - pixels.astype(float)) ** 2)
    assert mse < np.var(pixels.astype(float))  # the fit learned more than the mean colour


def decoded_with_one_and_two_threads(data: bytes, model: LoadedModel) -> tuple[np.ndarray, np.ndarray]:
    """The pixels of ``data`` decoded with 1 and with 2 torch threads."""
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one, _ = decode_image(data, model)
        torch.set_num_threads(2)
        two, _ = decode_image(data, model)
    finally:
        torch.set_num_threads(previous)
    return one, two


def test_decode_identical_with_one_and_two_threads(model: LoadedModel, encoded) -> None:  # noqa: ANN001
    _, result = encoded
    one, two = decoded_with_one_and_two_threads(result.data, model)
    assert np.array_equal(one, two) and np.array_equal(one, result.reconstruction)


def test_grayscale_round_trip(model: LoadedModel) -> None:
    pixels = _image(17, 23)[:, :, 1]
    result = encode_overfit(pixels, model, 2.0, FitConfig(steps=5, shape=SHAPE))
    decoded, _ = decode_image(result.data, model)
    assert decoded.shape == (17, 23) and np.array_equal(decoded, result.reconstruction)


def test_kernels_are_symmetric_and_streams_of_full_kernels_still_decode(model: LoadedModel) -> None:
    """Bit 7 of the grids byte says the kernel form; streams written before the symmetric form decode."""
    kernel = symmetric_kernel(torch.arange(10.0))[0, 0]
    assert all(torch.equal(kernel, k) for k in (kernel.flip(0), kernel.flip(1), kernel.t()))
    assert sorted(kernel.unique().tolist()) == list(range(10))
    pixels = _image(16, 24)
    for symmetric, first_byte in ((True, 0x80 | SHAPE.grids), (False, SHAPE.grids)):
        shape = dataclasses.replace(SHAPE, symmetric_kernels=symmetric)
        result = encode_overfit(pixels, model, 4.0, FitConfig(steps=5, shape=shape))
        assert read_image_stream(result.data)[1][0][0][0] == first_byte
        decoded, _ = decode_image(result.data, model)
        assert np.array_equal(decoded, result.reconstruction)


@pytest.mark.parametrize("sharpness", [0.5, 3.0, 12.5])
def test_soft_round_equals_its_expression_with_its_gradient(sharpness: float) -> None:
    y = (torch.randn(2000, dtype=torch.float64) * 3).requires_grad_()
    floor = torch.floor(y)
    expected = floor + 0.5 + torch.tanh(sharpness * (y - floor - 0.5)) / (2 * math.tanh(sharpness / 2))
    got = soft_round(y, sharpness)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(torch.autograd.grad(got.sum(), y)[0], torch.autograd.grad(expected.sum(), y)[0])
    assert torch.autograd.gradcheck(lambda v: soft_round(v, sharpness), (y[:20].detach().clone().requires_grad_(),))


def test_hard_rounding_phase_moves_latents_at_its_own_rate() -> None:
    """The hard phase's latent learning rate is FitConfig.hard_latent_lr (0: the networks alone adapt)."""
    from lic.codec.overfit_fit import _Phase, _run_phase
    from lic.models.overfit import OverfitConfig, OverfitNetwork, grid_sizes

    torch.manual_seed(0)
    target = torch.from_numpy(_image(8, 12)).permute(2, 0, 1)[None].float() / 255
    start = [torch.randn(h, w) * 3 for h, w in grid_sizes(12, 8, SHAPE.grids)]
    moved = []
    for rate in (0.0, 0.1):
        fit = FitConfig(steps=4, warmup=1, hard_fraction=1.0, hard_latent_lr=rate, shape=SHAPE)
        network = OverfitNetwork(SHAPE)
        before = [p.detach().clone() for p in network.parameters()]
        phase = _Phase.start(target, network, start, fit)
        fitted = _run_phase(phase, 0, 1e-3, 4, fit, OverfitConfig(), None, 0, 4, hard=True)
        moved.append(any(not torch.equal(a, b) for a, b in zip(fitted.latents, start)))
        assert any(not torch.equal(a, b.detach()) for a, b in zip(before, network.parameters()))
    assert moved == [False, True]


def test_the_divergence_guard_leaves_a_converging_fit_unchanged() -> None:
    from lic.codec.overfit_fit import fit_image
    from lic.models.overfit import OverfitConfig

    pixels = _image(16, 20)
    fit = FitConfig(steps=80, coarse_steps=30, shape=SHAPE)  # several guard windows in each phase
    guarded = fit_image(pixels, 1e-3, fit, OverfitConfig())
    plain = fit_image(pixels, 1e-3, dataclasses.replace(fit, rollback=0), OverfitConfig())
    assert all(torch.equal(a, b) for a, b in zip(guarded.latents, plain.latents, strict=True))
    assert all(torch.equal(a, b) for a, b in zip(guarded.network.tensors(), plain.network.tensors(), strict=True))


def test_the_divergence_guard_restores_the_best_state_and_halves_the_rates() -> None:
    from lic.codec.overfit_fit import GUARD_WINDOW, DivergenceGuard, _Phase
    from lic.models.overfit import OverfitNetwork

    target = torch.from_numpy(_image(8, 12)).permute(2, 0, 1)[None].float() / 255
    phase = _Phase.start(target, OverfitNetwork(SHAPE), None, FitConfig(shape=SHAPE))
    guard = DivergenceGuard(phase, rollback=2.0)
    for _ in range(GUARD_WINDOW):
        guard.observe(torch.tensor(1.0))  # the best window: its state is kept
    good = [y.detach().clone() for y in phase.latents], [t.detach().clone() for t in phase.network.tensors()]
    with torch.no_grad():  # the fit leaves its basin
        for t in [*phase.latents, *phase.network.parameters()]:
            t.add_(5.0)
    for _ in range(GUARD_WINDOW):
        guard.observe(torch.tensor(1.5))  # worse, within the factor: nothing happens
    assert guard.factor == 1.0 and not torch.equal(phase.latents[0], good[0][0])
    for _ in range(GUARD_WINDOW):
        guard.observe(torch.tensor(1e6))
    assert guard.factor == 0.5
    assert all(torch.equal(a, b) for a, b in zip(phase.latents, good[0], strict=True))
    assert all(torch.equal(a, b) for a, b in zip(phase.network.tensors(), good[1], strict=True))


@pytest.mark.parametrize("coarse_steps", [0, 20])
def test_the_opening_tournament_continues_its_cheapest_candidate(monkeypatch: pytest.MonkeyPatch,
                                                                coarse_steps: int) -> None:
    """Of FitConfig.candidates starts, the one with the lowest rounded cost after trial_steps goes on, from
    there; the progress counts every candidate's steps once, up to fit_steps."""
    from lic.codec import overfit_fit
    from lic.models.overfit import OverfitConfig

    started: list[overfit_fit._Phase] = []
    start = overfit_fit._Phase.start.__func__  # type: ignore[attr-defined]

    def recording_start(cls: type, *args: object) -> overfit_fit._Phase:
        phase = start(cls, *args)
        started.append(phase)
        return phase

    costs = iter([3.0, 1.0, 2.0])
    monkeypatch.setattr(overfit_fit._Phase, "start", classmethod(recording_start))
    monkeypatch.setattr(overfit_fit._Phase, "rounded_cost", lambda self, lmbda, config: next(costs))
    fit = FitConfig(steps=30, coarse_steps=coarse_steps, candidates=3, trial_steps=8, shape=SHAPE)
    assert overfit_fit.trial_steps(fit) == 8 and overfit_fit.fit_steps(fit) == 30 + coarse_steps + 16
    steps: list[int] = []
    target = overfit_fit.image_target(_image(16, 20))
    phase, first = overfit_fit.full_resolution_phase(target, 1e-3, fit, OverfitConfig(),
                                                     lambda p: steps.append(p.step), overfit_fit.fit_steps(fit))
    if coarse_steps:
        assert len(started) == 4 and phase is started[3] and first == 0  # the winner's fit, refined
        assert steps == list(range(1, 16 + 20 + 1))
    else:
        assert phase is started[1] and first == 8
        assert steps == list(range(1, 24 + 1))
    assert overfit_fit.trial_steps(dataclasses.replace(fit, candidates=1)) == 0
    assert overfit_fit.trial_steps(dataclasses.replace(fit, trial_steps=500)) == (coarse_steps or 27)


def test_per_tensor_steps_never_cost_more_than_per_network_steps(model: LoadedModel) -> None:
    """Moving single tensors' steps from the per-network choice only ever lowers the measured RD cost."""
    from lic.codec.overfit import _code_fitted
    from lic.codec.overfit_fit import fit_image

    pixels = _image(16, 24)
    for quality in (1.0, 6.0):
        lmbda = model.module.config.lmbda(quality)
        fitted = fit_image(pixels, lmbda, FitConfig(steps=40, coarse_steps=20, shape=SHAPE), model.module.config)
        per_network, coarse = _code_fitted(fitted, pixels, lmbda, model.module, per_tensor=False)
        per_tensor, _ = _code_fitted(fitted, pixels, lmbda, model.module)  # the encoder's choice
        assert per_tensor <= per_network
        assert len(set(coarse.exponents)) <= 3  # one step per network, whatever per_tensor chose


def test_restarts_keep_the_best_coded_fit_wherever_they_run(model: LoadedModel) -> None:
    pixels = _image(16, 24)
    lmbda = model.module.config.lmbda(4.0)

    def cost(result: OverfitEncoded) -> float:
        mse = np.mean((result.reconstruction.astype(float) - pixels) ** 2) / 255**2
        return mse + lmbda * len(result.data) * 8 / pixels[:, :, 0].size

    singles = [encode_overfit(pixels, model, 4.0, FitConfig(steps=12, shape=SHAPE, seed=s)) for s in (3, 4)]
    assert singles[0].data != singles[1].data
    best = min(singles, key=cost)
    steps: list[int] = []
    restarted = encode_overfit(pixels, model, 4.0, FitConfig(steps=12, shape=SHAPE, seed=3, restarts=2),
                               lambda p: steps.append(p.step))
    assert restarted.data == best.data
    assert steps == list(range(1, 25))  # one after another: the progress counts both fits
    in_parallel = encode_overfit(pixels, model, 4.0, FitConfig(steps=12, shape=SHAPE, seed=3, restarts=2), workers=2)
    assert in_parallel.data == best.data


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (gpu_session.sh overfit runs it)")
def test_fit_on_cuda_decodes_exactly_on_the_cpu(model: LoadedModel) -> None:
    pixels = _image(20, 36)
    fit = FitConfig(steps=40, coarse_steps=20, shape=SHAPE, restarts=2)
    result = encode_overfit(pixels, model, 5.0, fit, workers=2, device="cuda")
    decoded, _ = decode_image(result.data, model)
    assert np.array_equal(decoded, result.reconstruction)
    assert np.mean((decoded.astype(float) - pixels.astype(float)) ** 2) < np.var(pixels.astype(float))


def _exact_arm(seed: int) -> ExactNetwork:
    rng = np.random.default_rng(seed)
    from lic.models.overfit import OverfitNetwork

    tensors = [t.detach() for t in OverfitNetwork(SHAPE).tensors()]
    integers = [rng.integers(-300, 300, t.shape).astype(np.int32) for t in tensors]
    return ExactNetwork.of(SHAPE, integers, [10] * len(integers))


def test_cpp_arm_equals_the_fixed_point_reference(model: LoadedModel) -> None:
    """The C++ loop's integers (used by encoder and decoder) equal FixedPointLayer's float64 path."""
    network = _exact_arm(0)
    c = model.module.config
    arm = _rans.ArmModel(network.cpp_arm_layers(), [dy for dy, _ in CONTEXT], [dx for _, dx in CONTEXT],
                         c.scale_base, c.scale_step, c.scale_levels, c.mean_bits)
    grid = np.random.default_rng(1).integers(-40, 40, (13, 17)).astype(np.int32)
    native = arm.outputs(13, 17, grid.reshape(-1))
    a = (context_rows(torch.from_numpy(grid).double(), CONTEXT) * 4096).clamp(-2**24, 2**24)
    for layer in network.arm:
        a = layer.on_rows(a)
    assert np.array_equal(native, a.numpy().astype(np.int64))
    # the table choice of the spec (section 6.3) from those outputs
    mean_q = np.floor((native[:, 0] + 128) / 256).astype(np.int64)
    row = np.clip(np.floor((native[:, 1] - c.scale_base + c.scale_step // 2) / c.scale_step), 0, c.scale_levels - 1)
    symbols, indexes = arm.symbols([13], [17], grid.reshape(-1))
    assert np.array_equal(indexes, (row.astype(np.int64) * 16 + (mean_q & 15)).astype(np.int32))
    assert np.array_equal(symbols, grid.reshape(-1) - (mean_q >> 4))


def _forge(data: bytes, lane0: bytes | None = None, lane1: bytes | None = None,
           **header_changes: object) -> bytes:
    header, tiles = read_image_stream(data)
    lanes = [lane0 if lane0 is not None else tiles[0][0], lane1 if lane1 is not None else tiles[0][1]]
    header = dataclasses.replace(header, tiles=(tuple(len(b) for b in lanes),), **header_changes)
    return write_image_stream(header, [lanes])


@pytest.mark.parametrize("change, message", [
    (lambda lane: bytes([0]) + lane[1:], "grid count"),
    (lambda lane: bytes([9]) + lane[1:], "grid count"),
    (lambda lane: bytes([0x80 | 0x10 | lane[0] & 0x0F]) + lane[1:], "reserved bits"),  # a bit beside the kernel form
    (lambda lane: lane[:1] + bytes([200]) + lane[2:], "ARM"),
    (lambda lane: lane[:3] + bytes([0]) + lane[4:], "synthesis width"),
    (lambda lane: lane[:4] + struct.pack("<f", 0.3) + lane[8:], "step"),
    (lambda lane: lane[:4] + struct.pack("<f", 2.0**-20) + lane[8:], "step"),
    (lambda lane: lane[:4] + bytes([15]) + lane[5:], "step exponent above 14"),  # a 2-byte entry (e, table)
    (lambda lane: lane + bytes(4), "size"),
])
def test_forged_parameter_headers_are_refused(model: LoadedModel, encoded, change, message: str) -> None:  # noqa: ANN001
    _, result = encoded
    lane0 = read_image_stream(result.data)[1][0][0]
    with pytest.raises(CorruptStreamError, match=message):
        decode_image(_forge(result.data, lane0=change(lane0)), model)


def test_absurd_sizes_are_refused_before_allocation(model: LoadedModel, encoded) -> None:  # noqa: ANN001
    _, result = encoded
    with pytest.raises(UnsupportedStreamError, match="at most"):
        decode_image(_forge(result.data, width=4000, height=3000), model)


def test_damaged_streams_give_clean_errors(model: LoadedModel, encoded) -> None:  # noqa: ANN001
    _, result = encoded
    data = result.data
    for cut in (10, 60, len(data) // 2, len(data) - 1):
        with pytest.raises(LicError):
            decode_image(data[:cut], model)
    header, tiles = read_image_stream(data)
    lane1 = tiles[0][1]
    rng = np.random.default_rng(5)
    for _ in range(20):  # bit flips in the coded lane (checksums repaired): an error or some image, never a crash
        flipped = bytearray(lane1)
        flipped[int(rng.integers(len(flipped)))] ^= 1 << int(rng.integers(8))
        try:
            pixels, _ = decode_image(_forge(data, lane1=bytes(flipped)), model)
            assert pixels.shape == (20, 36, 3)
        except LicError:
            pass
    with pytest.raises(CorruptStreamError):
        decode_image(_forge(data, lane1=lane1[:-4]), model)


def test_api_and_pillow_read_overfit_streams(encoded) -> None:  # noqa: ANN001
    _, result = encoded
    assert np.array_equal(lic.decompress(result.data), result.reconstruction)
    image = Image.open(io.BytesIO(result.data))
    assert image.info["lic_model"] == "overfit"
    assert np.array_equal(np.asarray(image), result.reconstruction)


def _lic(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lic", *args], capture_output=True, text=True, timeout=300)


def test_cli_encode_decode_and_errors(tmp_path: Path, encoded) -> None:  # noqa: ANN001
    pixels, _ = encoded
    source, stream, recon, out = (tmp_path / n for n in ("in.png", "x.lic", "recon.png", "out.png"))
    Image.fromarray(pixels).save(source)
    done = _lic("encode", str(source), "-o", str(stream), "--mode", "overfit", "--fit-steps", "5", "-q", "1",
                "--recon", str(recon))
    assert done.returncode == 0, done.stderr
    assert _lic("decode", str(stream), "-o", str(out)).returncode == 0
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(recon)))
    info = _lic("info", str(stream))
    assert "overfit" in info.stdout and "symmetric upsampling kernels" in info.stdout
    truncated = tmp_path / "cut.lic"
    truncated.write_bytes(stream.read_bytes()[:-9])
    failed = _lic("decode", str(truncated), "-o", str(tmp_path / "cut.png"))
    assert failed.returncode == 1 and len(failed.stderr.strip().splitlines()) == 1 and "truncated" in failed.stderr
    refused = _lic("encode", str(source), "-o", str(tmp_path / "b.lic"), "--mode", "overfit", "--bpp", "0")
    assert refused.returncode != 0 and "--bpp" in refused.stderr and not (tmp_path / "b.lic").exists()
    assert len(refused.stderr.strip().splitlines()) == 1
    # a rate beyond quality 7's: one fit there, the result line says what the search tried
    targeted = _lic("encode", str(source), "-o", str(tmp_path / "b.lic"), "--mode", "overfit", "--fit-steps", "5",
                    "--bpp", "1000")
    assert targeted.returncode == 0, targeted.stderr
    said = targeted.stdout + targeted.stderr
    assert "quality 7," in said and "searched in 1 fit (q 7.00" in said


def test_eval_mode_overfit_writes_results(tmp_path: Path) -> None:
    source, results = tmp_path / "img.png", tmp_path / "rd.json"
    Image.fromarray(_image(12, 20)).save(source)
    done = _lic("eval", str(source), "--mode", "overfit", "--fit-steps", "3", "-q", "2", "6", "-o", str(results))
    assert done.returncode == 0, done.stderr
    body = json.loads(results.read_text())
    assert body["name"] == "lic-overfit-fast" and len(body["results"]["bpp"]) == 2
    assert body["results"]["quality"] == [2.0, 6.0]
    assert body["per_image"][0]["source"] == "img.png" and len(body["per_image"][0]["bpp"]) == 2
    assert body["meta"]["fit"]["steps"] == 3


def _reference_reconstruction(network: ExactNetwork, grids: list[np.ndarray]) -> np.ndarray:
    """Spec section 6.4 with FixedPointLayer's float64 convolutions (the reference the C++ must equal)."""
    import torch.nn.functional as F

    limit = 2.0**24
    act = [(torch.from_numpy(g.astype(np.float64)) * 4096).clamp(-limit, limit)[None, None] for g in grids]
    x = act[-1]
    for i in range(len(grids) - 2, -1, -1):
        _, c, h, w = x.shape
        padded = F.pad(x, (2, 2, 2, 2), mode="replicate").reshape(c, 1, h + 4, w + 4)
        up = network.upsampling[i](padded)[:, :, 4 : 4 + 2 * h, 4 : 4 + 2 * w].reshape(1, c, 2 * h, 2 * w)
        x = torch.cat([act[i], up[:, :, : grids[i].shape[0], : grids[i].shape[1]]], dim=1)
    mix, to_rgb, refine0, refine1 = network.synthesis
    x = to_rgb(mix(x))
    x = (x + refine0(F.pad(x, (1, 1, 1, 1), mode="replicate"))).clamp(-limit, limit)
    x = (x + refine1(F.pad(x.clamp(min=0), (1, 1, 1, 1), mode="replicate"))).clamp(-limit, limit)
    pixels = torch.floor((x[0] * 255 + 2048) / 4096).clamp(0, 255)
    return pixels.to(torch.uint8).permute(1, 2, 0).numpy()


def test_cpp_synthesis_equals_the_fixed_point_reference() -> None:
    """The decoder's C++ upsampling and synthesis give FixedPointLayer's convolution integers."""
    rng = np.random.default_rng(4)
    from lic.models.overfit import OverfitNetwork, grid_sizes

    tensors = [t.detach() for t in OverfitNetwork(SHAPE).tensors()]
    integers = [rng.integers(-3000, 3000, t.shape).astype(np.int32) for t in tensors]
    network = ExactNetwork.of(SHAPE, integers, [14] * len(integers))
    grids = [rng.integers(-3, 4, size).astype(np.int32) for size in grid_sizes(29, 19, SHAPE.grids)]
    pixels = network.reconstruct(grids)
    assert np.array_equal(pixels, _reference_reconstruction(network, grids))
    assert 10 < len(np.unique(pixels))  # not a saturated image: the comparison means something


def test_cli_preset_choices_are_the_fitting_presets() -> None:
    """``--preset``'s choices (declared without importing torch) are exactly the presets the encoder knows."""
    from lic.cli.overfit import PRESET_NAMES
    from lic.codec.overfit_fit import DEFAULT_PRESET, PRESETS

    assert PRESET_NAMES == tuple(PRESETS) and DEFAULT_PRESET in PRESETS
