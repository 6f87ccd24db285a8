"""RD points of video codecs on clips, through real files: lic (``lic eval-video``) and
x264 / x265 in low-delay P configuration through PyAV (``lic bench x264-lowdelay CLIP``).

Per quality point, means over clips of: bpp (file bytes x 8 / (pixels x frames)),
PSNR-RGB and PSNR-YUV (BT.601 8-bit Y'CbCr 4:4:4 of both the source and the decoded RGB
frames, weighted 6:1:1), encode and decode frames per second.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from lic.codec.inr import FitConfig
from lic.codec.video import decode_video, encode_video
from lic.codec.video_info import VideoInfo
from lic.codec.video_modes import video_mode_for
from lic.errors import LicError
from lic.eval.metrics import psnr
from lic.eval.results import RDResults
from lic.hardware import machine_description
from lic.io.videoio import open_video
from lic.models.weights import LoadedModel

_BT601 = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
VIDEO_KEYS = ("quality", "bpp", "psnr-rgb", "psnr-yuv", "encoding_fps", "decoding_fps", "frames")


def psnr_yuv(a: np.ndarray, b: np.ndarray) -> float:
    """6:1:1-weighted PSNR of the BT.601 Y'CbCr (full range, 8-bit rounded) of two RGB frames."""

    def ycbcr(x: np.ndarray) -> np.ndarray:
        return np.clip(np.round(x.astype(np.float64) @ _BT601.T + [0, 128, 128]), 0, 255)

    ya, yb = ycbcr(a), ycbcr(b)
    mse = [np.mean((ya[..., c] - yb[..., c]) ** 2) for c in range(3)]
    values = [99.0 if m == 0 else 10 * np.log10(255.0**2 / m) for m in mse]
    return float((6 * values[0] + values[1] + values[2]) / 8)


def load_clip(path: Path, max_frames: int | None) -> tuple[list[np.ndarray], Fraction]:
    """The clip's RGB frames (at most ``max_frames``) and its frame rate."""
    info, frames = open_video(path)
    clip = []
    for pixels in frames:
        clip.append(pixels)
        if max_frames and len(clip) >= max_frames:
            break
    if not clip:
        raise LicError(f"{path}: no frames")
    return clip, info.fps


@dataclass(frozen=True)
class ClipMeasurement:
    """One clip coded once."""

    bpp: float
    psnr_rgb: float
    psnr_yuv: float
    encode_fps: float
    decode_fps: float
    frames: int


def measure_clip(clip: list[np.ndarray], data: bytes, decoded: list[np.ndarray], encode_s: float,
                 decode_s: float) -> ClipMeasurement:
    """Rate, quality and speed of a coded clip against its source frames."""
    if len(decoded) != len(clip):
        raise LicError(f"decoded {len(decoded)} frames, expected {len(clip)}")
    height, width = clip[0].shape[:2]
    return ClipMeasurement(
        len(data) * 8 / (width * height * len(clip)),
        float(np.mean([psnr(a, b) for a, b in zip(clip, decoded)])),
        float(np.mean([psnr_yuv(a, b) for a, b in zip(clip, decoded)])),
        len(clip) / encode_s, len(clip) / decode_s, len(clip),
    )


def _table(points: list[tuple[float, list[ClipMeasurement]]]) -> dict[str, list]:
    results: dict[str, list] = {key: [] for key in VIDEO_KEYS}
    for quality, clips in points:
        results["quality"].append(quality)
        results["bpp"].append(float(np.mean([c.bpp for c in clips])))
        results["psnr-rgb"].append(float(np.mean([c.psnr_rgb for c in clips])))
        results["psnr-yuv"].append(float(np.mean([c.psnr_yuv for c in clips])))
        results["encoding_fps"].append(float(np.mean([c.encode_fps for c in clips])))
        results["decoding_fps"].append(float(np.mean([c.decode_fps for c in clips])))
        results["frames"].append(int(sum(c.frames for c in clips)))
    return results


def _summary(name: str, quality: float, clips: list[ClipMeasurement]) -> str:
    return (f"{name} quality {quality:g}: {np.mean([c.bpp for c in clips]):.4f} bpp, "
            f"{np.mean([c.psnr_rgb for c in clips]):.2f} dB RGB, {np.mean([c.psnr_yuv for c in clips]):.2f} dB YUV, "
            f"encode {np.mean([c.encode_fps for c in clips]):.2f} fps, "
            f"decode {np.mean([c.decode_fps for c in clips]):.2f} fps")


