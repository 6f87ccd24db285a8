"""The Triton kernels of lic.kernels give the torch fixed-point path's integers exactly.

They run here under the Triton interpreter on CPU tensors: ``tests/conftest.py`` sets
``TRITON_INTERPRET=1`` before anything imports torch (which imports Triton), since Triton
reads it when it and each kernel are first imported.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from compressai.layers import CheckerboardMaskedConv2d
from torch import nn

pytest.importorskip("triton")

from lic.entropy.priors import GaussianPrior
from lic.entropy.range_coder import RangeDecoder, RangeEncoder
from lic.errors import LicError
from lic.kernels import conv
from lic.kernels import rows as rows_kernel
from lic.kernels.selection import kernels_enabled
from lic.models.fixed_point import ACTIVATION_LIMIT, FixedPointNetwork


@pytest.fixture(autouse=True)
def _kernels_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIC_KERNELS", "1")


def _both_paths(net: FixedPointNetwork, x: torch.Tensor, monkeypatch: pytest.MonkeyPatch) -> tuple:
    monkeypatch.setenv("LIC_KERNELS", "0")
    reference = net(x)
    monkeypatch.setenv("LIC_KERNELS", "1")
    return reference, net(x)


def _extreme_input(channels: int, height: int, width: int, seed: int) -> torch.Tensor:
    """Random values with a third of them at or beyond the activation clamp (+-2**12 real units)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, channels, height, width, generator=g) * 3
    at_clamp = torch.rand(x.shape, generator=g) < 0.33
    return torch.where(at_clamp, torch.sign(x) * 5000.0, x)


# (name, module, input channels, height, width): odd sizes; the channel counts of every
# slice of elic-s (16, 16, 32, 64, 64; channel contexts read 16, 32, 64, 128) and elic-tiny.
LAYERS = [
    ("spatial 5x5 checkerboard, 16 ch", lambda: CheckerboardMaskedConv2d(16, 32, 5, padding=2), 16, 7, 9),
    ("spatial 5x5 checkerboard, 64 ch", lambda: CheckerboardMaskedConv2d(64, 128, 5, padding=2), 64, 3, 5),
    ("channel context 5x5, 8 -> 16 (tiny)", lambda: nn.Sequential(nn.Conv2d(8, 16, 5, padding=2), nn.ReLU()), 8, 5, 7),
    ("channel context 5x5, 32 -> 96", lambda: nn.Sequential(nn.Conv2d(32, 96, 5, padding=2), nn.ReLU()), 32, 3, 5),
    ("channel context 5x5, 128 -> 96", lambda: nn.Sequential(nn.Conv2d(128, 96, 5, padding=2), nn.ReLU()), 128, 3, 3),
    ("channel context 5x5, 96 -> 128", lambda: nn.Conv2d(96, 128, 5, padding=2), 96, 3, 3),
    ("h_s transposed 5x5 s2, 16 -> 16", lambda: nn.Sequential(nn.ConvTranspose2d(16, 16, 5, 2, 2, 1), nn.ReLU()),
     16, 3, 5),
    ("h_s transposed 5x5 s2, 96 -> 144", lambda: nn.ConvTranspose2d(96, 144, 5, 2, 2, 1), 96, 1, 3),
    ("h_s 3x3, 24 -> 32", lambda: nn.Conv2d(24, 32, 3, padding=1), 24, 5, 3),
    ("strided 5x5 s2, 6 -> 5", lambda: nn.Conv2d(6, 5, 5, stride=2, padding=2), 6, 9, 7),
]


@pytest.mark.parametrize("name,build,channels,height,width", LAYERS, ids=[layer[0] for layer in LAYERS])
def test_convolution_kernel_equals_torch(name, build, channels, height, width, monkeypatch) -> None:  # noqa: ANN001
    torch.manual_seed(len(name))
    module = build()
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(30)  # large enough that outputs pass the clamps too
    net = FixedPointNetwork(module)
    x = _extreme_input(channels, height, width, seed=channels)
    reference, out = _both_paths(net, x, monkeypatch)
    assert torch.equal(out, reference)
    assert (reference == ACTIVATION_LIMIT / 4096).any()  # the upper clamp was hit


def test_convolution_kernel_with_gpu_tiles_equals_torch(monkeypatch) -> None:  # noqa: ANN001
    """The tile sizes a GPU uses (several programs per output, a partial reduction block)."""
    torch.manual_seed(0)
    layer = FixedPointNetwork(nn.ConvTranspose2d(6, 40, 5, 2, 2, 1)).layers[0]
    a = (_extreme_input(6, 3, 4, seed=4) * 4096).round().clamp(-ACTIVATION_LIMIT, ACTIVATION_LIMIT)
    reference = layer(a.double())
    out = conv.fixed_conv2d(a.long(), layer._tap_major_weight, layer._int64_bias, stride=2, padding=2,
                            output_padding=1, transposed=True, lower=-ACTIVATION_LIMIT, upper=ACTIVATION_LIMIT,
                            blocks=conv.GPU_BLOCKS)
    assert torch.equal(out.double(), reference)


