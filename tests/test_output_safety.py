"""Destructive scenarios (issue 21, must-show 2): an existing folder with foreign files, ``.``,
a symbolic link, a FIFO and a character device as outputs, with ``--force``. No file lic
did not write is touched; special files are written through, never replaced; ``-`` is
standard output and standard input."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import numpy as np
import pytest
from lic_process import noise_png, one_line_error, run, snapshot
from PIL import Image
from test_video import _clip

from lic.format.container import read_image_stream


@pytest.fixture(scope="module")
def coded(tmp_path_factory: pytest.TempPathFactory, tiny_weights: Path) -> dict[str, bytes]:
    """A coded image and a coded 3-frame video (tiny model)."""
    folder = tmp_path_factory.mktemp("coded")
    noise_png(folder / "in.png")
    _clip(folder / "clip.y4m", frames=3)
    tiny = ["--model", "elic-tiny", "--weights", str(tiny_weights)]
    for source, target in (("in.png", "i.lic"), ("clip.y4m", "v.lic")):
        result = run("encode", source, "-o", target, *tiny, cwd=folder)
        assert result.returncode == 0, result.stderr
    return {name: (folder / name).read_bytes() for name in ("in.png", "i.lic", "v.lic")}


@pytest.fixture
def scratch(tmp_path: Path, coded: dict[str, bytes]) -> Path:
    """A user's folder: the coded files, a thesis in keep/sub/, a link to it, a FIFO, a link to /dev/null."""
    for name, data in coded.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "keep" / "sub").mkdir(parents=True)
    (tmp_path / "keep" / "sub" / "thesis.tex").write_text("data\n")
    (tmp_path / "keep" / "notes.txt").write_text("more data\n")
    (tmp_path / "thesis-link.png").symlink_to("keep/sub/thesis.tex")
    (tmp_path / "null-link.lic").symlink_to("/dev/null")
    os.mkfifo(tmp_path / "pipe.lic")
    return tmp_path


def _weights(tiny_weights: Path) -> list[str]:
    return ["--weights", str(tiny_weights)]


def test_force_never_touches_what_lic_did_not_write(scratch: Path, tiny_weights: Path) -> None:
    before = snapshot(scratch)
    w = _weights(tiny_weights)
    attempts = [
        ("decode", "v.lic", "-o", "keep", "--force", *w),  # a folder with foreign files (bug 1)
        ("decode", "v.lic", "-o", ".", "--force", *w),  # the current folder (bug 1)
        ("decode", "v.lic", "-o", "keep/sub", "--force", *w),
        ("decode", "i.lic", "-o", "thesis-link.png", "--force", *w),  # a link to a user's file
        ("decode", "i.lic", "-o", "keep", "--force", *w),  # a folder as an image output
        ("encode", "in.png", "-o", "keep", "--force", "--model", "elic-tiny", *w),
        ("decode", "v.lic", "-o", "keep/sub/thesis.tex", "--force", *w),  # not a video output
    ]
    for args in attempts:
        line = one_line_error(run(*args, cwd=scratch))
        assert "lic: error:" in line, (args, line)
    assert snapshot(scratch) == before


def test_force_replaces_only_lics_own_frames(scratch: Path, tiny_weights: Path) -> None:
    w = _weights(tiny_weights)
    first = run("decode", "v.lic", "-o", "frames", *w, cwd=scratch)
    assert first.returncode == 0, first.stderr
    assert sorted(p.name for p in (scratch / "frames").iterdir()) == ["000000.png", "000001.png", "000002.png"]
    (scratch / "frames" / "000007.png").write_bytes((scratch / "frames" / "000000.png").read_bytes())  # older, longer
    assert "use --force" in one_line_error(run("decode", "v.lic", "-o", "frames", *w, cwd=scratch))
    again = run("decode", "v.lic", "-o", "frames", "--force", *w, cwd=scratch)
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in (scratch / "frames").iterdir()) == ["000000.png", "000001.png", "000002.png"]
    (scratch / "frames" / "mine.txt").write_text("a user's file")
    before = snapshot(scratch)
    assert "did not write" in one_line_error(run("decode", "v.lic", "-o", "frames", "--force", *w, cwd=scratch))
    assert snapshot(scratch) == before
    (scratch / "empty").mkdir()
    into_empty = run("decode", "v.lic", "-o", "empty", *w, cwd=scratch)  # an empty folder needs no --force
    assert into_empty.returncode == 0 and len(list((scratch / "empty").iterdir())) == 3


