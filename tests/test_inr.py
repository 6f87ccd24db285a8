"""INR video mode: networks fitted per group of frames, their weights range-coded."""

from __future__ import annotations

import json
import struct
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from test_cli import assert_one_line_error, run_lic
from test_video import _clip

from lic.codec.inr import FitConfig, QuantizedTensor, fit_group
from lic.codec.video import decode_video, encode_video
from lic.codec.video_info import VideoInfo
from lic.errors import CorruptStreamError
from lic.eval.metrics import psnr
from lic.format.sequence import FrameType, read_index, read_packet, read_sequence_header
from lic.models.inr import NervDecoder, NervShape, parameter_count
from lic.models.registry import get_spec
from lic.models.weights import LoadedModel, load_model

FAST = FitConfig(steps=12)


@pytest.fixture(scope="module")
def nerv() -> LoadedModel:
    return load_model("nerv")


def _frames(count: int = 5, size: tuple[int, int] = (40, 30)) -> list[np.ndarray]:
    width, height = size
    x, y = np.meshgrid(np.linspace(0, 255, width), np.linspace(0, 255, height))
    return [np.clip(np.stack([x + 10 * t, y, (x + y) / 2], axis=2), 0, 255).astype(np.uint8) for t in range(count)]


def _encode(model: LoadedModel, frames: list[np.ndarray], group: int, fit: FitConfig = FAST):  # noqa: ANN202
    records = []
    height, width = frames[0].shape[:2]
    data, header = encode_video(frames, VideoInfo(width, height, Fraction(25)), model, 0, on_frame=records.append,
                                intra_period=group, fit=fit)
    return data, header, records


def test_inr_round_trip_is_bit_exact_and_groups_share_a_network(nerv: LoadedModel) -> None:
    data, header, records = _encode(nerv, _frames(), group=3)
    assert header.intra_period == 3 and header.frame_count == 5
    assert all(r.type == FrameType.INR for r in records)
    decoded = list(decode_video(data, nerv))
    assert len(decoded) == 5
    assert all(np.array_equal(a, r.reconstruction) for a, r in zip(decoded, records))
    offsets = [e.offset for e in read_index(data, header)]
    distances = [read_packet(data, offset, i)[0].ref_distance for i, offset in enumerate(offsets)]
    assert distances == [0, 1, 2, 0, 1]
    # the network travels once per group: first packets are much larger than the others
    assert records[0].bytes > 4 * records[1].bytes and records[3].bytes > 4 * records[4].bytes


def test_seeking_reads_only_the_group_start_and_survives_a_damaged_index(nerv: LoadedModel) -> None:
    data, header, records = _encode(nerv, _frames(), group=3)
    for start in (1, 4):
        (frame,) = decode_video(data, nerv, start=start, count=1)
        assert np.array_equal(frame, records[start].reconstruction)
    damaged = bytearray(data)
    damaged[-5] ^= 0xFF  # trailer: decoding walks the packets instead of using the index
    (frame,) = decode_video(bytes(damaged), nerv, start=4, count=1)
    assert np.array_equal(frame, records[4].reconstruction)
    # frame 1's packet is damaged: a seek to frame 4 (another group) does not read it
    offset = read_index(data, header)[1].offset
    broken = bytearray(data)
    broken[offset + 30] ^= 0x55
    (frame,) = decode_video(bytes(broken), nerv, start=4, count=1)
    assert np.array_equal(frame, records[4].reconstruction)
    with pytest.raises(CorruptStreamError, match="frame 1"):
        list(decode_video(bytes(broken), nerv))
    # inside a group too: frame 2 decodes from frames 0 and 2, never reading frame 1's packet
    (frame,) = decode_video(bytes(broken), nerv, start=2, count=1)
    assert np.array_equal(frame, records[2].reconstruction)


def test_fitting_learns_the_frames() -> None:
    frames = _frames(count=4, size=(48, 32))
    shape = NervShape(2, (16, 12, 12, 8, 8))
    untrained = fit_group(frames, shape, 6, FitConfig(steps=1))
    fitted = fit_group(frames, shape, 6, FitConfig(steps=300))

    def quality(group) -> float:  # noqa: ANN001
        out = group.network(group.embeddings).detach()[:, :, :32, :48].clamp(0, 1)
        pictures = (out * 255).round().byte().permute(0, 2, 3, 1).numpy()
        return float(np.mean([psnr(a, b) for a, b in zip(frames, pictures)]))

    assert quality(fitted) > quality(untrained) + 8
    assert quality(fitted) > 25


def test_quantized_tensors_and_network_sizes() -> None:
    values = np.linspace(-1, 1, 101, dtype=np.float32)
    import torch

    q = QuantizedTensor.of(torch.from_numpy(values), 6)
    assert np.abs(q.symbols).max() == 31
    assert float((q.values() - torch.from_numpy(values)).abs().max()) <= q.step / 2 + 1e-7
    shape = NervShape(4, (32, 24, 16, 12, 12))
    assert parameter_count(shape) == sum(p.numel() for p in NervDecoder(shape).parameters())


