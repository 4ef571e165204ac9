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
painting against the photo's luminance, fitted in small windows at the small size as
the guided filter does (``A = cov(I↓, p) / (var(I↓) + eps)``, box-smoothed, per channel).
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
#: Rec. 601 luma weights, the Y of YIQ (as in painterly.color).
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


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


def luminance(rgb: np.ndarray) -> np.ndarray:
    """H×W×3 RGB in 0–1 → H×W luminance."""
    return rgb @ LUMA


def _resize_plane(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bicubic resize of one H×W float32 plane to (w, h), through Pillow's float mode."""
    return np.asarray(Image.fromarray(plane.astype(np.float32), "F").resize(size, Image.Resampling.BICUBIC))


def local_slope(guide: np.ndarray, painted: np.ndarray, radius: int = RADIUS, eps: float = EPS) -> np.ndarray:
    """Guided-filter slope A (H×W×3) of ``painted`` (H×W×3) against ``guide`` (H×W),
    smoothed over the same window, clipped to :data:`SLOPE_RANGE`."""
    mean_i = box_mean(guide, radius)
    mean_p = box_mean(painted, radius)
    cov = box_mean(guide[..., None] * painted, radius) - mean_i[..., None] * mean_p
    var = box_mean(guide * guide, radius) - mean_i * mean_i
    slope = cov / (np.maximum(var, 0.0)[..., None] + eps)
    return np.clip(box_mean(slope, radius), *SLOPE_RANGE)


def guided_upsample(
    painted: np.ndarray, photo_small: np.ndarray, photo: np.ndarray, radius: int = RADIUS, eps: float = EPS
) -> np.ndarray:
    """Bring a painting made at a small size up to the photo's full size.

    ``painted`` and ``photo_small`` are h×w×3, ``photo`` is H×W×3, all float32 RGB in
    0–1 (``photo_small`` is the photo the network painted). Returns H×W×3 in 0–1.
    """
    big_h, big_w = photo.shape[:2]
    size = (big_w, big_h)
    guide_small = luminance(photo_small)
    slope = local_slope(guide_small, painted, radius, eps)
    detail = luminance(photo) - _resize_plane(guide_small, size)
    up = np.asarray(
        Image.fromarray(_to_uint8(painted), "RGB").resize(size, Image.Resampling.BICUBIC), dtype=np.float32
    )
    out = up / 255.0
    for c in range(3):
        out[..., c] += _resize_plane(slope[..., c], size) * detail
    return np.clip(out, 0.0, 1.0)


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    return (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
