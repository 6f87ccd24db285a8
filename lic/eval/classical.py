"""Classical image codecs measured on this machine, for ``lic bench``.

Each codec turns an RGB uint8 image into the bytes of a real file and back. Nothing
is emulated: a codec whose library or executable is missing says so through
:meth:`ClassicalCodec.missing`, and ``lic bench`` reports it as missing.

* Pillow: JPEG (4:2:0 and 4:4:4), WebP, AVIF, JPEG 2000 (OpenJPEG);
* pillow-jxl-plugin: JPEG XL;
* PyAV: HEVC intra through libx265 (one-frame stream, 4:4:4, full range);
* executables the user points to: BPG (``bpgenc``/``bpgdec``) and VVC's reference
  software VTM (``EncoderApp``/``DecoderApp`` and an intra configuration file); VTM built by
  ``benchmarks/build_vtm.sh`` is found without paths (:mod:`lic.eval.vtm_install`).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, features

from lic.errors import LicError
from lic.eval.vtm_install import built_vtm, vtm_dir


class ClassicalCodec(ABC):
    """A codec ``lic bench`` can measure.

    Attributes:
        key: short name on the command line.
        description: what exactly runs (library, settings), stored in the results file.
        qualities: default quality settings, in the codec's own units.
        suffix: file extension of the coded files.
    """

    key: str
    description: str
    qualities: tuple[float, ...]
    suffix: str

    def missing(self) -> str | None:
        """Why the codec cannot run here, or ``None`` when it can."""
        return None

    @abstractmethod
    def encode(self, pixels: np.ndarray, quality: float) -> bytes:
        """The file content of ``pixels`` (``HxWx3`` uint8) at ``quality``."""

    @abstractmethod
    def decode(self, data: bytes, width: int, height: int) -> np.ndarray:
        """The ``HxWx3`` uint8 image a file decodes to."""


def _pil_decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


@dataclass
class PillowCodec(ClassicalCodec):
    """A codec Pillow writes and reads; ``options(quality)`` gives the save arguments."""

    key: str
    description: str
    qualities: tuple[float, ...]
    suffix: str
    pil_format: str
    options: Callable[[float], dict]
    feature: str = ""
    plugin: str = ""

    def missing(self) -> str | None:
        if self.plugin:
            try:
                __import__(self.plugin)
            except ImportError:
                return f"Python package {self.plugin} is not installed (pip install 'lic[bench]')"
        if self.feature and not features.check(self.feature):
            return f"this Pillow build has no {self.feature} support"
        return None

    def encode(self, pixels: np.ndarray, quality: float) -> bytes:
        if self.plugin:
            __import__(self.plugin)
        buffer = io.BytesIO()
        Image.fromarray(pixels, "RGB").save(buffer, self.pil_format, **self.options(quality))
        return buffer.getvalue()

    def decode(self, data: bytes, width: int, height: int) -> np.ndarray:
        if self.plugin:
            __import__(self.plugin)
        return _pil_decode(data)


@dataclass
class X265Codec(ClassicalCodec):
    """HEVC intra through PyAV's libx265: one frame, YUV 4:4:4 full range (BT.709), fixed QP."""

    preset: str = "medium"
    key: str = "x265"
    qualities: tuple[float, ...] = (17, 22, 27, 32, 37, 42, 47)
    suffix: str = ".hevc"
    description: str = field(init=False)

    def __post_init__(self) -> None:
        self.description = (f"HEVC intra, libx265 through PyAV, preset {self.preset}, tune psnr, "
                            "yuv444p full range BT.709, "
                            "constant QP (quality = QP), raw Annex-B stream with its parameter sets")

    def missing(self) -> str | None:
        try:
            import av
        except ImportError:
            return "PyAV is not installed (pip install av)"
        return None if "libx265" in av.codecs_available else "this PyAV build has no libx265"

    def encode(self, pixels: np.ndarray, quality: float) -> bytes:
        import av

        height, width = pixels.shape[:2]
        if width % 2 or height % 2:
            raise LicError(f"x265 needs even sides, got {width}x{height}")
        context = av.CodecContext.create("libx265", "w")
        context.width, context.height = width, height
        context.pix_fmt = "yuv444p"
        context.time_base = Fraction(1, 25)
        context.color_range = 2  # full (JPEG) range
        context.options = {"preset": self.preset, "tune": "psnr",
                           "x265-params": f"qp={int(quality)}:keyint=1:log-level=none:"
                           "range=full:colorprim=bt709:transfer=bt709:colormatrix=bt709"}
        frame = av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(
            format="yuv444p", dst_colorspace="ITU709", dst_color_range="JPEG")
        frame.pts = 0
        packets = list(context.encode(frame)) + list(context.encode(None))
        return b"".join(bytes(p) for p in packets)

    def decode(self, data: bytes, width: int, height: int) -> np.ndarray:
        import av

        context = av.CodecContext.create("hevc", "r")
        frames = []
        for packet in context.parse(data) + context.parse(None):
            frames += context.decode(packet)
        frames += context.decode(None)
        if len(frames) != 1:
            raise LicError(f"x265 stream decoded to {len(frames)} frames, expected 1")
        return frames[0].reformat(format="rgb24", src_colorspace="ITU709", src_color_range="JPEG").to_ndarray()


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or [""]
        raise LicError(f"{Path(command[0]).name} failed (exit {result.returncode}): {tail[0]}")


