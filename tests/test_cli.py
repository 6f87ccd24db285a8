"""The lic command line as a user runs it: real files, one-line errors, no partial outputs."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lic.cli.main import main
from lic.models.registry import get_spec
from lic.models.weights import save_weights


def run_lic(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Runs ``lic ARGS`` in this process (imports are paid once), capturing its output and exit status."""
    stdout, stderr = io.StringIO(), io.StringIO()
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse: --help and usage errors
                code = exc.code
    finally:
        os.chdir(previous)
    return subprocess.CompletedProcess(["lic", *args], code, stdout.getvalue(), stderr.getvalue())


def run_lic_process(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Runs the installed ``lic`` console script as a separate process."""
    exe = shutil.which("lic") or str(Path(sys.executable).with_name("lic"))
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def assert_one_line_error(result: subprocess.CompletedProcess, pattern: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert pattern in lines[0], lines[0]


@pytest.fixture
def workdir(tmp_path: Path, tiny_weights: Path) -> Path:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:72, 0:100]
    pixels = (128 + 80 * np.sin(xx / 9.0 + yy / 13.0))[..., None] + rng.normal(0, 5, (72, 100, 3))
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(tmp_path / "photo.png")
    (tmp_path / "tiny.safetensors").write_bytes(tiny_weights.read_bytes())
    return tmp_path


def _encode(workdir: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_lic("encode", "photo.png", "-o", "a.lic", "--model", "elic-tiny", "--weights", "tiny.safetensors",
                   *extra, cwd=workdir)


def test_encode_decode_info(workdir: Path) -> None:
    enc = _encode(workdir, "-q", "0.5", "--recon", "recon.png")
    assert enc.returncode == 0, enc.stderr
    assert "bpp" in enc.stdout and "PSNR" in enc.stdout
    dec = run_lic("decode", "a.lic", "-o", "a.png", "--weights", "tiny.safetensors", cwd=workdir)
    assert dec.returncode == 0, dec.stderr
    decoded = np.asarray(Image.open(workdir / "a.png"))
    np.testing.assert_array_equal(decoded, np.asarray(Image.open(workdir / "recon.png")))
    assert decoded.shape == (72, 100, 3)

    info = run_lic("info", "a.lic", cwd=workdir)
    assert info.returncode == 0 and "elic-tiny" in info.stdout and "100x72" in info.stdout
    meta = json.loads(run_lic("info", "a.lic", "--json", cwd=workdir).stdout)
    size = (workdir / "a.lic").stat().st_size
    assert meta["bytes"] == size and meta["width"] == 100 and meta["height"] == 72
    assert meta["bpp"] == pytest.approx(size * 8 / (100 * 72), abs=1e-6)
    assert meta["quality"] == 0.5 and meta["checksums"] == "ok"


def test_existing_output_needs_force(workdir: Path) -> None:
    assert _encode(workdir).returncode == 0
    before = (workdir / "a.lic").read_bytes()
    assert_one_line_error(_encode(workdir, "-q", "1"), "exists")
    assert (workdir / "a.lic").read_bytes() == before
    assert _encode(workdir, "-q", "1", "--force").returncode == 0
    assert (workdir / "a.lic").read_bytes() != before


def _forged_size(width: int, height: int):  # noqa: ANN202
    """A mutation giving the header a claimed size, with a valid header CRC."""

    def forge(data: bytes) -> bytes:
        d = bytearray(data)
        name_len = d[14]
        struct.pack_into("<II", d, 15 + name_len + 36, width, height)
        size = struct.unpack_from("<H", d, 12)[0]
        struct.pack_into("<I", d, size - 4, zlib.crc32(bytes(d[: size - 4])))
        return bytes(d)

    return forge


def _other_weights(workdir: Path) -> str:
    torch.manual_seed(7)
    save_weights("elic-tiny", get_spec("elic-tiny").build(), workdir / "other.safetensors")
    return "other.safetensors"


BAD_STREAMS = {
    "random": (lambda d: np.random.default_rng(0).bytes(2000), "not a .lic stream"),
    "empty": (lambda d: b"", "not a .lic stream"),
    "truncated": (lambda d: d[: len(d) // 2], "truncated"),
    "truncated_header": (lambda d: d[:20], "truncated"),
    "flipped_payload_bit": (lambda d: d[:-8] + bytes([d[-8] ^ 0x10]) + d[-7:], "checksum"),
    "flipped_header_bit": (lambda d: d[:40] + bytes([d[40] ^ 0x01]) + d[41:], "checksum"),
    "huge_size": (_forged_size(10**6, 10**6), "invalid image size"),
    "size_100000": (_forged_size(100_000, 100_000), "invalid image size"),
    "over_pixel_limit": (_forged_size(60_000, 60_000), "exceeds the limit"),
    "untiled_3072": (_forged_size(3072, 3072), "limit per piece"),  # one piece of 9.4 Mpixel: 3.75 GB to decode
}


@pytest.mark.parametrize("case", sorted(BAD_STREAMS))
def test_bad_streams(workdir: Path, case: str) -> None:
    assert _encode(workdir).returncode == 0
    mutate, message = BAD_STREAMS[case]
    (workdir / "bad.lic").write_bytes(mutate((workdir / "a.lic").read_bytes()))
    start = time.perf_counter()
    result = run_lic("decode", "bad.lic", "-o", "out.png", "--weights", "tiny.safetensors", cwd=workdir)
    assert time.perf_counter() - start < 5, "refused at once, before any decoding work"
    assert_one_line_error(result, message)
    assert not (workdir / "out.png").exists()
    assert not list(workdir.glob(".out.png*")), "no temporary file left behind"
    if case not in ("over_pixel_limit", "untiled_3072"):  # info reads headers only; limits apply to decoding
        assert_one_line_error(run_lic("info", "bad.lic", cwd=workdir), message)


def test_pixel_limit_option_and_environment(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_one_line_error(_encode(workdir, "--max-pixels", "5000"), "exceeds the limit of 5,000 pixels")
    assert _encode(workdir).returncode == 0
    result = run_lic("decode", "a.lic", "-o", "a.png", "--weights", "tiny.safetensors", "--max-pixels", "7199",
                     cwd=workdir)
    assert_one_line_error(result, "exceeds the limit")
    monkeypatch.setenv("LIC_MAX_PIXELS", "7200")
    assert run_lic("decode", "a.lic", "-o", "a.png", "--weights", "tiny.safetensors", cwd=workdir).returncode == 0
    assert_one_line_error(run_lic("encode", "photo.png", "-o", "b.lic", "--max-pixels", "0", cwd=workdir),
                          "must be 1 or more")


def test_tiled_encode_decode(workdir: Path) -> None:
    rng = np.random.default_rng(1)
    pixels = np.clip(rng.normal(128, 40, (23, 19, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(np.kron(pixels, np.ones((14, 16, 1), np.uint8))).save(workdir / "big.png")  # 304x322
    enc = run_lic("encode", "big.png", "-o", "big.lic", "--model", "elic-tiny", "--weights", "tiny.safetensors",
                  "--tile-size", "256", "--recon", "recon.png", cwd=workdir)
    assert enc.returncode == 0, enc.stderr
    meta = json.loads(run_lic("info", "big.lic", "--json", cwd=workdir).stdout)
    assert meta["tile_size"] == 256 and len(meta["tiles"]) == 4
    assert meta["entropy_parameters"] == "fixed point (exact)"
    dec = run_lic("decode", "big.lic", "-o", "big-out.png", "--weights", "tiny.safetensors", cwd=workdir)
    assert dec.returncode == 0, dec.stderr
    np.testing.assert_array_equal(np.asarray(Image.open(workdir / "big-out.png")),
                                  np.asarray(Image.open(workdir / "recon.png")))
    bad = run_lic("encode", "big.png", "-o", "c.lic", "--model", "elic-tiny", "--weights", "tiny.safetensors",
                  "--tile-size", "100", cwd=workdir)
    assert_one_line_error(bad, "tile size must be")


def test_stream_from_other_weights(workdir: Path) -> None:
    assert _encode(workdir).returncode == 0
    result = run_lic("decode", "a.lic", "-o", "out.png", "--weights", _other_weights(workdir), cwd=workdir)
    assert_one_line_error(result, "weights")
    assert not (workdir / "out.png").exists()


def test_stream_for_unknown_model(workdir: Path) -> None:
    assert _encode(workdir).returncode == 0
    d = bytearray((workdir / "a.lic").read_bytes())
    d[15:24] = b"elic-nope"
    size = struct.unpack_from("<H", d, 12)[0]
    struct.pack_into("<I", d, size - 4, zlib.crc32(bytes(d[: size - 4])))
    (workdir / "x.lic").write_bytes(bytes(d))
    assert_one_line_error(run_lic("decode", "x.lic", "-o", "out.png", cwd=workdir), "elic-nope")


@pytest.mark.parametrize(
    "args, message",
    [
        (["encode", "missing.png", "-o", "x.lic"], "no such file"),
        (["encode", "photo.png", "-o", "."], "is a directory"),
        (["encode", "junk.png", "-o", "x.lic"], "not an image"),
        (["encode", "alpha.png", "-o", "x.lic"], "transparency"),
        (["encode", "photo.png", "-o", "x.lic", "-q", "99"], "quality"),
        (["encode", "photo.png", "-o", "x.lic", "-q", "high"], "must be a number"),
        (["encode", "photo.png"], "required"),
        (["encode", "photo.png", "-o", "x.lic", "--bogus"], "unrecognized"),
        (["encode", "photo.png", "-o", "nodir/x.lic"], "no such directory"),
        (["encode", "photo.png", "-o", "x.lic", "--model", "elic-nope"], "unknown model 'elic-nope'"),
        (["encode", "photo.png", "-o", "x.lic", "--recon", "photo.png"], "exists"),
        (["decode", "missing.lic", "-o", "x.png"], "no such file"),
        (["decode", "p.lic", "-o", "x.xyz", "--weights", "tiny.safetensors"], "unknown image format"),
        (["encode", "photo.png", "-o", "x.lic", "--device", "tpu"], "device"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_invocations(workdir: Path, args: list[str], message: str) -> None:
    (workdir / "junk.png").write_bytes(b"this is not a png")
    alpha = Image.new("RGBA", (8, 8), (1, 2, 3, 100))
    alpha.save(workdir / "alpha.png")
    if args[0] == "encode" and "-q" in args and args[args.index("-q") + 1] == "99":
        args = args + ["--model", "elic-tiny", "--weights", "tiny.safetensors"]
    if "p.lic" in args:
        assert run_lic("encode", "photo.png", "-o", "p.lic", "--model", "elic-tiny", "--weights", "tiny.safetensors",
                       cwd=workdir).returncode == 0
    assert_one_line_error(run_lic(*args, cwd=workdir), message)
    assert not (workdir / "x.lic").exists()


def test_help_on_every_command(workdir: Path) -> None:
    for command in ["encode", "decode", "info", "demo", "models", "train", "eval", "bench", "bdrate", "plot"]:
        result = run_lic(command, "--help", cwd=workdir)
        assert result.returncode == 0 and "usage: lic" in result.stdout


def test_console_script_end_to_end(workdir: Path) -> None:
    """The real entry point, in its own process: encode, decode, a damaged stream."""
    args = ["--model", "elic-tiny", "--weights", "tiny.safetensors"]
    enc = run_lic_process("encode", "photo.png", "-o", "p.lic", "--recon", "r.png", *args, cwd=workdir)
    assert enc.returncode == 0, enc.stderr
    dec = run_lic_process("decode", "p.lic", "-o", "p.png", "--weights", "tiny.safetensors", cwd=workdir)
    assert dec.returncode == 0, dec.stderr
    assert (workdir / "p.png").read_bytes() == (workdir / "r.png").read_bytes()
    (workdir / "bad.lic").write_bytes((workdir / "p.lic").read_bytes()[:-3])
    assert_one_line_error(run_lic_process("decode", "bad.lic", "-o", "q.png", cwd=workdir), "truncated")
    assert not (workdir / "q.png").exists()