def test_special_files_are_written_through_never_replaced(scratch: Path, tiny_weights: Path) -> None:
    w = _weights(tiny_weights)
    assert "exists" in one_line_error(run("encode", "in.png", "-o", "pipe.lic", "--model", "elic-tiny", *w,
                                          cwd=scratch))
    no_reader = one_line_error(run("encode", "in.png", "-o", "pipe.lic", "--force", "--model", "elic-tiny", *w,
                                   cwd=scratch))
    assert "no reader" in no_reader  # at once, no hang
    received: list[bytes] = []
    reader_ready = threading.Event()

    def read_fifo() -> None:
        fd = os.open(scratch / "pipe.lic", os.O_RDONLY | os.O_NONBLOCK)
        reader_ready.set()
        os.set_blocking(fd, True)
        chunks = []
        while chunk := os.read(fd, 1 << 16) if _wait_readable(fd) else b"":
            chunks.append(chunk)
        os.close(fd)
        received.append(b"".join(chunks))

    reader = threading.Thread(target=read_fifo)
    reader.start()
    reader_ready.wait(10)
    result = run("encode", "in.png", "-o", "pipe.lic", "--force", "--model", "elic-tiny", *w, cwd=scratch)
    reader.join(60)
    assert result.returncode == 0, result.stderr
    assert stat.S_ISFIFO((scratch / "pipe.lic").lstat().st_mode)
    read_image_stream(received[0])  # the whole stream came through the FIFO
    through_link = run("encode", "in.png", "-o", "null-link.lic", "--force", "--model", "elic-tiny", *w, cwd=scratch)
    assert through_link.returncode == 0, through_link.stderr
    assert os.readlink(scratch / "null-link.lic") == "/dev/null"  # bug 2: the link was replaced by a file
    assert stat.S_ISCHR(Path("/dev/null").stat().st_mode)


def _wait_readable(fd: int) -> bool:
    import select

    return bool(select.select([fd], [], [], 60)[0])


def test_a_character_device_is_written_through(scratch: Path, tiny_weights: Path) -> None:
    device = scratch / "null-device"
    try:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a private /dev/null
    except (PermissionError, OSError):
        pytest.skip("cannot create a device node here")
    result = run("decode", "i.lic", "-o", str(device), "--force", *_weights(tiny_weights), cwd=scratch)
    assert "unknown image format" in one_line_error(result)  # no extension: refused before anything
    result = run("encode", "in.png", "-o", str(device), "--force", "--model", "elic-tiny", *_weights(tiny_weights),
                 cwd=scratch)
    assert result.returncode == 0, result.stderr
    assert stat.S_ISCHR(device.lstat().st_mode)


def test_dash_is_stdout_and_stdin(scratch: Path, tiny_weights: Path) -> None:
    w = _weights(tiny_weights)
    encoded = run("encode", "-", "-o", "-", "--model", "elic-tiny", *w, cwd=scratch,
                  stdin=(scratch / "in.png").read_bytes())
    assert encoded.returncode == 0, encoded.stderr
    assert read_image_stream(encoded.stdout)[0].width == 64
    assert b"bpp" in encoded.stderr  # the result line moved to stderr
    assert not (scratch / "-").exists()
    decoded = run("decode", "-", "-o", "-", *w, cwd=scratch, stdin=encoded.stdout)
    assert decoded.returncode == 0, decoded.stderr
    assert decoded.stdout.startswith(b"\x89PNG")
    video = run("decode", "v.lic", "-o", "-", *w, cwd=scratch)
    assert video.returncode == 0 and video.stdout.startswith(b"YUV4MPEG2")
    assert not (scratch / "-").exists()


def test_recon_equal_to_output_and_lic_as_decode_output_are_refused(scratch: Path, tiny_weights: Path) -> None:
    w = _weights(tiny_weights)
    before = snapshot(scratch)
    assert "same file" in one_line_error(run("encode", "in.png", "-o", "x.png", "--recon", "./x.png",
                                             "--model", "elic-tiny", *w, cwd=scratch))
    assert "not a .lic stream" in one_line_error(run("decode", "i.lic", "-o", "again.lic", *w, cwd=scratch))
    assert snapshot(scratch) == before
    assert np.asarray(Image.open(scratch / "in.png")).shape == (64, 64, 3)
