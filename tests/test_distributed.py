"""--ray: lic's batch and eval jobs as Ray tasks, and Ray Data map_batches, on a local Ray runtime.

One Ray runtime (2 CPUs) is started per module and reused by the in-process CLI runs;
the worker-kill test runs ``lic`` as its own process, which starts its own runtime.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from test_cli import run_lic

from lic.errors import LicError
from lic.format.container import read_image_stream
from lic.models.registry import get_spec
from lic.models.weights import load_model, save_weights

TIMING_KEYS = ("encoding_time", "decoding_time", "peak_memory_mb")
TINY = ("--model", "elic-tiny", "-q", "0.5")


def _images(folder: Path, count: int, size: tuple[int, int], broken: bool = False) -> Path:
    (folder / "sub").mkdir(parents=True)
    rng = np.random.default_rng(7)
    for i in range(count):
        smooth = np.kron(rng.integers(0, 256, (size[0] // 8, size[1] // 8, 3)), np.ones((8, 8, 1)))
        noisy = smooth + rng.normal(0, 6, smooth.shape)
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(folder / ("sub" if i % 3 == 0 else "")
                                                                      / f"{i}.png")
    if broken:
        (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    return folder


def _tree(folder: Path, suffix: str) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob(f"*{suffix}"))}


# ------------------------------------------------------------------ without Ray


BLOCK_RAY = textwrap.dedent("""
    import sys

    class NoRay:
        def find_spec(self, name, path=None, target=None):
            if name == "ray" or name.startswith("ray."):
                raise ImportError("No module named 'ray' (blocked by the test)")
            return None

    sys.meta_path.insert(0, NoRay())
    from lic.cli.main import main
    sys.exit(main(sys.argv[1:]))