def _find(path: str | None, name: str) -> str | None:
    if path:
        candidate = Path(path) / name if Path(path).is_dir() else Path(path)
        return str(candidate) if candidate.is_file() else None
    return shutil.which(name)


class ExternalCodec(ClassicalCodec):
    """A codec run as an encoder and a decoder executable (``encoder_name``/``decoder_name``),
    found in ``encoder_path``/``decoder_path`` (a file or its folder) or on ``PATH``."""

    encoder_path: str | None
    decoder_path: str | None
    encoder_name: str
    decoder_name: str

    def _tools(self) -> tuple[str | None, str | None]:
        return (_find(self.encoder_path, self.encoder_name),
                _find(self.decoder_path or self.encoder_path, self.decoder_name))

    def missing(self) -> str | None:
        encoder, decoder = self._tools()
        if not encoder or not decoder:
            return (f"{self.encoder_name}/{self.decoder_name} not found (give their folder or files with "
                    "--encoder-path / --decoder-path)")
        return None


@dataclass
class BpgCodec(ExternalCodec):
    """BPG (HEVC intra in a small container) through the ``bpgenc`` / ``bpgdec`` executables."""

    encoder_path: str | None = None
    decoder_path: str | None = None
    key: str = "bpg"
    qualities: tuple[float, ...] = (22, 27, 32, 37, 42, 47)
    suffix: str = ".bpg"
    description: str = "BPG, bpgenc -f 444 -c ycbcr -e x265 -b 8, quality = QP"

    encoder_name: str = "bpgenc"
    decoder_name: str = "bpgdec"

    def encode(self, pixels: np.ndarray, quality: float) -> bytes:
        encoder, _ = self._tools()
        with tempfile.TemporaryDirectory() as tmp:
            source, coded = Path(tmp) / "in.png", Path(tmp) / "out.bpg"
            Image.fromarray(pixels, "RGB").save(source)
            _run([str(encoder), "-o", str(coded), "-q", str(int(quality)), "-f", "444", "-c", "ycbcr", "-e", "x265",
                  "-b", "8", str(source)])
            return coded.read_bytes()

    def decode(self, data: bytes, width: int, height: int) -> np.ndarray:
        _, decoder = self._tools()
        with tempfile.TemporaryDirectory() as tmp:
            coded, output = Path(tmp) / "in.bpg", Path(tmp) / "out.png"
            coded.write_bytes(data)
            _run([str(decoder), "-o", str(output), str(coded)])
            return _pil_decode(output.read_bytes())


# Full-range BT.709 RGB <-> YCbCr, as 8-bit planar 4:4:4 for VTM.
_RGB_TO_YCBCR = np.array([[0.2126, 0.7152, 0.0722], [-0.1146, -0.3854, 0.5], [0.5, -0.4542, -0.0458]])


def rgb_to_ycbcr_planes(pixels: np.ndarray) -> np.ndarray:
    """``3xHxW`` uint8 YCbCr (full range, BT.709) of an RGB image."""
    ycc = pixels.astype(np.float64) @ _RGB_TO_YCBCR.T + np.array([0.0, 128.0, 128.0])
    return np.clip(np.round(ycc), 0, 255).astype(np.uint8).transpose(2, 0, 1)


