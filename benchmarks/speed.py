"""Encode/decode speed of lic's default model against CompressAI's reference models, in one run.

For each picture size (Kodak 768x512, 1920x1080, 3840x2160) and each codec, codes the same
image (Kodak's kodim01 if ``--kodak`` has it, else the bundled sample, resized with Lanczos)
and reports wall time per image, split into

* ``transform``: the analysis and synthesis networks (an encoder also synthesizes its
  reconstruction; a decoder runs the synthesis only),
* ``entropy_parameters`` (lic only): hyper networks, context model, quantization and glue,
* ``entropy_coding`` (lic only): time inside the range coder,

(CompressAI models report ``transform`` and ``entropy``, everything else), the peak RSS of the
process while coding, decode milliseconds per megapixel (linearity), and lic / CompressAI
ratios. CompressAI models use random weights (time does not depend on weight values) and run
with torch's default thread count; lic runs as shipped (4 coding threads).

    python benchmarks/speed.py -o benchmarks/results/speed-cpu.json
    python benchmarks/speed.py --sizes kodak --repeats 3    # quick
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from lic.codec.image import decode_image, encode_image
from lic.entropy.range_coder import RangeDecoder, RangeEncoder
from lic.eval.memory import PeakMemory
from lic.hardware import machine_description
from lic.models.weights import LoadedModel, load_model

SIZES = {"kodak": (768, 512), "1080p": (1920, 1080), "4k": (3840, 2160)}


class StageClock:
    """Accumulates wall time spent inside chosen modules and functions."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def add(self, stage: str, seconds: float) -> None:
        """Adds ``seconds`` to ``stage``."""
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    @contextmanager
    def modules(self, stage: str, *modules: nn.Module) -> Iterator[None]:
        """Times every forward pass of ``modules`` as ``stage``."""
        starts: list[float] = []
        handles = []
        for module in modules:
            handles.append(module.register_forward_pre_hook(lambda *_: starts.append(time.perf_counter())))
            handles.append(module.register_forward_hook(lambda *_: self.add(stage, time.perf_counter() - starts.pop())))
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()

    @contextmanager
    def methods(self, stage: str, *targets: tuple[type, str]) -> Iterator[None]:
        """Times every call of the methods ``(class, name)`` as ``stage``."""
        originals = [(cls, name, getattr(cls, name)) for cls, name in targets]

        def timed(method: Callable) -> Callable:
            def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
                start = time.perf_counter()
                try:
                    return method(*args, **kwargs)
                finally:
                    self.add(stage, time.perf_counter() - start)
            return wrapper

        for cls, name, method in originals:
            setattr(cls, name, timed(method))
        try:
            yield
        finally:
            for cls, name, method in originals:
                setattr(cls, name, method)


def test_image(kodak: Path, width: int, height: int) -> np.ndarray:
    """kodim01 (or the bundled sample) resized to ``width x height``."""
    path = kodak / "kodim01.png"
    if not path.exists():
        path = Path(str(resources.files("lic").joinpath("data", "astronaut.png")))
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB").resize((width, height), Image.LANCZOS))


def time_lic(pixels: np.ndarray, repeats: int, model: LoadedModel | None = None) -> dict:
    """Best-of-``repeats`` encode and decode of ``model`` (default: the shipped default model on the
    CPU), with stage times (on a GPU the stage times are not synchronized: read ``seconds`` only)."""
    model = model or load_model()
    module = model.module
    best: dict[str, dict] = {}
    for _ in range(repeats):
        for phase in ("encode", "decode"):
            clock = StageClock()
            transforms = (module.g_a, module.g_s) if phase == "encode" else (module.g_s,)
            coder = [(RangeEncoder, "encode"), (RangeEncoder, "finish")] if phase == "encode" else [
                (RangeDecoder, "decode")]
            with clock.modules("transform", *transforms), clock.methods("entropy_coding", *coder), \
                    PeakMemory() as memory:
                start = time.perf_counter()
                if phase == "encode":
                    data = encode_image(pixels, model, model.default_quality).data
                else:
                    decode_image(data, model)
                total = time.perf_counter() - start
            stages = {k: clock.seconds.get(k, 0.0) for k in ("transform", "entropy_coding")}
            stages["entropy_parameters"] = total - sum(stages.values())
            row = {"seconds": total, **{f"{k}_seconds": v for k, v in stages.items()},
                   "peak_rss_mib": memory.cpu_mib}
            if phase not in best or total < best[phase]["seconds"]:
                best[phase] = row
    return best


