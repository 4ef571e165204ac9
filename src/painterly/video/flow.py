"""Optical flow between consecutive frames, warping, and where the flow can be trusted.

Flows are H×W×2 float32 arrays of (dx, dy) in pixels. ``backward = flow(frame_t, frame_t-1)``
says, for each pixel of frame t, where it was in frame t−1; warping the previous output
with it moves the previous strokes onto frame t. OpenCV is imported inside functions
(it is an optional dependency, ``painterly[video]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from painterly.errors import import_optional

#: Ruder et al. 2016's consistency test: a pixel is reliable when the forward flow at the
#: place the backward flow points to brings it back, within
#: |b + f|² ≤ CONSISTENCY_SCALE·(|b|² + |f|²) + CONSISTENCY_OFFSET.
CONSISTENCY_SCALE, CONSISTENCY_OFFSET = 0.01, 0.5
#: ... and not on a motion edge: |∇b|² > EDGE_SCALE·|b|² + EDGE_OFFSET marks one.
EDGE_SCALE, EDGE_OFFSET = 0.01, 0.002
#: ... and the previous input frame moved by the flow must look like the current one:
#: a mean |difference| over the channels above this (0–255) means the flow is wrong there.
#: Both flows can be wrong the same way (a small, fast object the coarse-to-fine search
#: loses), which the round-trip test cannot see; without this check the temporal modes held
#: the background's strokes where such an object had moved to.
PHOTOMETRIC_LIMIT = 20.0


def _cv2() -> Any:
    return import_optional(
        "cv2", "video needs OpenCV: pip install 'painterly[video]' (opencv-contrib-python-headless)"
    )


class FlowEstimator:
    """OpenCV's DIS optical flow (Kroeger et al. 2016), made once and reused per frame pair.

    The "fast" preset takes about 5 ms for two 640×360 frames here; the "medium" one is
    about 5× slower and only a little more precise on the clips we tried.
    """

    def __init__(self, preset: str = "fast", threads: int = 0) -> None:
        cv2 = _cv2()
        if threads:
            cv2.setNumThreads(threads)
        presets = {
            "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
            "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
            "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
        }
        self._dis = cv2.DISOpticalFlow_create(presets[preset])
        self._cv2 = cv2

    def grey(self, rgb: np.ndarray) -> np.ndarray:
        """H×W×3 uint8 RGB → H×W uint8 grey, what the flow is computed on."""
        return self._cv2.cvtColor(rgb, self._cv2.COLOR_RGB2GRAY)

    def __call__(self, source: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Flow from grey frame ``source`` to grey frame ``target``: source(p) ≈ target(p + flow(p))."""
        return self._dis.calc(source, target, None)


def sample_grid(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The absolute (x, y) sampling coordinates p + flow(p), float32."""
    h, w = flow.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return xs + flow[..., 0], ys + flow[..., 1]


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample ``image`` (H×W×C, any dtype) at p + flow(p), bilinearly; edges repeat.

    With ``flow`` the backward flow of frame t, this moves frame t−1 (or its painting)
    onto frame t.
    """
    cv2 = _cv2()
    map_x, map_y = sample_grid(flow)
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def reliability(
    backward: np.ndarray,
    forward: np.ndarray,
    current: np.ndarray | None = None,
    previous: np.ndarray | None = None,
) -> np.ndarray:
    """H×W float32 in {0, 1}: 1 where the backward flow of frame t can be trusted.

    Forward–backward consistency (Ruder et al. 2016): follow the backward flow b from a
    pixel of frame t to frame t−1, then the forward flow f back; if it does not return,
    the pixel was hidden in frame t−1 (disoccluded) or the flow is wrong there. Pixels on
    motion edges and pixels whose source lies outside frame t−1 are unreliable too. Given
    the input frames (``current`` = t, ``previous`` = t−1, H×W×3 uint8), pixels where the
    moved previous frame does not match the current one are unreliable as well (one pixel
    of margin around them).
    """
    cv2 = _cv2()
    h, w = backward.shape[:2]
    map_x, map_y = sample_grid(backward)
    f_at = cv2.remap(forward, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    round_trip = np.square(backward + f_at).sum(-1)
    magnitude = np.square(backward).sum(-1) + np.square(f_at).sum(-1)
    ok = round_trip <= CONSISTENCY_SCALE * magnitude + CONSISTENCY_OFFSET
    gy_x, gx_x = np.gradient(backward[..., 0])
    gy_y, gx_y = np.gradient(backward[..., 1])
    edge = gx_x**2 + gy_x**2 + gx_y**2 + gy_y**2 > EDGE_SCALE * np.square(backward).sum(-1) + EDGE_OFFSET
    inside = (map_x >= 0) & (map_x <= w - 1) & (map_y >= 0) & (map_y <= h - 1)
    mask = (ok & ~edge & inside).astype(np.float32)
    if current is not None and previous is not None:
        moved = cv2.remap(previous, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        diff = np.abs(current.astype(np.float32) - moved.astype(np.float32)).mean(-1)
        matches = (diff <= PHOTOMETRIC_LIMIT).astype(np.float32)
        mask *= cv2.erode(matches, np.ones((3, 3), np.uint8))
    return mask


def warping_error(current: np.ndarray, previous: np.ndarray, backward: np.ndarray, mask: np.ndarray) -> float:
    """Mean |current − previous warped by the flow| over reliable pixels, in 0–255 units
    for uint8 frames: how much an output flickers or crawls against the scene's motion."""
    moved = warp(previous, backward).astype(np.float32)
    diff = np.abs(current.astype(np.float32) - moved).mean(-1)
    weight = float(mask.sum())
    return float((diff * mask).sum() / weight) if weight else 0.0
