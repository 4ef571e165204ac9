"""Fast mode's colour controls in numpy: the same maths as :mod:`painterly.color`
(YIQ luminance transfer; mean and covariance matching), without torch, so that
``painterly fast`` starts in a fraction of a second (issue #16). Tests check that both
give the same pixels.
"""

from __future__ import annotations

import numpy as np

# NTSC YIQ, as in painterly.color.
RGB_TO_YIQ = np.array(
    [
        [0.299, 0.587, 0.114],
        [0.595716, -0.274453, -0.321263],
        [0.211456, -0.522591, 0.311135],
    ]
)
YIQ_TO_RGB = np.linalg.inv(RGB_TO_YIQ)


def combine_luminance(luma_source: np.ndarray, color_source: np.ndarray) -> np.ndarray:
    """H×W×3 RGB with the luminance of ``luma_source`` and the I/Q colour of
    ``color_source`` (both H×W×3 RGB in 0–1), clamped to 0–1."""
    y = luma_source @ RGB_TO_YIQ[0].astype(np.float32)
    yiq = color_source @ RGB_TO_YIQ.T.astype(np.float32)
    yiq[..., 0] = y
    return np.clip(yiq @ YIQ_TO_RGB.T.astype(np.float32), 0.0, 1.0)


def _stats(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pixels = image.reshape(-1, 3).astype(np.float64)
    mean = pixels.mean(axis=0)
    centred = pixels - mean
    return mean, centred.T @ centred / len(pixels)


def _sqrtm(matrix: np.ndarray, inverse: bool = False) -> np.ndarray:
    values, vectors = np.linalg.eigh(matrix)
    values = np.maximum(values, 1e-8)
    root = 1.0 / np.sqrt(values) if inverse else np.sqrt(values)
    return vectors @ np.diag(root) @ vectors.T


def match_color_statistics(source: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``source`` (H×W×3 RGB in 0–1) moved linearly so that its pixels' mean and
    covariance equal ``reference``'s: x' = Σr^½ Σs^-½ (x − μs) + μr."""
    mu_s, cov_s = _stats(source)
    mu_r, cov_r = _stats(reference)
    transform = _sqrtm(cov_r) @ _sqrtm(cov_s, inverse=True)
    moved = (source.reshape(-1, 3) - mu_s) @ transform.T + mu_r
    return np.clip(moved.reshape(source.shape), 0.0, 1.0).astype(np.float32)


def smooth_chroma(rgb: np.ndarray, sigma: float) -> np.ndarray:
    """H×W×3 RGB (0–1) whose YIQ colour channels are Gaussian-blurred by ``sigma`` px
    while its luminance is kept exactly: fine colour noise goes, strokes (which live in
    the luminance) stay. The transform network paints R, G and B at every pixel on its
    own, and at the pixel scale their disagreement is rainbow speckle (issue #17); the eye
    resolves colour more coarsely than brightness, which is why JPEG halves chroma too."""
    if sigma <= 0:
        return rgb
    radius = max(1, int(np.ceil(3 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float32)
    kernel = np.exp(-(x**2) / (2 * sigma**2))
    kernel /= kernel.sum()
    yiq = rgb.astype(np.float32) @ RGB_TO_YIQ.T.astype(np.float32)
    chroma = yiq[..., 1:]
    for axis in (0, 1):  # separable, edges reflected so the border keeps its colour
        pad = [(0, 0)] * 3
        pad[axis] = (radius, radius)
        padded = np.pad(chroma, pad, mode="symmetric")
        n = chroma.shape[axis]
        chroma = sum(w * padded.take(np.arange(i, i + n), axis=axis) for i, w in enumerate(kernel))
    yiq[..., 1:] = chroma
    return np.clip(yiq @ YIQ_TO_RGB.T.astype(np.float32), 0.0, 1.0)
