"""Training data: random crops from an in-memory cache of decoded images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from lic.io.imageio import list_images


class CropCache:
    """Decodes every image once (RGB uint8) and serves random flipped crops.

    Images smaller than the crop are skipped.
    """

    def __init__(self, folders: list[str], crop: int) -> None:
        self.crop = crop
        self.images: list[np.ndarray] = []
        for folder in folders:
            for path in list_images(Path(folder)):
                with Image.open(path) as im:
                    array = np.asarray(im.convert("RGB"))
                if min(array.shape[:2]) >= crop:
                    self.images.append(array)
        if not self.images:
            raise ValueError(f"no training image of at least {crop} px in {folders}")

    def __len__(self) -> int:
        return len(self.images)

    def batch(self, size: int, rng: np.random.Generator) -> torch.Tensor:
        """``[size, 3, crop, crop]`` float batch in ``[0, 1]``."""
        out = np.empty((size, self.crop, self.crop, 3), dtype=np.uint8)
        for i in range(size):
            image = self.images[rng.integers(len(self.images))]
            top = rng.integers(image.shape[0] - self.crop + 1)
            left = rng.integers(image.shape[1] - self.crop + 1)
            crop = image[top : top + self.crop, left : left + self.crop]
            if rng.random() < 0.5:
                crop = crop[:, ::-1]
            if rng.random() < 0.5:
                crop = crop[::-1]
            out[i] = crop
        return torch.from_numpy(out).permute(0, 3, 1, 2).float().div_(255.0)
