"""lic eval / bench / bdrate / plot: RD results through real files, in CompressAI's layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_cli import run_lic

from lic.errors import LicError
from lic.eval.anchors import published_results
from lic.eval.bdrate import RDCurve, bd_psnr, bd_rate
from lic.eval.classical import classical_codecs, rgb_to_ycbcr_planes, ycbcr_planes_to_rgb
from lic.eval.metrics import ms_ssim
from lic.eval.results import RDResults
from lic.eval.vtm_install import VTM_DIR_VARIABLE, built_vtm, vtm_dir

RESULT_KEYS = {"bpp", "psnr-rgb", "ms-ssim-rgb", "encoding_time", "decoding_time"}


def _images(folder: Path, count: int = 2, size: tuple[int, int] = (40, 56)) -> Path:
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        smooth = np.kron(rng.integers(0, 256, (size[0] // 8, size[1] // 8, 3)), np.ones((8, 8, 1)))
        Image.fromarray(smooth.astype(np.uint8)).save(folder / f"img{i}.png")
    return folder


def test_bd_rate_of_a_curve_against_itself_and_a_scaled_copy() -> None:
    vtm = published_results()["vtm"].curve()
    assert bd_rate(vtm, vtm) == pytest.approx(0.0, abs=1e-9)
    assert bd_psnr(vtm, vtm) == pytest.approx(0.0, abs=1e-9)
    cheaper = RDCurve("cheaper", tuple(b * 0.9 for b in vtm.bpp), vtm.psnr)
    assert bd_rate(cheaper, vtm) == pytest.approx(-10.0, abs=1e-6)
    assert bd_psnr(cheaper, vtm) > 0
    better = RDCurve("better", vtm.bpp, tuple(p + 0.5 for p in vtm.psnr))
    assert bd_psnr(better, vtm) == pytest.approx(0.5, abs=1e-9)


def test_bd_rate_of_published_curves_orders_the_codecs() -> None:
    curves = {k: r.curve() for k, r in published_results().items()}
    assert bd_rate(curves["jpeg"], curves["vtm"]) > bd_rate(curves["webp"], curves["vtm"]) > bd_rate(
        curves["bpg"], curves["vtm"]) > 0 > bd_rate(curves["elic"], curves["vtm"])


def test_bd_rate_needs_overlap() -> None:
    a = RDCurve("a", (0.1, 0.2), (20.0, 22.0))
    b = RDCurve("b", (0.1, 0.2), (30.0, 32.0))
    with pytest.raises(ValueError, match="share no quality range"):
        bd_rate(a, b)


def test_ms_ssim_is_one_on_equal_images_and_none_on_tiny_ones() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (200, 180, 3), dtype=np.uint8)
    assert ms_ssim(image, image) == pytest.approx(1.0)
    noisy = np.clip(image + rng.normal(0, 20, image.shape), 0, 255).astype(np.uint8)
    assert 0 < ms_ssim(image, noisy) < 1
    assert ms_ssim(image[:100], image[:100]) is None


def test_ycbcr_conversion_for_vtm_round_trips_within_rounding() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)
    back = ycbcr_planes_to_rgb(rgb_to_ycbcr_planes(image))
    assert np.abs(back.astype(int) - image).max() <= 2


def test_eval_writes_compressai_layout_with_the_files_bpp(tmp_path: Path, tiny_weights: Path) -> None:
    images = _images(tmp_path / "images")
    result = run_lic("eval", str(images), "-q", "0", "1", "--model", "elic-tiny", "--weights", str(tiny_weights),
                     "-o", "rd.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rd = json.loads((tmp_path / "rd.json").read_text())
    assert RESULT_KEYS <= set(rd["results"]) and rd["name"] == "lic-elic-tiny"
    assert rd["results"]["quality"] == [0.0, 1.0] and rd["meta"]["images"] == 2
    assert all(m > 0 for m in rd["results"]["peak_memory_mb"])
    # bpp is what the CLI's files weigh: encode the same images at quality 1 and compare.
    sizes = []
    for image in sorted(images.iterdir()):
        out = tmp_path / f"{image.stem}.lic"
        assert run_lic("encode", str(image), "-o", str(out), "-q", "1", "--model", "elic-tiny",
                       "--weights", str(tiny_weights), cwd=tmp_path).returncode == 0
        sizes.append(out.stat().st_size * 8 / (40 * 56))
    assert rd["results"]["bpp"][1] == pytest.approx(np.mean(sizes), rel=1e-12)
    # Per image, per quality: the points' means are over these, in the images' order.
    assert [entry["source"] for entry in rd["per_image"]] == ["img0.png", "img1.png"]
    assert [entry["bpp"][1] for entry in rd["per_image"]] == pytest.approx(sizes, rel=1e-12)
    for key in ("bpp", "psnr-rgb"):
        assert np.mean([entry[key] for entry in rd["per_image"]], axis=0) == pytest.approx(rd["results"][key])


@pytest.mark.parametrize("codec", ["jpeg", "jpeg444", "webp", "avif", "jxl", "jpeg2000", "x265"])
def test_bench_measures_each_classical_codec_through_files(tmp_path: Path, codec: str) -> None:
    images = _images(tmp_path / "images", 1, (64, 64))
    quality = {"jpeg2000": "4", "x265": "32"}.get(codec, "50")
    result = run_lic("bench", codec, str(images), "-q", quality, "-o", "b.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rd = RDResults.read(tmp_path / "b.json")
    assert rd.name == codec and rd.results["quality"] == [float(quality)]
    assert 0 < rd.results["bpp"][0] < 24 and 20 < rd.results["psnr-rgb"][0] < 99
    assert rd.results["ms-ssim-rgb"] == [None]  # 64x64 is too small for MS-SSIM's five scales
    assert [(e["source"], e["bpp"], e["psnr-rgb"]) for e in rd.per_image] == [
        ("img0.png", rd.results["bpp"], rd.results["psnr-rgb"])]


def test_bench_reports_missing_codecs_and_lists_them(tmp_path: Path) -> None:
    images = _images(tmp_path / "images", 1)
    result = run_lic("bench", "bpg", str(images), "--encoder-path", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert result.returncode == 1 and "bpg is missing" in result.stderr
    listed = run_lic("bench", "--list", cwd=tmp_path)
    assert listed.returncode == 0
    assert set(classical_codecs()) <= {line.split()[0] for line in listed.stdout.splitlines()}
    assert run_lic("bench", "nope", str(images), cwd=tmp_path).returncode == 1


def test_results_measured_per_image_and_quality_merge_into_the_results_of_one_run(tmp_path: Path) -> None:
    from lic.eval.merge import merge_results

    images = _images(tmp_path / "images", 2, (64, 64))
    paths = sorted(images.iterdir())
    assert run_lic("bench", "jpeg", *map(str, paths), "-q", "30", "80", "-o", "both.json", cwd=tmp_path).returncode == 0
    for path in paths:
        for quality in ("80", "30"):
            assert run_lic("bench", "jpeg", str(path), "-q", quality, "-o", f"{path.stem}-{quality}.json",
                           cwd=tmp_path).returncode == 0
    parts = {name: RDResults.read(tmp_path / f"{name}.json") for name in ("img0-30", "img1-30", "img0-80", "img1-80")}
    merged, whole = merge_results(list(parts.values())), RDResults.read(tmp_path / "both.json")
    assert merged.meta["images"] == 2 and [e["source"] for e in merged.per_image] == ["img0.png", "img1.png"]
    for key in ("quality", "bpp", "psnr-rgb"):
        assert merged.results[key] == pytest.approx(whole.results[key], rel=1e-12)
    with pytest.raises(LicError, match="several results files"):
        merge_results([parts["img0-30"], parts["img0-30"]])
    with pytest.raises(LicError, match="not measured: img1.png at quality 80"):
        merge_results([parts["img0-30"], parts["img1-30"], parts["img0-80"]])


def test_bench_vtm_without_paths_says_how_to_build_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VTM_DIR_VARIABLE, str(tmp_path / "no-vtm"))
    images = _images(tmp_path / "images", 1)
    result = run_lic("bench", "vtm", str(images), cwd=tmp_path)
    assert result.returncode == 1 and "vtm is missing" in result.stderr and "build_vtm.sh" in result.stderr


@pytest.mark.skipif(built_vtm() is None, reason=f"VTM is not built in {vtm_dir()} (bash benchmarks/build_vtm.sh)")
def test_bench_vtm_runs_the_built_vtm_without_paths(tmp_path: Path) -> None:
    images = _images(tmp_path / "images", 1, (64, 64))
    result = run_lic("bench", "vtm", str(images), "-q", "22", "37", "-o", "b.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rd = RDResults.read(tmp_path / "b.json")
    assert rd.name == "vtm" and "encoder_intra_vtm.cfg" in rd.description and rd.results["quality"] == [22.0, 37.0]
    (high_bpp, low_bpp), (high_psnr, low_psnr) = rd.results["bpp"], rd.results["psnr-rgb"]
    assert 0 < low_bpp < high_bpp < 24 and 20 < low_psnr < high_psnr < 99
    # Explicit paths (the way lic bench vtm ran before the build script) give the same files.
    vtm = built_vtm()
    explicit = run_lic("bench", "vtm", str(images), "-q", "22", "37", "-o", "e.json",
                       "--encoder-path", str(vtm.encoder), "--decoder-path", str(vtm.decoder),
                       "--config", str(vtm.intra_config), cwd=tmp_path)
    assert explicit.returncode == 0, explicit.stderr
    again = RDResults.read(tmp_path / "e.json")
    assert again.results["bpp"] == rd.results["bpp"] and again.results["psnr-rgb"] == rd.results["psnr-rgb"]


def test_bdrate_between_files_and_against_published_curves(tmp_path: Path) -> None:
    images = _images(tmp_path / "images", 1, (64, 64))
    for codec, qualities in (("jpeg", ["10", "30", "60", "90", "95"]), ("webp", ["10", "30", "60", "90", "95"])):
        result = run_lic("bench", codec, str(images), "-q", *qualities, "-o", f"{codec}.json", cwd=tmp_path)
        assert result.returncode == 0
    pair = run_lic("bdrate", "jpeg.json", "webp.json", "--json", cwd=tmp_path)
    assert pair.returncode == 0, pair.stderr
    row = json.loads(pair.stdout)["rows"][0]
    assert row["anchor"] == "jpeg" and row["test"] == "webp" and row["bd_rate_percent"] is not None, row
    (tmp_path / "webp-again.json").write_bytes((tmp_path / "webp.json").read_bytes())
    same = json.loads(run_lic("bdrate", "webp.json", "webp-again.json", "--json", cwd=tmp_path).stdout)["rows"][0]
    assert (same["anchor"], same["test"]) == ("webp (webp)", "webp (webp-again)")  # same codec: told apart
    assert same["bd_rate_percent"] == pytest.approx(0, abs=1e-9)
    plotted = run_lic("plot", "webp.json", "webp-again.json", "-o", "two.svg", cwd=tmp_path)
    assert plotted.returncode == 0, plotted.stderr
    assert "webp (webp-again)" in (tmp_path / "two.svg").read_text()
    published = run_lic("bdrate", "webp", "--anchor", "jpeg", "vtm", "--json", cwd=tmp_path)
    rows = json.loads(published.stdout)["rows"]
    assert [r["anchor"] for r in rows] == ["JPEG", "VTM"]
    assert rows[0]["bd_rate_percent"] < 0 < rows[1]["bd_rate_percent"]
    ssim = run_lic("bdrate", "bpg", "webp", "--metric", "ms-ssim-db-rgb", cwd=tmp_path)
    assert ssim.returncode == 0 and "%" in ssim.stdout
    bad = run_lic("bdrate", "rd.json", "--anchor", "nope", cwd=tmp_path)
    assert bad.returncode == 1
    (tmp_path / "junk.json").write_text("{}")
    assert "not an RD results file" in run_lic("bdrate", "junk.json", cwd=tmp_path).stderr


def test_bdrate_per_image_equals_the_bdrate_of_each_image_alone(tmp_path: Path) -> None:
    images = _images(tmp_path / "images", 2, (64, 64))
    qualities = {"jpeg": ["10", "30", "60", "90"], "webp": ["10", "30", "60", "90"]}
    for codec, q in qualities.items():
        assert run_lic("bench", codec, str(images), "-q", *q, "-o", f"{codec}.json", cwd=tmp_path).returncode == 0
        for image in sorted(images.iterdir()):
            assert run_lic("bench", codec, str(image), "-q", *q, "-o", f"{codec}-{image.stem}.json",
                           cwd=tmp_path).returncode == 0
    both = run_lic("bdrate", "--per-image", "jpeg.json", "webp.json", "--json", cwd=tmp_path)
    assert both.returncode == 0, both.stderr
    rows = json.loads(both.stdout)["rows"]
    assert [row["image"] for row in rows] == ["img0.png", "img1.png", "mean of 2 images"]
    for row in rows[:2]:
        stem = Path(row["image"]).stem
        alone = run_lic("bdrate", f"jpeg-{stem}.json", f"webp-{stem}.json", "--json", cwd=tmp_path)
        assert row["bd_rate_percent"] == json.loads(alone.stdout)["rows"][0]["bd_rate_percent"]
    assert rows[2]["bd_rate_percent"] == pytest.approx((rows[0]["bd_rate_percent"] + rows[1]["bd_rate_percent"]) / 2,
                                                       abs=0.01)
    text = run_lic("bdrate", "--per-image", "jpeg.json", "webp.json", cwd=tmp_path).stdout
    assert "img1: webp vs jpeg" in text and "mean of 2 images" in text
    disjoint = run_lic("bdrate", "--per-image", "jpeg-img0.json", "webp-img1.json", cwd=tmp_path)
    assert disjoint.returncode == 1 and "no per-image results for the same images" in disjoint.stderr
    broken = json.loads((tmp_path / "webp.json").read_text())
    broken["per_image"][0]["psnr-rgb"][1] = None
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    hostile = run_lic("bdrate", "--per-image", "jpeg.json", "broken.json", "--json", cwd=tmp_path)
    assert hostile.returncode == 0, hostile.stderr
    first = json.loads(hostile.stdout)["rows"][0]
    assert first["bd_rate_percent"] is None and "not numbers" in first["error"]


def test_plot_writes_png_and_svg(tmp_path: Path) -> None:
    result = run_lic("plot", "jpeg", "webp", "vtm", "-o", "rd.png", "rd.svg", "--title", "Kodak", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "rd.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in (tmp_path / "rd.svg").read_text()
    again = run_lic("plot", "jpeg", "-o", "rd.png", cwd=tmp_path)
    assert again.returncode == 1 and "exists" in again.stderr
    assert run_lic("plot", "jpeg", "-o", "rd.gif", cwd=tmp_path).returncode == 1
