"""Stroke size that follows the output size: paint small, carry the painting up with the
photo's detail (issue #16, ``--style-scale auto``).

Magenta's transform network paints strokes of a fixed size in pixels, so a 2048 px
photo painted directly gets strokes a quarter as large (relative to the picture) as a
512 px one and barely looks painted. ``auto`` paints at the network's natural scale
(:data:`NATURAL_SIDE`, the 384 px its graph was exported at) and brings the result to
full size by guided upsampling (He & Sun, "Fast Guided Filter", 2015; Kopf et al.,
"Joint Bilateral Upsampling", 2007 for the idea):

    q = up(p) + up(A) · (I − up(I↓))

``p`` is the painting at the small size, ``I`` the photo's luminance at full size and
``I↓`` at the small size, ``up`` a bicubic resize, and ``A`` the local slope of the
painting's luminance against the photo's, fitted in small windows at the small size as
the guided filter does (``A = cov(I↓, p) / (var(I↓) + eps)``, box-smoothed).
So the colours and strokes come from the painting, and the fine edges that the small
size could not hold come from the photo, scaled by how strongly the painting follows
the photo at that place (``A`` ≈ 0 where the painting ignores the photo's structure).
Numpy and Pillow only, no OpenCV: fast mode must start quickly.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

#: Longest side the transform network paints at in ``auto`` mode.
NATURAL_SIDE = 384
#: Guided-filter window radius (in pixels of the small painting) and regulariser.
RADIUS, EPS = 2, 1e-3
#: Limits of the local slope, so that a flat patch of the photo cannot amplify noise.
SLOPE_RANGE = (-1.0, 2.0)


def auto_work_size(size: tuple[int, int], natural: int = NATURAL_SIDE) -> tuple[int, int]:
    """The (w, h) the network paints at for an output of ``size``: the output itself
    up to ``natural`` px on the longest side, else the output shrunk to that."""
    w, h = size
    if max(w, h) <= natural:
        return size
    scale = natural / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def box_mean(x: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)² window of each pixel of an H×W(×C) array; windows are cut at
    the border (divided by their true size), as in the guided filter paper. Separable
    running sums: O(1) per pixel whatever the radius."""
    out = x.astype(np.float32)  # sums of at most a few hundred values in 0–1: float32 suffices
    for axis in (0, 1):
        n = out.shape[axis]
        table = np.concatenate([np.zeros_like(out.take([0], axis=axis)), out.cumsum(axis=axis)], axis=axis)
        hi = np.minimum(np.arange(n) + radius + 1, n)
        lo = np.maximum(np.arange(n) - radius, 0)
        shape = [1] * out.ndim
        shape[axis] = n
        out = (table.take(hi, axis=axis) - table.take(lo, axis=axis)) / (hi - lo).reshape(shape).astype(
            np.float32
        )
    return out.astype(np.float32)


def _plane(img: Image.Image) -> np.ndarray:
    """Pillow image → H×W float32 luminance in 0–1 (Pillow's L uses the same Rec. 601 weights)."""
    return np.asarray(img.convert("L"), dtype=np.float32) / 255.0


def local_slope(guide: np.ndarray, painted: np.ndarray, radius: int = RADIUS, eps: float = EPS) -> np.ndarray:
    """Guided-filter slope A of ``painted`` against ``guide`` (both H×W, or ``painted``
    H×W×C for one slope per channel), smoothed over the same window, clipped to
    :data:`SLOPE_RANGE`."""
    g = guide if painted.ndim == 2 else guide[..., None]
    mean_i = box_mean(guide, radius)
    mean_g = mean_i if painted.ndim == 2 else mean_i[..., None]
    mean_p = box_mean(painted, radius)
    cov = box_mean(g * painted, radius) - mean_g * mean_p
    var = np.maximum(box_mean(guide * guide, radius) - mean_i * mean_i, 0.0)
    slope = cov / ((var if painted.ndim == 2 else var[..., None]) + eps)
    return np.clip(box_mean(slope, radius), *SLOPE_RANGE)


def guided_upsample(
    painted: Image.Image,
    photo_small: Image.Image,
    photo: Image.Image,
    radius: int = RADIUS,
    eps: float = EPS,
) -> Image.Image:
    """Bring a painting made at a small size up to the photo's full size (RGB images).

    ``photo_small`` is the photo the network painted (same size as ``painted``),
    ``photo`` the full-size one. One slope, of the painting's luminance against the
    photo's, scales the photo's fine detail, which is added to all three channels (a
    slope per channel cost three full-size resizes more and looked the same). Work at
    full size is three Pillow resizes and a few array operations: about 0.1 s per
    megapixel on one core.
    """
    size = photo.size
    guide_small = photo_small.convert("L")
    slope = local_slope(_plane(guide_small), _plane(painted), radius, eps)
    # detail in 0–255 units: the photo's luminance minus what the small size holds of it
    detail = np.asarray(photo.convert("L"), dtype=np.float32)
    detail -= np.asarray(guide_small.resize(size, Image.Resampling.BICUBIC), dtype=np.float32)
    detail *= np.asarray(Image.fromarray(slope, "F").resize(size, Image.Resampling.BILINEAR))
    out = np.asarray(painted.convert("RGB").resize(size, Image.Resampling.BICUBIC), dtype=np.float32)
    out += detail[..., None]
    out += 0.5
    np.clip(out, 0.0, 255.0, out=out)
    return Image.fromarray(out.astype(np.uint8), "RGB")