def evaluate_video(model: LoadedModel, clips: list[Path], qualities: list[float], workdir: Path,
                   max_frames: int | None = None, progress: Callable[[str], None] = lambda line: None,
                   intra_period: int | None = None, fit: FitConfig | None = None) -> RDResults:
    """lic on every clip at every quality, through a real ``.lic`` file; decoded frames must
    equal the encoder's reconstructions bit for bit. ``intra_period`` and ``fit`` (INR
    mode) as in :func:`lic.codec.video.encode_video`."""
    sources = [load_clip(path, max_frames) for path in clips]
    points = []
    period = 1
    for quality in qualities:
        measured = []
        for path, (clip, fps) in zip(clips, sources):
            reconstructions: list[np.ndarray] = []
            info = VideoInfo(clip[0].shape[1], clip[0].shape[0], fps)
            t0 = time.perf_counter()
            data, header = encode_video(clip, info, model, quality,
                                        on_frame=lambda record: reconstructions.append(record.reconstruction),
                                        intra_period=intra_period, fit=fit)
            period = header.intra_period
            t1 = time.perf_counter()
            file = workdir / f"{path.stem}-q{quality:g}.lic"
            file.write_bytes(data)
            data = file.read_bytes()
            t2 = time.perf_counter()
            decoded = list(decode_video(data, model))
            t3 = time.perf_counter()
            if not all(np.array_equal(a, b) for a, b in zip(decoded, reconstructions)):
                raise LicError(f"{path}: decoded frames differ from the encoder's reconstructions")
            measured.append(measure_clip(clip, data, decoded, t1 - t0, t3 - t2))
        progress(_summary(f"lic-{model.name}", quality, measured))
        points.append((quality, measured))
    device = next(iter(model.module.state_dict().values())).device
    mode, what = video_mode_for(model).describe(period, fit)
    return RDResults(f"lic-{model.name}-{mode}", f"lic {model.name} (weights {model.digest.hex()[:16]}), {what}, "
                     "through real .lic files", _table(points),
                     {"clips": [str(c) for c in clips], "max_frames": max_frames, "weights_sha256": model.digest.hex(),
                      "intra_period": period,
                      "device": machine_description(device), "torch": torch.__version__})


@dataclass(frozen=True)
class LowDelayCodec:
    """x264 or x265 through PyAV: 4:2:0, constant QP, no B-frames (low-delay P), intra every ``gop`` frames."""

    key: str
    encoder: str
    decoder: str
    preset: str = "medium"
    gop: int = 32
    qualities: tuple[float, ...] = (22, 27, 32, 37, 42)

    @property
    def description(self) -> str:
        return (f"{self.encoder} through PyAV, preset {self.preset}, tune psnr, yuv420p, constant QP (quality = QP), "
                f"low-delay P (no B-frames), intra period {self.gop}, raw stream bytes")

    def _options(self, qp: int) -> dict[str, str]:
        if self.encoder == "libx265":
            return {"preset": self.preset, "tune": "psnr",
                    "x265-params": f"qp={qp}:keyint={self.gop}:min-keyint={self.gop}:bframes=0:"
                    "scenecut=0:log-level=none"}
        return {"preset": self.preset, "tune": "psnr", "qp": str(qp), "bf": "0", "g": str(self.gop),
                "keyint_min": str(self.gop), "sc_threshold": "0"}

    def encode(self, clip: list[np.ndarray], fps: Fraction, qp: int) -> bytes:
        """Raw elementary stream of the clip."""
        import av

        height, width = clip[0].shape[:2]
        context = av.CodecContext.create(self.encoder, "w")
        context.width, context.height = width - width % 2, height - height % 2
        context.pix_fmt = "yuv420p"
        context.time_base = 1 / fps
        context.framerate = fps
        context.options = self._options(qp)
        out = bytearray()
        for i, pixels in enumerate(clip):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels[: context.height, : context.width]),
                                               format="rgb24").reformat(format="yuv420p")
            frame.pts = i
            out += b"".join(bytes(p) for p in context.encode(frame))
        out += b"".join(bytes(p) for p in context.encode(None))
        return bytes(out)

    def decode(self, data: bytes) -> list[np.ndarray]:
        """RGB frames of a raw stream."""
        import av

        context = av.CodecContext.create(self.decoder, "r")
        frames = []
        for packet in context.parse(data) + context.parse(None):
            frames += context.decode(packet)
        frames += context.decode(None)
        return [f.to_ndarray(format="rgb24") for f in frames]


def low_delay_codecs(preset: str = "medium", gop: int = 32) -> dict[str, LowDelayCodec]:
    """The video codecs ``lic bench`` knows."""
    return {"x264-lowdelay": LowDelayCodec("x264-lowdelay", "libx264", "h264", preset, gop),
            "x265-lowdelay": LowDelayCodec("x265-lowdelay", "libx265", "hevc", preset, gop)}


def bench_video(codec: LowDelayCodec, clips: list[Path], qps: list[float], workdir: Path,
                max_frames: int | None = None, progress: Callable[[str], None] = lambda line: None) -> RDResults:
    """x264 / x265 on every clip at every QP, through a real file (odd sizes are cropped to even)."""
    sources = [load_clip(path, max_frames) for path in clips]
    points = []
    for qp in qps:
        measured = []
        for path, (clip, fps) in zip(clips, sources):
            even = [f[: f.shape[0] - f.shape[0] % 2, : f.shape[1] - f.shape[1] % 2] for f in clip]
            t0 = time.perf_counter()
            data = codec.encode(even, fps, int(qp))
            t1 = time.perf_counter()
            file = workdir / f"{path.stem}-qp{qp:g}.bin"
            file.write_bytes(data)
            t2 = time.perf_counter()
            decoded = codec.decode(file.read_bytes())
            t3 = time.perf_counter()
            measured.append(measure_clip(even, data, decoded, t1 - t0, t3 - t2))
        progress(_summary(codec.key, qp, measured))
        points.append((qp, measured))
    return RDResults(codec.key, codec.description, _table(points),
                     {"clips": [str(c) for c in clips], "max_frames": max_frames,
                      "device": machine_description(torch.device("cpu"))})