def test_rescale_rounds_half_up_on_both_signs(monkeypatch) -> None:  # noqa: ANN001
    """A 1x1 layer of weight 1 (2**-14) sees every residue of the accumulator mod 2**14, ties included."""
    layer = nn.Conv2d(1, 1, 1)
    with torch.no_grad():
        layer.weight.fill_(2.0**-14)
        layer.bias.fill_(0.0)
    net = FixedPointNetwork(layer)
    acc = torch.arange(-3 * 2**14, 3 * 2**14, dtype=torch.float64)
    x = (acc * 2.0**-12).reshape(1, 1, 6, -1)
    reference, out = _both_paths(net, x, monkeypatch)
    assert torch.equal(out, reference)
    assert torch.equal(out.reshape(-1) * 4096, torch.floor((acc + 2**13) / 2**14))  # the rule of spec 3.1


@pytest.mark.parametrize("groups,hyper", [((8, 8, 16), 32), ((16, 16, 32, 64, 64), 192)])
def test_parameter_kernel_and_table_choice_equal_torch(groups, hyper, monkeypatch) -> None:  # noqa: ANN001
    """The aggregation networks of every slice on rows, and the fused scale-to-table step."""
    torch.manual_seed(1)
    prior = GaussianPrior()
    bounds = prior.table_bounds(torch.device("cpu"))
    for k, g in enumerate(groups):
        inputs = 2 * g + (2 * g if k > 0 else 0) + hyper
        mid = (inputs + 2 * g) // 2
        net = FixedPointNetwork(nn.Sequential(nn.Conv2d(inputs, mid, 1), nn.ReLU(), nn.Conv2d(mid, mid, 1), nn.ReLU(),
                                              nn.Conv2d(mid, 2 * g, 1)))
        features = _extreme_input(inputs, 1, 13 + k, seed=k)[0, :, 0]  # [C, N]: rows are a strided view
        monkeypatch.setenv("LIC_KERNELS", "0")
        reference = net.apply_to_rows(features.t())
        monkeypatch.setenv("LIC_KERNELS", "1")
        out, indexes = net.apply_to_rows_with_tables(features.t(), bounds, g)
        assert torch.equal(out, reference)
        assert torch.equal(indexes, prior.table_indexes(reference[:, :g].t().contiguous()))


def test_parameter_kernel_with_gpu_tiles_equals_torch() -> None:
    """The rows kernel with a GPU's tile sizes: several programs, partial blocks, fused table choice."""
    torch.manual_seed(2)
    layer = FixedPointNetwork(nn.Conv2d(21, 40, 1)).layers[0]
    a = (_extreme_input(21, 1, 37, seed=5)[0, :, 0].t() * 4096).round().clamp(-ACTIVATION_LIMIT, ACTIVATION_LIMIT)
    prior = GaussianPrior()
    out, indexes = rows_kernel.fixed_rows(a.long(), layer._channel_major_weight, layer._int64_bias,
                                          lower=-ACTIVATION_LIMIT, upper=ACTIVATION_LIMIT,
                                          bounds=prior.table_bounds(torch.device("cpu")), index_channels=20,
                                          blocks=rows_kernel.GPU_BLOCKS)
    reference = layer.on_rows(a.double())
    assert torch.equal(out.double(), reference)
    assert torch.equal(indexes, prior.table_indexes(reference[:, :20].t().contiguous() / 4096))


def test_table_choice_at_exact_table_entries() -> None:
    """Scales equal to a table entry take that entry (the first entry >= the scale), as bucketize does."""
    bounds = torch.tensor([0.25, 0.5, 1.0, 3.0, 100.0], dtype=torch.float64)
    values = torch.tensor([0, 1023, 1024, 1025, 2048, 4096, 4097, 12288, 409600, 409601, 2**24], dtype=torch.int64)
    weight = torch.ones(1, 1, dtype=torch.int64) * 2**14  # the identity on activations
    _, indexes = rows_kernel.fixed_rows(values[:, None], weight, torch.zeros(1, dtype=torch.int64),
                                        lower=0, upper=ACTIVATION_LIMIT, bounds=bounds, index_channels=1)
    assert torch.equal(indexes[0].long(), torch.bucketize(values.double() / 4096, bounds))


def test_tiny_model_decodes_the_same_latent_through_the_kernels(tiny_model, monkeypatch) -> None:  # noqa: ANN001
    """Encode on the torch path, decode through the kernels (and back): same latent, same bytes."""
    module = tiny_model.module
    x = torch.from_numpy(np.random.default_rng(5).random((1, 3, 128, 192), dtype=np.float32))
    monkeypatch.setenv("LIC_KERNELS", "0")
    encoder = RangeEncoder(1)
    with torch.inference_mode():
        y_encoder = module.encode(x, 1.0, encoder)
    lanes = encoder.finish()
    monkeypatch.setenv("LIC_KERNELS", "1")
    decoder = RangeDecoder(lanes)
    with torch.inference_mode():
        y_kernels = module.decode(decoder, 1.0, (2, 3), torch.device("cpu"))
    decoder.check_exhausted()
    assert torch.equal(y_kernels, y_encoder)
    encoder = RangeEncoder(1)
    with torch.inference_mode():
        module.encode(x, 1.0, encoder)
    assert encoder.finish() == lanes


