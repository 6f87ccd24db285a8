"""Regression tests for the ten bugs hostile use found (issue 21), one or more per bug, CLI
bugs through a real ``lic`` process. Bugs 6 and 7 (signals) are in ``test_signals.py``;
the wider destructive scenarios of bugs 1 and 2 in ``test_output_safety.py``."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from lic_process import noise_png, one_line_error, run, snapshot
from PIL import Image
from test_video import _clip

from lic.api import to_pixels
from lic.errors import LicError, UnsupportedInputError
from lic.format.container import read_image_header
from lic.io.imageio import read_image


@pytest.fixture
def tiny(tiny_weights: Path) -> list[str]:
    return ["--model", "elic-tiny", "--weights", str(tiny_weights)]


# Bug 1: `lic decode v.lic -o DIR --force` deleted the whole folder tree; `-o .` emptied the folder.
def test_bug1_decode_force_into_a_folder_keeps_foreign_files(tmp_path: Path, tiny: list[str]) -> None:
    _clip(tmp_path / "clip.y4m", frames=2)
    assert run("encode", "clip.y4m", "-o", "v.lic", *tiny, cwd=tmp_path).returncode == 0
    (tmp_path / "keep" / "sub").mkdir(parents=True)
    (tmp_path / "keep" / "sub" / "thesis.tex").write_text("data\n")
    before = snapshot(tmp_path)
    for output in ("keep", "."):
        line = one_line_error(run("decode", "v.lic", "-o", output, "--force", "--weights", tiny[-1], cwd=tmp_path))
        assert "did not write" in line
    assert snapshot(tmp_path) == before


# Bug 2: --force replaced a special file (or a link to one) by a regular file.
def test_bug2_force_writes_through_a_link_to_a_device(tmp_path: Path, tiny: list[str]) -> None:
    noise_png(tmp_path / "in.png")
    (tmp_path / "out.lic").symlink_to("/dev/null")
    result = run("encode", "in.png", "-o", "out.lic", "--force", *tiny, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.lic").is_symlink() and os.readlink(tmp_path / "out.lic") == "/dev/null"


def _two_photos(folder: Path) -> None:
    folder.mkdir()
    noise_png(folder / "photo.png", (40, 48), seed=1)
    Image.fromarray(np.full((40, 48, 3), 200, np.uint8)).save(folder / "photo.jpg")


# Bug 3: photo.png and photo.jpg were both written to photo.lic.
def test_bug3_folder_encode_keeps_both_inputs_of_one_stem(tmp_path: Path, tiny: list[str]) -> None:
    _two_photos(tmp_path / "photos")
    result = run("encode", "photos", "-o", "out", *tiny, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert b"2 files: 2 encoded" in result.stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["photo.jpg.lic", "photo.png.lic"]
    assert b"same name" in result.stderr  # said so
    assert (tmp_path / "out" / "photo.jpg.lic").read_bytes() != (tmp_path / "out" / "photo.png.lic").read_bytes()


# Bug 4: folder encode ignored --force and a changed -q (existing outputs were always "done").
def test_bug4_folder_encode_recodes_on_new_settings_and_force(tmp_path: Path, tiny: list[str]) -> None:
    (tmp_path / "photos").mkdir()
    noise_png(tmp_path / "photos" / "a.png", (40, 48))
    out = tmp_path / "out" / "a.lic"

    def encode(*options: str) -> bytes:
        result = run("encode", "photos", "-o", "out", *tiny, *options, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert b"1 encoded" in encode("-q", "0")
    assert b"1 already done" in encode("-q", "0")
    assert b"1 encoded" in encode("-q", "1") and read_image_header(out.read_bytes()).quality == 1.0
    first = out.stat().st_mtime_ns
    assert b"1 encoded" in encode("-q", "1", "--force") and out.stat().st_mtime_ns != first


def _png16(path: Path, samples: np.ndarray) -> Path:
    """A 16-bit PNG (Pillow cannot write one): gray, gray+alpha, RGB or RGBA by the channel count."""
    height, width, channels = samples.shape
    rows = b"".join(b"\0" + samples[y].astype(">u2").tobytes() for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    colour = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, colour, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return path


# Bug 5: 16-bit images were silently truncated to 8 bits (gray+alpha coded as RGB).
@pytest.mark.parametrize("channels", [2, 3, 4], ids=["gray-alpha", "rgb", "rgba"])
def test_bug5_16_bit_png_is_refused(tmp_path: Path, channels: int) -> None:
    samples = np.random.default_rng(0).integers(0, 65536, (8, 8, channels), dtype=np.uint16)
    samples[..., -1] = 65535 if channels in (2, 4) else samples[..., -1]
    with pytest.raises(UnsupportedInputError, match="more than 8 bits"):
        read_image(_png16(tmp_path / "deep.png", samples))


def test_bug5_16_bit_tiff_is_refused_by_the_cli(tmp_path: Path, tiny: list[str]) -> None:
    tifffile.imwrite(tmp_path / "deep.tif", np.full((8, 8, 3), 40000, np.uint16), photometric="rgb")
    assert "more than 8 bits" in one_line_error(run("encode", "deep.tif", "-o", "x.lic", *tiny, cwd=tmp_path))
    assert not (tmp_path / "x.lic").exists()


# Bug 8: internal errors (exit 70) where a usage error is due.
@pytest.mark.parametrize("fps", ["nan", "inf", "0", "0.0001", "1e12"])
def test_bug8_bad_frame_rates_are_usage_errors_before_any_coding(tmp_path: Path, tiny: list[str], fps: str) -> None:
    _clip(tmp_path / "clip.y4m", frames=2)
    result = run("encode", "clip.y4m", "-o", "x.lic", "--fps", fps, *tiny, cwd=tmp_path)
    assert result.returncode == 2 and "--fps" in one_line_error(result)
    assert not (tmp_path / "x.lic").exists()


@pytest.mark.parametrize("model", ["elic-s-video", "nerv"])
def test_bug8_a_video_model_on_an_image_is_an_error_not_a_crash(tmp_path: Path, model: str) -> None:
    noise_png(tmp_path / "in.png")
    result = run("encode", "in.png", "-o", "x.lic", "--model", model, cwd=tmp_path)
    line = one_line_error(result)
    assert result.returncode == 1 and "video model" in line, line


def test_bug8_absurd_thread_count_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "x.lic").write_bytes(b"")
    result = run("decode", "x.lic", "-o", "x.png", "--threads", "99999999999", cwd=tmp_path)
    assert result.returncode == 2 and "--threads" in one_line_error(result)


# Bug 9: a non-LicError escaped the API.
def test_bug9_meta_tensor_is_a_lic_error() -> None:
    with pytest.raises(LicError):
        to_pixels(torch.empty(3, 64, 64, device="meta"))


# Bug 10: silently wrong conversions.
@pytest.mark.parametrize("tensor", [
    torch.full((3, 16, 16), 200.0), torch.full((3, 16, 16), 3, dtype=torch.int64),
    torch.full((3, 16, 16), float("nan")), torch.zeros(3, 16, 3)], ids=["float-0-255", "int64", "nan", "3xWx3"])
def test_bug10_ambiguous_or_out_of_range_tensors_are_refused(tensor: torch.Tensor) -> None:
    with pytest.raises(UnsupportedInputError):
        to_pixels(tensor)


def test_bug10_valid_tensors_still_convert() -> None:
    assert to_pixels(torch.ones(3, 4, 5)).shape == (4, 5, 3)
    assert to_pixels(torch.full((1, 3, 4, 5), 0.5)).max() == 128
    assert to_pixels(torch.zeros(4, 5, dtype=torch.uint8)).shape == (4, 5)


# UX list: multi-frame images, folder input options, transparency in PNG video frames.
def test_multi_frame_gif_is_refused(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (8, 8), colour) for colour in ("red", "blue")]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    with pytest.raises(UnsupportedInputError, match="2 frames"):
        read_image(tmp_path / "anim.gif")


def test_folder_input_refuses_recon(tmp_path: Path, tiny: list[str]) -> None:
    _two_photos(tmp_path / "photos")
    assert "--recon" in one_line_error(run("encode", "photos", "-o", "out", "--recon", "r.png", *tiny, cwd=tmp_path))


def test_transparent_png_frames_are_refused_like_stills(tmp_path: Path, tiny: list[str]) -> None:
    (tmp_path / "frames").mkdir()
    for i in range(2):
        Image.new("RGBA", (64, 48), (10, 20, 30, 100)).save(tmp_path / "frames" / f"{i}.png")
    assert "transparency" in one_line_error(run("encode", "frames", "--video", "-o", "v.lic", *tiny, cwd=tmp_path))


def test_model_mismatch_digests_are_shown_until_they_differ() -> None:
    from lic.codec.image import distinct_prefixes

    assert distinct_prefixes("ab" * 32, "cd" * 32) == ("ab" * 6, "cd" * 6)
    first, second = "0" * 20 + "1" * 44, "0" * 20 + "2" * 44
    assert distinct_prefixes(first, second) == (first[:24], second[:24])


def test_pillow_verify_catches_a_truncated_stream(tiny_model) -> None:  # noqa: ANN001
    import io

    from lic.codec.image import encode_image

    data = encode_image(np.full((32, 32, 3), 90, np.uint8), tiny_model, 0.5).data
    with Image.open(io.BytesIO(data)) as image:
        image.verify()  # whole stream: passes
    with pytest.raises(LicError), Image.open(io.BytesIO(data[:-3])) as image:
        image.verify()


def test_info_on_a_truncated_video_lists_the_header_and_intact_frames(tmp_path: Path, tiny: list[str]) -> None:
    _clip(tmp_path / "clip.y4m", frames=4)
    assert run("encode", "clip.y4m", "-o", "v.lic", *tiny, cwd=tmp_path).returncode == 0
    data = (tmp_path / "v.lic").read_bytes()
    (tmp_path / "cut.lic").write_bytes(data[: len(data) // 2])  # the index and the last frames are gone
    result = run("info", "cut.lic", cwd=tmp_path)
    assert "frame" in one_line_error(result) and "intact frames" in result.stderr.decode()
    listed = result.stdout.decode()
    assert "4 frames at" in listed and "frame     0" in listed and "frame     3" not in listed


def _mkv(path: Path, stamps_ms: list[int], rate: int = 25) -> Path:
    """An FFV1 Matroska clip (stated ``rate``) whose frames carry the given timestamps."""
    from fractions import Fraction

    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=rate)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.time_base = Fraction(1, 1000)
        for i, stamp in enumerate(stamps_ms):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 20 * i, np.uint8), format="rgb24")
            frame.pts, frame.time_base = stamp, Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def test_variable_frame_rate_matroska_is_detected(tmp_path: Path) -> None:
    from lic.io.videoio import open_video

    variable, _ = open_video(_mkv(tmp_path / "vfr.mkv", [0, 40, 80, 200, 240, 400, 440, 480]))
    assert variable.variable_rate and abs(float(variable.fps) - 7 / 0.48) < 0.01
    steady, _ = open_video(_mkv(tmp_path / "cfr.mkv", [0, 33, 67, 100, 133, 167], rate=30))  # whole ms
    assert not steady.variable_rate and steady.fps == 30