""")


@pytest.mark.parametrize("command", ["encode", "eval"])
def test_without_ray_the_cli_says_what_to_install(tmp_path: Path, tiny_weights: Path, command: str) -> None:
    src = _images(tmp_path / "src", 2, (16, 16))
    args = ["encode", str(src), "-o", str(tmp_path / "out")] if command == "encode" else ["eval", str(src)]
    result = subprocess.run([sys.executable, "-c", BLOCK_RAY, *args, "--model", "elic-tiny", "--weights",
                             str(tiny_weights), "--ray"], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == "lic: error: --ray needs Ray, which is not installed (pip install 'lic[ray]')"
    assert not (tmp_path / "out").exists()


def test_ray_is_refused_for_a_single_file(tmp_path: Path, tiny_weights: Path) -> None:
    src = _images(tmp_path / "src", 1, (16, 16))
    result = run_lic("encode", str(src / "sub" / "0.png"), "-o", "a.lic", "--ray", *TINY, cwd=tmp_path)
    assert result.returncode == 1 and "--ray is for folder inputs" in result.stderr
    assert not (tmp_path / "a.lic").exists()


# ------------------------------------------------------------------ with a local Ray runtime

needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                               reason="Ray is not installed (pip install 'lic[ray]'); the --ray tests need it")


@needs_ray
def test_an_unreachable_cluster_or_a_size_for_it_is_one_line(tmp_path: Path, tiny_weights: Path) -> None:
    """(Runs before the module's runtime starts: inside a Ray program --ray uses that program's runtime.)"""
    _images(tmp_path / "src", 1, (16, 16))
    weights = ("--weights", str(tiny_weights))
    refused = run_lic("encode", "src", "-o", "out", *TINY, *weights, "--ray", "127.0.0.1:1", cwd=tmp_path)
    assert refused.returncode == 1
    assert refused.stderr.strip().startswith("lic: error: cannot join the Ray cluster at 127.0.0.1:1: ")
    sized = run_lic("encode", "src", "-o", "out", *TINY, *weights, "--ray", "auto", "--workers", "2", cwd=tmp_path)
    assert sized.returncode == 1 and "a cluster has its own size" in sized.stderr
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def ray_runtime():  # noqa: ANN201
    import ray
    import ray.data

    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    yield ray
    ray.shutdown()


@needs_ray
def test_folder_on_ray_equals_local_and_resumes(ray_runtime, tmp_path: Path, tiny_weights: Path) -> None:  # noqa: ANN001
    src = _images(tmp_path / "src", 5, (40, 48), broken=True)
    weights = ("--weights", str(tiny_weights))
    local = run_lic("encode", "src", "-o", "local", *TINY, *weights, cwd=tmp_path)
    on_ray = run_lic("encode", "src", "-o", "ray", *TINY, *weights, "--ray", cwd=tmp_path)
    assert on_ray.returncode == local.returncode == 1, "broken.png fails"
    assert on_ray.stdout == local.stdout
    assert "6 files: 5 encoded, 0 already done, 1 failed" in on_ray.stdout
    assert on_ray.stderr.strip().splitlines()[-1] == "lic: failed: src/broken.png: not an image lic can read"
    assert _tree(tmp_path / "ray", ".lic") == _tree(tmp_path / "local", ".lic") and len(_tree(src, ".png")) == 6

    damaged = tmp_path / "ray" / "sub" / "0.lic"
    damaged.write_bytes(damaged.read_bytes()[:-3])
    again = run_lic("encode", "src", "-o", "ray", *TINY, *weights, "--ray", cwd=tmp_path)
    assert "6 files: 1 encoded, 4 already done, 1 failed" in again.stdout
    assert _tree(tmp_path / "ray", ".lic") == _tree(tmp_path / "local", ".lic")

    decoded = run_lic("decode", "ray", "-o", "png", *weights, "--ray", cwd=tmp_path)
    assert decoded.returncode == 0, decoded.stderr
    assert "5 files: 5 decoded" in decoded.stdout
    local_png = run_lic("decode", "local", "-o", "local_png", *weights, cwd=tmp_path)
    assert local_png.returncode == 0
    for name in _tree(tmp_path / "png", ".png"):
        assert np.array_equal(np.asarray(Image.open(tmp_path / "png" / name)),
                              np.asarray(Image.open(tmp_path / "local_png" / name)))


@needs_ray
def test_workers_with_other_weights_refuse(ray_runtime, tmp_path: Path, tiny_weights: Path) -> None:  # noqa: ANN001
    from lic.distributed.folders import run_batch_on_ray
    from lic.distributed.rd import evaluate_on_ray
    from lic.io.batch import BatchJob, plan

    src = _images(tmp_path / "src", 2, (16, 16))
    job = BatchJob("encode", "elic-tiny", tiny_weights, 0.5, None)
    other = bytes(32)
    summary = run_batch_on_ray(job, plan(src, tmp_path / "out", "encode"), digest=other)
    assert summary.done == 0 and len(summary.failed) == 2
    assert all(f"the job needs {other.hex()[:12]}: give every node the same weights" in r for _, r in summary.failed)
    assert not list((tmp_path / "out").rglob("*.lic"))

    torch.manual_seed(1)
    module = get_spec("elic-tiny").build()
    save_weights("elic-tiny", module, tmp_path / "other.safetensors")
    driver_model = load_model("elic-tiny", tmp_path / "other.safetensors")  # the workers load tiny_weights
    with pytest.raises(LicError, match="give every node the same weights"):
        evaluate_on_ray(driver_model, tiny_weights, "cpu", sorted(src.rglob("*.png")), [0.0])


@needs_ray
def test_eval_on_ray_gives_the_same_results_file(ray_runtime, tmp_path: Path, tiny_weights: Path) -> None:  # noqa: ANN001
    _images(tmp_path / "images", 3, (40, 56))
    args = ("eval", "images", "-q", "0", "1", "--model", "elic-tiny", "--weights", str(tiny_weights))
    local = run_lic(*args, "-o", "local.json", cwd=tmp_path)
    on_ray = run_lic(*args, "-o", "ray.json", "--ray", cwd=tmp_path)
    assert local.returncode == on_ray.returncode == 0, on_ray.stderr

    def content(name: str) -> dict:
        body = json.loads((tmp_path / name).read_text())
        for key in TIMING_KEYS:
            assert len(body["results"].pop(key)) == 2
            for entry in body["per_image"]:
                assert len(entry.pop(key)) == 2
        # where the timings were taken: the local process's threads, the Ray workers' one thread each
        assert body["meta"].pop("device").endswith("torch threads")
        return body

    assert content("ray.json") == content("local.json")
    lines = [line for line in on_ray.stdout.splitlines() if line.startswith("quality")]
    assert [line.split(", encode")[0] for line in lines] == [
        line.split(", encode")[0] for line in local.stdout.splitlines() if line.startswith("quality")]

    (tmp_path / "images" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    broken = run_lic(*args, "-o", "broken.json", "--ray", cwd=tmp_path)
    assert broken.returncode == 1 and not (tmp_path / "broken.json").exists()
    assert broken.stderr.strip().splitlines()[-1] == "lic: error: images/broken.png: not an image lic can read"


@needs_ray
def test_overfit_eval_on_ray_fits_each_point_in_a_worker(ray_runtime, tmp_path: Path) -> None:  # noqa: ANN001
    _images(tmp_path / "images", 2, (24, 32))
    args = ("eval", "images", "--mode", "overfit", "--fit-steps", "4", "-q", "2", "6")
    local = run_lic(*args, "-o", "local.json", cwd=tmp_path)
    on_ray = run_lic(*args, "-o", "ray.json", "--ray", cwd=tmp_path)
    assert local.returncode == on_ray.returncode == 0, on_ray.stderr
    body, reference = (json.loads((tmp_path / name).read_text()) for name in ("ray.json", "local.json"))
    assert body["name"] == reference["name"] == "lic-overfit-fast"
    assert body["results"]["quality"] == [2.0, 6.0] and len(body["per_image"]) == len(reference["per_image"]) == 1
    # every point was decoded bit-exact in its worker (measure_image checks it); the fits are the
    # same seeded optimisation, so the rates agree with the local run's up to float summation order
    assert body["meta"]["fit"] == reference["meta"]["fit"] and body["meta"]["fit"]["steps"] == 4
    assert np.allclose(body["results"]["bpp"], reference["results"]["bpp"], rtol=0.05)


@needs_ray
def test_ray_data_round_trip(ray_runtime, tmp_path: Path, tiny_weights: Path) -> None:  # noqa: ANN001
    from lic.api import Codec
    from lic.distributed.datasets import decode_dataset, encode_dataset

    src = _images(tmp_path / "src", 3, (32, 40))
    arrays = [np.asarray(Image.open(p)) for p in sorted(src.rglob("*.png"))]
    arrays[1] = arrays[1][:24, :16]  # rows of different sizes
    codec = Codec("elic-tiny", tiny_weights)

    images = ray_runtime.data.from_items([{"image": a, "n": i} for i, a in enumerate(arrays)])
    coded = encode_dataset(images, model="elic-tiny", weights=tiny_weights, quality=0.5, workers=1).materialize()
    streams = {row["n"]: bytes(row["lic"]) for row in coded.take_all()}
    assert streams == {i: codec.compress(a, 0.5) for i, a in enumerate(arrays)}
    for row in decode_dataset(coded, weights=tiny_weights, output_column="restored", workers=1).take_all():
        assert np.array_equal(np.asarray(row["restored"]), codec.decompress(streams[row["n"]]))
        assert np.array_equal(np.asarray(row["image"]), arrays[row["n"]])  # other columns pass through


def test_ray_data_encoder_reads_paths_and_refuses_other_weights(tmp_path: Path, tiny_weights: Path) -> None:
    """The map_batches function itself, called as Ray Data calls it (a dict of numpy columns), without a runtime."""
    from lic.api import Codec
    from lic.distributed.datasets import _Encoder

    paths = sorted(_images(tmp_path / "src", 2, (32, 40)).rglob("*.png"))
    codec = Codec("elic-tiny", tiny_weights)
    coder = {"model": "elic-tiny", "weights": tiny_weights, "device": "cpu", "digest": codec.model.digest,
             "options": (0.5, None, 0)}
    batch = _Encoder(coder, "path", "lic")({"path": np.array([str(p) for p in paths])})
    assert list(batch["lic"]) == [codec.compress(np.asarray(Image.open(p)), 0.5) for p in paths]
    with pytest.raises(LicError, match="give every node the same weights"):
        _Encoder({**coder, "digest": bytes(32)}, "path", "lic")


# ------------------------------------------------------------------ a worker killed mid-run


def _descendants(pid: int) -> list[int]:
    """Process ids below ``pid`` (from /proc, so the test needs nothing beyond the standard library)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


