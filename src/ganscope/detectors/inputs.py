"""What a CNN detector sees: RGB, NPR residuals, or a log spectrum (the ``--features`` of
``detector train --method cnn``).

Wang et al. (CVPR 2020) normalize RGB with ImageNet statistics; NPR is Tan et al. (CVPR 2024,
eq. 1); the DCT input is Frank et al. (ICML 2020). Pure torch, importable without scikit-learn
(the command line reads :data:`CNN_INPUTS` at start-up).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganscope.errors import GanscopeError
from ganscope.spectrum import dct2

CNN_INPUTS = ("rgb", "npr", "fft", "dct")
"""What a :class:`CNNDetector` sees: ``rgb``, ``npr``, ``fft`` or ``dct``."""

EVAL_CROPS = ("center", "full", "tiles")
"""How a :class:`CNNDetector` views an image when scoring: its central crop, all of it at once,
or the mean logit of crop-sized tiles covering every pixel (:mod:`ganscope.detectors.tiles`)."""

CALIBRATIONS = ("threshold", "temperature", "platt")
"""How a :class:`CNNDetector` turns validation scores into a decision rule: a balanced-accuracy
threshold on P(fake), a temperature on its logit with threshold 0.5, or a temperature and a bias
(Platt scaling) with threshold 0.5."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _imagenet_normalize(x: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(IMAGENET_MEAN, device=x.device, dtype=x.dtype)[:, None, None]
    std = torch.tensor(IMAGENET_STD, device=x.device, dtype=x.dtype)[:, None, None]
    return (x - mean) / std


def npr_residual(x: torch.Tensor) -> torch.Tensor:
    """Neighbouring Pixel Relationships: ``x - up(down(x))``, nearest down and up by 2.

    Tan et al., "Rethinking the Up-Sampling Operations in CNN-based Generative Network for
    Generalizable Deepfake Detection", CVPR 2024, eq. 1. Zero on images that are constant on
    2x2 blocks (exactly what nearest up-sampling makes).

    Shape:
        ``(B, C, H, W)`` to ``(B, C, H, W)``; odd sizes are handled (the last row/column of a
        block is repeated).
    """
    H, W = x.shape[-2:]
    down = F.interpolate(x, size=(max(1, H // 2), max(1, W // 2)), mode="nearest")
    up = F.interpolate(down, size=(H, W), mode="nearest")
    return x - up


def cnn_input(x: torch.Tensor, kind: str) -> torch.Tensor:
    """Map images ``(B, 3, H, W)`` in [0, 1] to what the network sees (before standardization).

    - ``rgb``: ImageNet mean/std normalization (Wang et al. 2020; what CNNDetection weights want).
    - ``npr``: NPR of the normalized image, times 2/3 (Tan et al. 2024's reference code).
    - ``fft``: ``log(|F| + 1e-6)`` of the orthonormal, centred 2D FFT per channel.
    - ``dct``: ``log(|DCT| + 1e-6)`` of the orthonormal 2D DCT-II per channel (Frank et al.).
    """
    if kind == "rgb":
        return _imagenet_normalize(x)
    if kind == "npr":
        return npr_residual(_imagenet_normalize(x)) * (2.0 / 3.0)
    if kind == "fft":
        spec = torch.fft.fftshift(torch.fft.fft2(x, norm="ortho"), dim=(-2, -1))
        return torch.log(spec.abs() + 1e-6)
    if kind == "dct":
        return torch.log(dct2(x).abs() + 1e-6)
    raise GanscopeError(f"unknown CNN input {kind!r}; choose from {', '.join(CNN_INPUTS)}")