def ycbcr_planes_to_rgb(planes: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb_to_ycbcr_planes`."""
    ycc = planes.transpose(1, 2, 0).astype(np.float64) - np.array([0.0, 128.0, 128.0])
    return np.clip(np.round(ycc @ np.linalg.inv(_RGB_TO_YCBCR).T), 0, 255).astype(np.uint8)


@dataclass
class VtmCodec(ExternalCodec):
    """VVC intra through VTM's ``EncoderApp`` / ``DecoderApp`` and an intra config file (``--config``).

    Paths not given default to the VTM built by ``benchmarks/build_vtm.sh`` (its
    ``EncoderAppStatic``/``DecoderAppStatic`` and ``cfg/encoder_intra_vtm.cfg``) when it exists.
    """

    encoder_path: str | None = None
    decoder_path: str | None = None
    config: str | None = None
    key: str = "vtm"
    qualities: tuple[float, ...] = (22, 27, 32, 37, 42, 47)
    suffix: str = ".vvc"
    description: str = field(init=False)

    encoder_name: str = "EncoderApp"
    decoder_name: str = "DecoderApp"

    def __post_init__(self) -> None:
        built = built_vtm()
        if built and not self.encoder_path:
            self.encoder_path = str(built.encoder)
            self.decoder_path = self.decoder_path or str(built.decoder)
        if built and not self.config:
            self.config = str(built.intra_config)
        config = Path(self.config).name if self.config else "no config"
        self.description = (f"VTM EncoderApp/DecoderApp ({config}), YCbCr 4:4:4 full range BT.709, 8 bit in and out, "
                            "one frame, quality = QP")

    def missing(self) -> str | None:
        if not self.config or not Path(self.config).is_file():
            return (f"VTM needs its intra configuration file (--config encoder_intra_vtm.cfg), or VTM built in "
                    f"{vtm_dir()} by benchmarks/build_vtm.sh")
        if super().missing():
            return (f"{self.encoder_name}/{self.decoder_name} not found: build them with benchmarks/build_vtm.sh "
                    "or give their folder or files with --encoder-path / --decoder-path")
        return None

    def encode(self, pixels: np.ndarray, quality: float) -> bytes:
        encoder, _ = self._tools()
        height, width = pixels.shape[:2]
        with tempfile.TemporaryDirectory() as tmp:
            source, coded = Path(tmp) / "in.yuv", Path(tmp) / "out.bin"
            source.write_bytes(rgb_to_ycbcr_planes(pixels).tobytes())
            _run([str(encoder), "-c", str(self.config), "-i", str(source), "-b", str(coded), "-o", "/dev/null",
                  "-wdt", str(width), "-hgt", str(height), "-q", str(int(quality)), "-fr", "1", "-f", "1",
                  "--InputChromaFormat=444", "--InputBitDepth=8", "--OutputBitDepth=8", "--ConformanceWindowMode=1"])
            return coded.read_bytes()

    def decode(self, data: bytes, width: int, height: int) -> np.ndarray:
        _, decoder = self._tools()
        with tempfile.TemporaryDirectory() as tmp:
            coded, output = Path(tmp) / "in.bin", Path(tmp) / "out.yuv"
            coded.write_bytes(data)
            _run([str(decoder), "-b", str(coded), "-o", str(output), "-d", "8"])
            planes = np.frombuffer(output.read_bytes(), np.uint8)
            if planes.size != 3 * width * height:
                raise LicError(f"VTM decoded {planes.size} samples, expected {3 * width * height}")
            return ycbcr_planes_to_rgb(planes.reshape(3, height, width))


_QUALITY_STEPS = (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)


def classical_codecs(encoder_path: str | None = None, decoder_path: str | None = None,
                     config: str | None = None, preset: str = "medium") -> dict[str, ClassicalCodec]:
    """Every codec ``lic bench`` knows, by key."""
    codecs: list[ClassicalCodec] = [
        PillowCodec("jpeg", "JPEG 4:2:0 (Pillow, libjpeg, optimized Huffman tables), quality 5..95", _QUALITY_STEPS,
                    ".jpg", "JPEG", lambda q: {"quality": int(q), "subsampling": 2, "optimize": True}),
        PillowCodec("jpeg444", "JPEG 4:4:4 (Pillow, libjpeg, optimized Huffman tables), quality 5..95",
                    _QUALITY_STEPS, ".jpg", "JPEG", lambda q: {"quality": int(q), "subsampling": 0, "optimize": True}),
        PillowCodec("webp", "WebP (Pillow, libwebp, method 6), quality 5..95", _QUALITY_STEPS, ".webp", "WEBP",
                    lambda q: {"quality": int(q), "method": 6}, feature="webp"),
        PillowCodec("avif", "AVIF (Pillow, libavif, 4:4:4, speed 6), quality 5..95", _QUALITY_STEPS, ".avif",
                    "AVIF", lambda q: {"quality": int(q), "subsampling": "4:4:4", "speed": 6}, feature="avif"),
        PillowCodec("jpeg2000",
                    "JPEG 2000 (Pillow, OpenJPEG, irreversible 9/7 with colour transform), quality = compression ratio",
                    (200, 128, 96, 64, 48, 32, 24, 16, 12), ".jp2", "JPEG2000",
                    lambda q: {"quality_mode": "rates", "quality_layers": [float(q)], "irreversible": True,
                               "mct": 1},
                    feature="jpg_2000"),
        PillowCodec("jxl", "JPEG XL (pillow-jxl-plugin, libjxl, effort 7), quality 5..95", _QUALITY_STEPS, ".jxl",
                    "JXL", lambda q: {"quality": int(q), "effort": 7}, plugin="pillow_jxl"),
        X265Codec(preset),
        BpgCodec(encoder_path, decoder_path),
        VtmCodec(encoder_path, decoder_path, config),
    ]
    return {codec.key: codec for codec in codecs}