@needs_ray
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds Ray's worker processes through /proc")
def test_killed_worker_leaves_no_partial_output_and_the_run_completes(tmp_path: Path, tiny_weights: Path) -> None:
    src = _images(tmp_path / "src", 10, (192, 256))
    weights = ("--weights", str(tiny_weights))
    assert run_lic("encode", "src", "-o", "local", *TINY, *weights, cwd=tmp_path).returncode == 0
    expected = _tree(tmp_path / "local", ".lic")

    run = subprocess.Popen([sys.executable, "-m", "lic", "encode", "src", "-o", "out", *TINY, *weights, "--ray",
                            "--workers", "2"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    killed = None
    deadline = time.monotonic() + 240
    while run.poll() is None and time.monotonic() < deadline:
        for path in (tmp_path / "out").rglob("*.lic"):  # any output that exists is complete
            read_image_stream(path.read_bytes())
        if killed is None:
            busy = [pid for pid in _descendants(run.pid) if _title(pid).startswith("ray::process_in_worker")]
            if busy:
                killed = busy[0]
                os.kill(killed, signal.SIGKILL)
        time.sleep(0.02)
    stdout, stderr = run.communicate(timeout=60)
    assert killed is not None, "no Ray worker was caught coding a file"
    if run.returncode != 0:  # Ray gave up on the task: the failure is listed and a re-run completes the job
        assert "failed" in stdout and "Ray task failed" in stderr, stderr
        rerun = run_lic("encode", "src", "-o", "out", *TINY, *weights, cwd=tmp_path)
        assert rerun.returncode == 0, rerun.stderr
    else:
        assert "10 files: 10 encoded, 0 already done, 0 failed" in stdout, stdout + stderr
    assert _tree(tmp_path / "out", ".lic") == expected
    assert len(expected) == len(_tree(src, ".png")) == 10
