"""Rate-distortion training loss: ``lambda * D + R`` with MSE or MS-SSIM distortion."""

from __future__ import annotations

import torch.nn.functional as F
from pytorch_msssim import ms_ssim
from torch import Tensor, nn

from lic.models.rate import rate_bpp

DISTORTIONS = ("mse", "ms-ssim")


class RateDistortionLoss(nn.Module):
    """``lambda * 255^2 * MSE + bpp`` (``mse``) or ``lambda * (1 - MS-SSIM) + bpp`` (``ms-ssim``).

    These are CompressAI's conventions, so its published lambdas carry over. The
    distortion is computed in float32 whatever precision the model ran in.
    """

    def __init__(self, distortion: str = "mse") -> None:
        super().__init__()
        if distortion not in DISTORTIONS:
            raise ValueError(f"distortion must be one of {DISTORTIONS}, not {distortion!r}")
        self.distortion = distortion

    def forward(self, x_hat: Tensor, x: Tensor, likelihoods: dict[str, Tensor], lmbda: float) -> dict[str, Tensor]:
        """``loss``, ``bpp``, ``mse`` (always, for logging) and ``distortion``."""
        x_hat = x_hat.float()
        bpp = rate_bpp(likelihoods, x.shape[0] * x.shape[2] * x.shape[3])
        mse = F.mse_loss(x_hat, x)
        if self.distortion == "mse":
            distortion = 255**2 * mse
        else:
            distortion = 1 - ms_ssim(x_hat, x, data_range=1.0)
        return {"loss": lmbda * distortion + bpp, "bpp": bpp, "mse": mse, "distortion": distortion}
