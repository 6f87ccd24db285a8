"""lic in a Ray Data pipeline: a dataset of images (or image paths) to ``.lic`` bytes, and back.

Example:
    >>> import ray  # doctest: +SKIP
    >>> from lic.distributed.datasets import decode_dataset, encode_dataset
    >>> images = ray.data.read_images("s3://bucket/photos/", mode="RGB")  # column "image"  # doctest: +SKIP
    >>> coded = encode_dataset(images, quality=3)                       # adds column "lic"  # doctest: +SKIP
    >>> coded.select_columns(["lic"]).write_parquet("s3://bucket/coded/")  # doctest: +SKIP
    >>> restored = decode_dataset(coded, output_column="restored")      # doctest: +SKIP

Both functions are lazy ``map_batches`` steps over an actor pool: each actor loads the
model once; the encoder's actors check the weights digest they loaded against the one
the driver computed, so a node with other weights fails the step instead of writing
streams the pipeline did not ask for. A row lic cannot code (unreadable image, damaged
stream) raises its :class:`~lic.errors.LicError` and fails the step, as any failing Ray
Data function does (``DataContext.max_errored_blocks`` tolerates some).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lic.distributed.runtime import absolute, import_ray
from lic.models import DEFAULT_MODEL

if TYPE_CHECKING:
    from ray.data import Dataset


def encode_dataset(dataset: Dataset, *, quality: float | None = None, bpp: float | None = None, refine: int = 0,
                   model: str = DEFAULT_MODEL, weights: Path | None = None, device: str = "cpu",
                   column: str = "image", output_column: str = "lic", workers: int | None = None,
                   batch_size: int = 8) -> Dataset:
    """A ``ray.data.Dataset`` with ``output_column`` added: the ``.lic`` bytes of each row's ``column``.

    ``column`` holds ``HxWx3`` / ``HxW`` uint8 arrays (what ``ray.data.read_images`` gives)
    or paths of image files readable by every worker. ``quality``, ``bpp`` and
    ``refine`` are those of :meth:`lic.Codec.encode`. ``workers``: actors in the pool
    (default: one per CPU of the cluster, scaled by Ray Data); each uses one CPU, or
    one GPU with ``device="cuda"``.
    """
    from lic.models.weights import load_model

    digest = load_model(model, weights, "cpu").digest
    coder = {"model": model, "weights": absolute(weights), "device": device, "digest": digest,
             "options": (quality, bpp, refine)}
    return _map(dataset, _Encoder, coder, column, output_column, workers, batch_size, device)


def decode_dataset(dataset: Dataset, *, weights: Path | None = None, device: str = "cpu", column: str = "lic",
                   output_column: str = "image", workers: int | None = None, batch_size: int = 8) -> Dataset:
    """A ``ray.data.Dataset`` with ``output_column`` added: the decoded ``HxWx3`` (``HxW`` for
    grayscale) uint8 pixels of each row's ``.lic`` bytes in ``column``.

    Each stream is decoded with the model its header names (``weights`` overrides the
    shipped file); a stream made with other weights fails with
    :class:`~lic.errors.ModelMismatchError`.
    """
    coder = {"weights": absolute(weights), "device": device}
    return _map(dataset, _Decoder, coder, column, output_column, workers, batch_size, device)


def _map(dataset: Dataset, udf: type, coder: dict, column: str, output_column: str, workers: int | None,
         batch_size: int, device: str) -> Dataset:
    ray = import_ray()
    pool = ray.data.ActorPoolStrategy(size=workers) if workers else ray.data.ActorPoolStrategy(min_size=1)
    return dataset.map_batches(udf, fn_constructor_kwargs={"coder": coder, "column": column,
                                                           "output_column": output_column},
                               batch_size=batch_size, batch_format="numpy", compute=pool,
                               num_cpus=1, num_gpus=1 if device.startswith("cuda") else 0)


def _pixels(value: Any) -> np.ndarray:
    """An image value of a dataset row: an array, or the path of a file."""
    from lic.api import to_pixels
    from lic.io.imageio import read_image

    if isinstance(value, (str, Path)):
        return read_image(Path(value))[0]
    return to_pixels(np.asarray(value))


class _Encoder:
    """``map_batches`` actor: one model, checked against the driver's digest, for every batch."""

    def __init__(self, coder: dict, column: str, output_column: str) -> None:
        from lic.api import Codec
        from lic.models.weights import check_digest

        self.codec = Codec(coder["model"], coder["weights"], coder["device"])
        check_digest(self.codec.model, coder["digest"])
        self.options = coder["options"]
        self.column, self.output_column = column, output_column

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        streams = [self.codec.compress(_pixels(value), *self.options) for value in batch[self.column]]
        return {**batch, self.output_column: np.array(streams, dtype=object)}


class _Decoder:
    """``map_batches`` actor: the models the streams name, each loaded once."""

    def __init__(self, coder: dict, column: str, output_column: str) -> None:
        self.weights, self.device = coder["weights"], coder["device"]
        self.column, self.output_column = column, output_column
        self.codecs: dict[str, Any] = {}

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from lic.format.container import read_image_header

        images = []
        for value in batch[self.column]:
            data = bytes(value)
            name = read_image_header(data).model
            if name not in self.codecs:
                from lic.api import Codec

                self.codecs[name] = Codec(name, self.weights, self.device)
            images.append(self.codecs[name].decompress(data))
        column = np.empty(len(images), dtype=object)
        column[:] = images
        return {**batch, self.output_column: column}