def test_p_frames_decode_the_same_through_the_kernels(tiny_model, monkeypatch) -> None:  # noqa: ANN001
    """P-frames (the temporal refiner's networks, scales changed after the table-fused layer)."""
    from fractions import Fraction

    from lic.codec.video import decode_video, encode_video
    from lic.codec.video_info import VideoInfo
    from lic.format.sequence import FrameType
    from lic.models.registry import get_spec
    from lic.models.weights import LoadedModel

    torch.manual_seed(3)
    module = get_spec("elic-tiny-video").build()
    module.intra.load_state_dict(tiny_model.module.state_dict())
    module.base_digest = tiny_model.digest
    with torch.no_grad():
        for net in module.inter.refiner.correction:
            net[-1].weight.normal_(0, 0.05)  # untrained, they would start at zero and change nothing
    video = LoadedModel.from_module("elic-tiny-video", module)
    rng = np.random.default_rng(0)
    scene = np.kron(np.clip(rng.normal(128, 50, (20, 24, 3)), 0, 255), np.ones((4, 4, 1)))
    frames = [scene[t : t + 52, t : t + 70].astype(np.uint8) for t in range(3)]
    monkeypatch.setenv("LIC_KERNELS", "0")
    records = []
    data, _ = encode_video(frames, VideoInfo(70, 52, Fraction(25)), video, 0.5, on_frame=records.append,
                           intra_period=3)
    assert [r.type for r in records] == [FrameType.INTRA, FrameType.INTER, FrameType.INTER]
    expected = list(decode_video(data, video))
    monkeypatch.setenv("LIC_KERNELS", "1")
    decoded = list(decode_video(data, video))
    assert len(decoded) == 3 and all(np.array_equal(a, b) for a, b in zip(decoded, expected))


def test_selection(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("LIC_KERNELS", "0")
    assert not kernels_enabled()
    monkeypatch.delenv("LIC_KERNELS")
    assert not kernels_enabled()  # opt-in: slower than torch on the H200 measured
    monkeypatch.setenv("LIC_KERNELS", "1")
    assert kernels_enabled()
    monkeypatch.setenv("LIC_KERNELS", "yes")
    with pytest.raises(LicError, match="LIC_KERNELS"):
        kernels_enabled()


def test_kernels_are_interpreted_here() -> None:
    assert type(conv._fixed_conv_kernel).__name__ == "InterpretedFunction"
    assert type(rows_kernel._fixed_rows_kernel).__name__ == "InterpretedFunction"


COMPILE_FOR_A_GPU = """
import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource
from lic.kernels import conv, rows
target = GPUTarget("cuda", 90, 32)  # Hopper (H100/H200): compiles to a cubin without a GPU
i64, i32 = "*i64", "i32"
for transposed in (False, True):
    signature = dict(x_ptr=i64, w_ptr=i64, b_ptr=i64, out_ptr=i64, c_in=i32, h_in=i32, w_in=i32, c_out=i32,
                     h_out=i32, w_out=i32, lower=i32, upper=i32)
    constants = dict(KERNEL=5, STRIDE=1 + transposed, PADDING=2, TRANSPOSED=transposed,
                     **dict(zip(("BLOCK_P", "BLOCK_R", "BLOCK_C"), conv.GPU_BLOCKS)))
    signature.update(dict.fromkeys(constants, "constexpr"))
    assert "cubin" in triton.compile(ASTSource(conv._fixed_conv_kernel, signature, constants), target=target).asm
signature = dict(x_ptr=i64, x_row_stride=i32, x_col_stride=i32, w_ptr=i64, b_ptr=i64, out_ptr=i64, index_ptr="*i32",
                 bounds_ptr="*fp64", n_bounds=i32, rows=i32, c_in=i32, c_out=i32, index_channels=i32, lower=i32,
                 upper=i32)
constants = dict(WITH_INDEX=True, SEARCH_STEPS=6, **dict(zip(("BLOCK_N", "BLOCK_R", "BLOCK_C"), rows.GPU_BLOCKS)))
signature.update(dict.fromkeys(constants, "constexpr"))
assert "cubin" in triton.compile(ASTSource(rows._fixed_rows_kernel, signature, constants), target=target).asm
print("compiled")
"""


def test_kernels_compile_for_a_gpu() -> None:
    """The compiled (not interpreted) kernels build down to a Hopper cubin: no typo waits for the GPU."""
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    result = subprocess.run([sys.executable, "-c", COMPILE_FOR_A_GPU], env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0 and "compiled" in result.stdout, result.stderr[-3000:]
