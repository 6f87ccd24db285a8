"""Video: PyAV input/output, the sequence container, seeking, damaged streams."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import SHARED
from PIL import Image
from test_cli import assert_one_line_error, run_lic

from lic.format.sequence import read_sequence_header


def _clip(path: Path, frames: int = 4, size: tuple[int, int] = (64, 48), fps: int = 10) -> list[np.ndarray]:
    """Writes a small moving-gradient clip (y4m/mp4 by suffix, or a PNG folder); returns its RGB frames."""
    width, height = size
    x, y = np.meshgrid(np.linspace(0, 255, width), np.linspace(0, 255, height))
    pictures = [np.clip(np.stack([x + 8 * t, y, (x + y) / 2 - 4 * t], axis=2), 0, 255).astype(np.uint8)
                for t in range(frames)]
    if not path.suffix:
        path.mkdir()
        for i, picture in enumerate(pictures):
            Image.fromarray(picture).save(path / f"f{i:03d}.png")
        return pictures
    with av.open(str(path), "w", format="yuv4mpegpipe" if path.suffix == ".y4m" else None) as container:
        stream = container.add_stream("rawvideo" if path.suffix == ".y4m" else "libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i, picture in enumerate(pictures):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return pictures


def _read_frames(path: Path) -> list[np.ndarray]:
    if path.is_dir():
        return [np.asarray(Image.open(p)) for p in sorted(path.iterdir())]
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


@pytest.fixture
def tiny(tiny_weights: Path) -> list[str]:
    return ["--model", "elic-tiny", "--weights", str(tiny_weights)]


def test_y4m_round_trip_is_exact_and_keeps_count_size_and_rate(tmp_path: Path, tiny: list[str]) -> None:
    _clip(tmp_path / "in.y4m", frames=4, size=(66, 50), fps=10)
    result = run_lic("encode", "in.y4m", "-o", "v.lic", "-q", "0.5", "--recon", "recon.mkv", *tiny, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    header = read_sequence_header((tmp_path / "v.lic").read_bytes())
    assert (header.frame_count, header.width, header.height, header.fps) == (4, 66, 50, Fraction(10))
    for output in ("out.mkv", "frames", "out.y4m"):
        decoded = run_lic("decode", "v.lic", "-o", output, "--weights", tiny[-1], cwd=tmp_path)
        assert decoded.returncode == 0, decoded.stderr
    recon, lossless, pngs = (_read_frames(tmp_path / p) for p in ("recon.mkv", "out.mkv", "frames"))
    assert len(recon) == len(lossless) == len(pngs) == 4
    assert all(np.array_equal(a, b) and np.array_equal(a, c) for a, b, c in zip(recon, lossless, pngs))
    with av.open(str(tmp_path / "out.y4m")) as container:
        stream = container.streams.video[0]
        assert (stream.average_rate, stream.codec_context.width, stream.codec_context.height) == (10, 66, 50)
        assert sum(1 for _ in container.decode(stream)) == 4


def test_mp4_and_png_folder_inputs(tmp_path: Path, tiny: list[str]) -> None:
    _clip(tmp_path / "in.mp4", frames=3)
    assert run_lic("encode", "in.mp4", "-o", "a.lic", *tiny, cwd=tmp_path).returncode == 0
    assert read_sequence_header((tmp_path / "a.lic").read_bytes()).frame_count == 3
    _clip(tmp_path / "pngs", frames=2)
    result = run_lic("encode", "pngs", "--video", "--fps", "24", "-o", "b.lic", *tiny, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    header = read_sequence_header((tmp_path / "b.lic").read_bytes())
    assert (header.frame_count, header.fps) == (2, Fraction(24))


def test_seek_decodes_one_frame_and_info_lists_frames(tmp_path: Path, tiny: list[str]) -> None:
    _clip(tmp_path / "in.y4m", frames=4)
    assert run_lic("encode", "in.y4m", "-o", "v.lic", *tiny, cwd=tmp_path).returncode == 0
    assert run_lic("decode", "v.lic", "-o", "all", "--weights", tiny[-1], cwd=tmp_path).returncode == 0
    assert run_lic("decode", "v.lic", "--frame", "2", "-o", "f2.png", "--weights", tiny[-1],
                   cwd=tmp_path).returncode == 0
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "f2.png")), _read_frames(tmp_path / "all")[2])
    assert_one_line_error(run_lic("decode", "v.lic", "--frame", "4", "-o", "f4.png", "--weights", tiny[-1],
                                  cwd=tmp_path), "past the end")
    info = json.loads(run_lic("info", "v.lic", "--json", cwd=tmp_path).stdout)
    assert info["kind"] == "video" and info["frame_count"] == 4 and len(info["frames"]) == 4
    assert all(f["type"] == "intra" and f["bytes"] > 0 for f in info["frames"])
    assert sum(f["bytes"] for f in info["frames"]) < info["bytes"]


def test_damaged_frame_stops_decoding_and_keeps_the_frames_before_it(tmp_path: Path, tiny: list[str]) -> None:
    _clip(tmp_path / "in.y4m", frames=4)
    assert run_lic("encode", "in.y4m", "-o", "v.lic", *tiny, cwd=tmp_path).returncode == 0
    data = bytearray((tmp_path / "v.lic").read_bytes())
    frames = json.loads(run_lic("info", "v.lic", "--json", cwd=tmp_path).stdout)["frames"]
    data[frames[2]["offset"] + frames[2]["bytes"] - 6] ^= 0x40  # inside frame 2's payload
    (tmp_path / "bad.lic").write_bytes(bytes(data))
    result = run_lic("decode", "bad.lic", "-o", "out", "--weights", tiny[-1], cwd=tmp_path)
    assert_one_line_error(result, "frame 2")
    assert "kept the 2 frames" in result.stderr and len(list((tmp_path / "out").iterdir())) == 2
    # a damaged index is not fatal: the decoder walks the packets instead
    data = bytearray((tmp_path / "v.lic").read_bytes())
    data[-20] ^= 0x01
    (tmp_path / "index.lic").write_bytes(bytes(data))
    assert run_lic("decode", "index.lic", "--frame", "3", "-o", "f3.png", "--weights", tiny[-1],
                   cwd=tmp_path).returncode == 0
    # a truncated stream leaves no output when its first frame is gone
    (tmp_path / "cut.lic").write_bytes(bytes(data[:60]))
    assert_one_line_error(run_lic("decode", "cut.lic", "-o", "cut.mkv", "--weights", tiny[-1], cwd=tmp_path),
                          "truncated")
    assert not (tmp_path / "cut.mkv").exists()


def test_bad_video_inputs_get_one_line(tmp_path: Path, tiny: list[str]) -> None:
    (tmp_path / "junk.mp4").write_bytes(b"not a video at all" * 10)
    assert_one_line_error(run_lic("encode", "junk.mp4", "-o", "j.lic", *tiny, cwd=tmp_path), "junk.mp4")
    (tmp_path / "empty").mkdir()
    assert_one_line_error(run_lic("encode", "empty", "--video", "-o", "e.lic", *tiny, cwd=tmp_path), "no PNG frames")
    _clip(tmp_path / "in.y4m", frames=2)
    assert_one_line_error(run_lic("encode", "in.y4m", "-o", "x.lic", "--bpp", "0.3", *tiny, cwd=tmp_path), "--bpp")
    assert run_lic("encode", "in.y4m", "-o", "v.lic", *tiny, cwd=tmp_path).returncode == 0
    assert_one_line_error(run_lic("decode", "v.lic", "-o", "v.gif", "--weights", tiny[-1], cwd=tmp_path),
                          "unsupported video output")
    assert not (tmp_path / "x.lic").exists() and not (tmp_path / "j.lic").exists()


@pytest.mark.skipif(not (SHARED / "video").is_dir(), reason="needs ../shared/datasets/video")
def test_real_clip_with_the_shipped_model(tmp_path: Path) -> None:
    clip = SHARED / "video" / "CiscoVT2people_320x192_12fps_9frames.y4m"
    result = run_lic("encode", str(clip), "-o", "v.lic", "-q", "2", "--recon", "recon.mkv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert run_lic("decode", "v.lic", "-o", "out.y4m", cwd=tmp_path).returncode == 0
    assert run_lic("decode", "v.lic", "-o", "out.mkv", cwd=tmp_path).returncode == 0
    assert all(np.array_equal(a, b) for a, b in zip(_read_frames(tmp_path / "recon.mkv"),
                                                     _read_frames(tmp_path / "out.mkv")))
    with av.open(str(clip)) as source, av.open(str(tmp_path / "out.y4m")) as decoded:
        a, b = source.streams.video[0], decoded.streams.video[0]
        assert (a.average_rate, a.codec_context.width, a.codec_context.height) == \
            (b.average_rate, b.codec_context.width, b.codec_context.height)
        assert sum(1 for _ in decoded.decode(b)) == 9


def test_python_video_api_with_pyav_frames(tmp_path: Path, tiny_weights: Path) -> None:
    import lic
    from lic.api import Codec

    _clip(tmp_path / "in.mp4", frames=3)
    codec = Codec("elic-tiny", tiny_weights)
    with av.open(str(tmp_path / "in.mp4")) as container:
        data = lic.compress_video(container.decode(video=0), fps=10, quality=0.5, codec=codec)
    (tmp_path / "v.lic").write_bytes(data)
    frames = list(lic.decompress_video(data, kind="av", codec=codec))
    assert len(frames) == 3 and all(isinstance(f, av.VideoFrame) for f in frames)
    assert run_lic("decode", "v.lic", "-o", "cli", "--weights", str(tiny_weights), cwd=tmp_path).returncode == 0
    cli = _read_frames(tmp_path / "cli")
    assert all(np.array_equal(f.to_ndarray(format="rgb24"), c) for f, c in zip(frames, cli))
    last = list(lic.decompress_video(data, start=2, codec=codec))
    assert len(last) == 1 and np.array_equal(last[0], cli[2])
    with pytest.raises(lic.UnsupportedInputError):
        lic.compress_video([], codec=codec)


def test_eval_video_and_low_delay_bench_write_results(tmp_path: Path, tiny_weights: Path) -> None:
    _clip(tmp_path / "in.y4m", frames=3, size=(64, 48))
    result = run_lic("eval-video", "in.y4m", "-q", "0", "1", "--model", "elic-tiny", "--weights", str(tiny_weights),
                     "-o", "lic.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lic_rd = json.loads((tmp_path / "lic.json").read_text())["results"]
    assert lic_rd["quality"] == [0.0, 1.0] and lic_rd["frames"] == [3, 3]
    assert all(b > 0 for b in lic_rd["bpp"]) and all(f > 0 for f in lic_rd["decoding_fps"])
    for codec in ("x264-lowdelay", "x265-lowdelay"):
        bench = run_lic("bench", codec, "in.y4m", "-q", "20", "30", "40", "--gop", "2", "-o", f"{codec}.json",
                        cwd=tmp_path)
        assert bench.returncode == 0, bench.stderr
        rd = json.loads((tmp_path / f"{codec}.json").read_text())["results"]
        assert rd["frames"] == [3, 3, 3] and rd["bpp"][0] > rd["bpp"][2] and rd["psnr-yuv"][0] > rd["psnr-yuv"][2]
    compare = run_lic("bdrate", "x264-lowdelay.json", "x265-lowdelay.json", "--json", cwd=tmp_path)
    assert compare.returncode == 0 and json.loads(compare.stdout)["rows"][0]["bd_rate_percent"] is not None