def test_hostile_network_header_is_refused(nerv: LoadedModel) -> None:
    data, header, _ = _encode(nerv, _frames(count=2), group=2)
    offset = read_index(data, header)[0].offset
    packet, _ = read_packet(data, offset, 0)
    head = bytearray(packet.lanes[0])
    struct.pack_into("<B5H", head, 0, 2, 60000, 12, 12, 8, 8)  # a network of absurd width
    from lic.codec.inr import decode_network

    forged = type(packet)(packet.frame, packet.type, 0, [bytes(head), packet.lanes[1]])
    with pytest.raises(CorruptStreamError, match="channels"):
        decode_network(forged, nerv.module, 40, 30)
    struct.pack_into("<B5H", head, 0, 2, 16, 12, 12, 8, 8)
    struct.pack_into("<f", head, 11, float("nan"))  # the first tensor's quantization step
    forged = type(packet)(packet.frame, packet.type, 0, [bytes(head), packet.lanes[1]])
    with pytest.raises(CorruptStreamError, match="step"):
        decode_network(forged, nerv.module, 40, 30)


def test_shipped_tables_are_reproducible(nerv: LoadedModel) -> None:
    rebuilt = LoadedModel.from_module("nerv", get_spec("nerv").build(), json.loads(nerv.metadata["lic.training"]))
    assert rebuilt.digest == nerv.digest


def test_cli_inr_mode(tmp_path: Path) -> None:
    _clip(tmp_path / "in.y4m", frames=3, size=(48, 32))
    result = run_lic("encode", "in.y4m", "-o", "v.lic", "--mode", "inr", "--inr-steps", "10", "-q", "0",
                     "--recon", "recon.y4m", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    header = read_sequence_header((tmp_path / "v.lic").read_bytes())
    assert header.model == "nerv" and header.frame_count == 3
    assert run_lic("decode", "v.lic", "-o", "out.y4m", cwd=tmp_path).returncode == 0
    assert (tmp_path / "out.y4m").read_bytes() == (tmp_path / "recon.y4m").read_bytes()
    info = run_lic("info", "v.lic", cwd=tmp_path)
    assert "one fitted network per 32 frames" in info.stdout and " inr " in info.stdout
    assert_one_line_error(run_lic("encode", "in.y4m", "-o", "w.lic", "--mode", "inr", "--model", "elic-s",
                                  cwd=tmp_path), "--mode inr")
    assert_one_line_error(run_lic("encode", "in.y4m", "-o", "w.lic", "--inr-steps", "5", cwd=tmp_path), "--inr-steps")
    assert_one_line_error(run_lic("encode", "in.y4m", "-o", "w.lic", "--mode", "inr", "--intra-period", "300",
                                  cwd=tmp_path), "1..256")


def test_python_api_inr_mode() -> None:
    import lic

    frames = _frames(count=3, size=(32, 32))
    data = lic.compress_video(frames, fps=30, quality=0, model="nerv", inr_steps=8)
    assert read_sequence_header(data).model == "nerv"
    decoded = list(lic.decompress_video(data, codec=lic.Codec("nerv")))
    assert len(decoded) == 3 and decoded[0].shape == (32, 32, 3)


def test_mutated_inr_packets_fail_cleanly(nerv: LoadedModel) -> None:
    """Random byte changes inside INR packets (checksums recomputed, so they reach the
    parser and the range decoder) decode or raise a LicError, nothing else."""
    from lic.errors import LicError
    from lic.format.sequence import FramePacket, write_sequence

    data, header, _ = _encode(nerv, _frames(count=2), group=2)
    index = read_index(data, header)
    packets = [read_packet(data, e.offset, i)[0] for i, e in enumerate(index)]
    rng = np.random.default_rng(1)
    outcomes = {"decoded": 0, "refused": 0}
    for trial in range(150):
        mutated = []
        for packet in packets:
            lanes = [bytearray(lane) for lane in packet.lanes]
            lane = lanes[int(rng.integers(len(lanes)))]
            for _ in range(int(rng.integers(1, 4))):
                if lane:
                    lane[int(rng.integers(len(lane)))] = int(rng.integers(256))
            distance = packet.ref_distance if trial % 10 else int(rng.integers(3))
            mutated.append(FramePacket(packet.frame, packet.type, distance, [bytes(x) for x in lanes]).pack())
        try:
            frames = list(decode_video(write_sequence(header, mutated), nerv))
            assert len(frames) == 2 and frames[0].shape == (30, 40, 3)
            outcomes["decoded"] += 1
        except LicError:
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0