def time_compressai(name: str, pixels: np.ndarray, repeats: int) -> dict:
    """Best-of-``repeats`` compress/decompress of a CompressAI model with random weights."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "mbt2018_mean":
            from compressai.zoo import mbt2018_mean

            model = mbt2018_mean(quality=3, pretrained=False)
        else:
            from compressai.models import Elic2022Official

            model = Elic2022Official()
    model.eval().update(force=True)
    x = torch.from_numpy(np.array(pixels)).permute(2, 0, 1).unsqueeze(0).float() / 255
    pad_h, pad_w = -x.shape[2] % 64, -x.shape[3] % 64
    x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
    best: dict[str, dict] = {}
    for _ in range(repeats):
        with torch.inference_mode():
            for phase in ("encode", "decode"):
                clock = StageClock()
                with clock.modules("transform", model.g_a if phase == "encode" else model.g_s), \
                        PeakMemory() as memory:
                    start = time.perf_counter()
                    if phase == "encode":
                        out = model.compress(x)
                    else:
                        model.decompress(out["strings"], out["shape"])
                    total = time.perf_counter() - start
                transform = clock.seconds.get("transform", 0.0)
                row = {"seconds": total, "transform_seconds": transform, "entropy_seconds": total - transform,
                       "peak_rss_mib": memory.cpu_mib}
                if phase not in best or total < best[phase]["seconds"]:
                    best[phase] = row
    return best


def main() -> None:
    """Runs every size and codec, prints the table, writes the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", choices=sorted(SIZES), default=["kodak", "1080p", "4k"])
    parser.add_argument("--codecs", nargs="+", default=["lic", "mbt2018_mean", "Elic2022Official"],
                        choices=["lic", "mbt2018_mean", "Elic2022Official"])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--kodak", type=Path, default=Path("../shared/datasets/kodak"))
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args()
    results: dict[str, dict[str, dict]] = {}
    for size in args.sizes:
        width, height = SIZES[size]
        pixels = test_image(args.kodak, width, height)
        results[size] = {}
        for codec in args.codecs:
            timing = time_lic(pixels, args.repeats) if codec == "lic" else time_compressai(codec, pixels, args.repeats)
            for row in timing.values():
                row["ms_per_mpixel"] = 1000 * row["seconds"] / (width * height / 1e6)
            results[size][codec] = timing
            print(f"{size:6} {codec:17} encode {timing['encode']['seconds']:7.2f} s  "
                  f"decode {timing['decode']['seconds']:7.2f} s  "
                  f"peak {max(r['peak_rss_mib'] for r in timing.values()):7.0f} MiB", flush=True)
    ratios = {size: {f"lic/{codec}": {phase: rows["lic"][phase]["seconds"] / rows[codec][phase]["seconds"]
                                      for phase in ("encode", "decode")}
                     for codec in rows if codec != "lic"}
              for size, rows in results.items() if "lic" in rows}
    for size, by_codec in ratios.items():
        for name, ratio in by_codec.items():
            print(f"{size:6} {name:22} encode x{ratio['encode']:.2f}  decode x{ratio['decode']:.2f}")
    report = {"machine": machine_description(torch.device("cpu")), "torch_threads": torch.get_num_threads(),
              "repeats": args.repeats, "results": results, "ratios": ratios}
    if args.output:
        args.output.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
