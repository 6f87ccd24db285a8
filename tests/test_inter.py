"""P-frames: conditional latent coding against the previous decoded latent."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

from lic.codec.video import decode_video, encode_video
from lic.codec.video_info import VideoInfo
from lic.codec.video_stream import frame_offsets
from lic.errors import UnsupportedInputError
from lic.format.sequence import FrameType, read_sequence_header
from lic.models.rate import rate_bpp
from lic.models.registry import get_spec
from lic.models.weights import LoadedModel, save_weights


@pytest.fixture(scope="module")
def tiny_video(tiny_model) -> LoadedModel:  # noqa: ANN001
    torch.manual_seed(3)
    module = get_spec("elic-tiny-video").build()
    module.intra.load_state_dict(tiny_model.module.state_dict())
    module.base_digest = tiny_model.digest
    return LoadedModel.from_module("elic-tiny-video", module)


def _frames(count: int = 6, size: tuple[int, int] = (70, 52)) -> list[np.ndarray]:
    width, height = size
    rng = np.random.default_rng(0)
    scene = np.clip(rng.normal(128, 50, (height // 4 + 4, width // 4 + 4, 3)), 0, 255)
    scene = np.kron(scene, np.ones((4, 4, 1)))
    return [scene[t % 3 : t % 3 + height, t : t + width].astype(np.uint8) for t in range(count)]


def test_p_frames_round_trip_bit_exactly(tiny_video: LoadedModel) -> None:
    frames = _frames()
    records = []
    data, header = encode_video(frames, VideoInfo(70, 52, Fraction(25)), tiny_video, 0.5,
                                on_frame=records.append, intra_period=4)
    assert header.intra_period == 4
    assert [r.type for r in records] == [FrameType.INTRA, FrameType.INTER, FrameType.INTER, FrameType.INTER,
                                         FrameType.INTRA, FrameType.INTER]
    assert read_sequence_header(data).intra_period == 4
    decoded = list(decode_video(data, tiny_video))
    assert all(np.array_equal(a, r.reconstruction) for a, r in zip(decoded, records))
    assert [kind for _, kind, _ in frame_offsets(data, header)][1] == FrameType.INTER


def test_seeking_to_a_p_frame_starts_at_its_intra_frame(tiny_video: LoadedModel) -> None:
    frames = _frames()
    records = []
    data, _ = encode_video(frames, VideoInfo(70, 52, Fraction(25)), tiny_video, 0.5, on_frame=records.append,
                           intra_period=4)
    for start in (2, 5):
        (frame,) = decode_video(data, tiny_video, start=start, count=1)
        assert np.array_equal(frame, records[start].reconstruction)
    damaged = bytearray(data)
    damaged[-5] ^= 0xFF  # the trailer's index offset: decoding walks the packets instead
    (frame,) = decode_video(bytes(damaged), tiny_video, start=3, count=1)
    assert np.array_equal(frame, records[3].reconstruction)


def test_an_image_model_cannot_code_p_frames(tiny_model) -> None:  # noqa: ANN001
    with pytest.raises(UnsupportedInputError, match="no P-frame codec"):
        encode_video(_frames(2), VideoInfo(70, 52, Fraction(25)), tiny_model, 0.5, intra_period=2)


def test_video_weights_name_their_intra_weights(tiny_video: LoadedModel, tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "video.safetensors"
    save_weights("elic-tiny-video", tiny_video.module, path)
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        metadata = f.metadata()
        names = list(f.keys())
    assert metadata["lic.base_model"] == "elic-tiny"
    assert metadata["lic.base_digest"] == tiny_video.module.base_digest.hex()
    assert not any(name.startswith("intra.") or name.startswith("g_a") for name in names)


def test_conditional_codec_trains(tiny_video: LoadedModel) -> None:
    """The untrained refiner codes like an intra frame; after one step gradients reach every
    layer; a few steps lower the rate, which then depends on the reference."""
    torch.manual_seed(0)
    video = get_spec("elic-tiny-video").build()
    video.intra.load_state_dict(tiny_video.module.intra.state_dict())
    video.intra.eval().requires_grad_(False)  # rounded latents, as in train_inter: deterministic rates
    inter = video.inter.train()
    generator = torch.Generator().manual_seed(1)
    y = torch.randn(2, 32, 8, 8, generator=generator) * 3
    reference = y + torch.rand(y.shape, generator=generator) - 0.5
    unrelated = torch.randn(y.shape, generator=generator) * 3

    def bits(ref: torch.Tensor) -> torch.Tensor:
        return rate_bpp(inter(y, ref)[1], 2 * 128 * 128)

    with torch.no_grad():
        intra_rate = bits(reference)
        assert bits(unrelated) == intra_rate  # zero-initialised correction: the reference is not used yet
    optimizer = torch.optim.Adam(inter.parameters(), lr=1e-2)
    rates = []
    for step in range(30):
        loss = bits(reference)
        optimizer.zero_grad()
        loss.backward()
        if step == 1:  # after one step the last layers are no longer zero: every layer learns
            silent = [n for n, p in inter.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
            assert not silent, f"no gradient reaches {silent}"
        optimizer.step()
        rates.append(loss.item())
    with torch.no_grad():
        trained_rate = bits(reference)
        assert trained_rate < 0.5 * intra_rate  # the refiner learnt to code this latent in under half the bits
        assert bits(unrelated) != trained_rate  # and its probabilities now depend on the reference
    assert rates[0] == pytest.approx(intra_rate.item())


def test_p_frame_training_runs_and_writes_weights(tmp_path, tiny_weights) -> None:  # noqa: ANN001
    from PIL import Image

    from lic.train.inter import InterTrainConfig, train_inter

    rng = np.random.default_rng(0)
    clip, stills = tmp_path / "clips" / "a", tmp_path / "stills"
    clip.mkdir(parents=True)
    stills.mkdir()
    for i, frame in enumerate(_frames(3, (80, 72))):
        Image.fromarray(frame).save(clip / f"im{i}.png")
    Image.fromarray(rng.integers(0, 255, (90, 100, 3), dtype=np.uint8)).save(stills / "s.png")
    config = InterTrainConfig(model="elic-tiny-video", base_weights=str(tiny_weights),
                              video_dirs=[str(tmp_path / "clips")], still_dirs=[str(stills)],
                              out_dir=str(tmp_path / "run"), crop=64, max_shift=4, steps=3, batch_size=2,
                              save_every=2)
    path = train_inter(config)
    assert path.exists() and (tmp_path / "elic-tiny-video.pairs-seed0.safetensors").exists()
    assert train_inter(config) == path  # second run reuses the analysed pairs
