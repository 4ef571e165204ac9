"""Finding the person and the faces: MediaPipe's selfie segmentation, BlazeFace
(short range) and Face Mesh, with their pre- and post-processing written out here.

Every function takes and returns plain numpy arrays and Pillow images; the TFLite
runtime is reached only through :mod:`painterly.portrait.runtime`. Coordinates are
pixels of the photo as given (x right, y down).

Pre/post-processing follows MediaPipe's graphs (face_detection_short_range.pbtxt,
face_landmark_front_cpu.pbtxt, selfie_segmentation_cpu.pbtxt in mediapipe 0.10.14):
  * BlazeFace: the photo letterboxed to 128×128, pixels in [-1, 1]; 896 SSD anchors
    (strides 8, 16, 16, 16; two anchors a layer, fixed size); boxes decoded with scale
    128; sigmoid scores above 0.5; weighted non-maximum suppression at IoU 0.3.
  * Face Mesh: a square crop 1.5× the face box, rotated so the eyes are level, 192×192,
    pixels in [0, 1]; 468 landmarks in crop pixels; a presence logit. As MediaPipe's
    tracking does, a second pass re-crops from the first pass's landmarks (a tighter,
    better-centred crop than the detector's box).
  * Selfie segmentation: the photo stretched to 256×256, pixels in [0, 1]; the output is
    already a probability.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from painterly.portrait.runtime import Model, load_model

#: BlazeFace short range: input side, anchor strides, score threshold, NMS overlap.
DETECT_SIDE = 128
DETECT_STRIDES = (8, 16, 16, 16)
DETECT_THRESHOLD = 0.5
NMS_IOU = 0.3
#: Face Mesh: crop side, crop scale around the face, presence threshold.
MESH_SIDE = 192
MESH_CROP_SCALE = 1.5
MESH_PRESENCE = 0.5
SEGMENT_SIDE = 256

#: Face Mesh indices of the features (MediaPipe's FACEMESH_* connection sets).
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)  # fmt: skip
LIPS = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
RIGHT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
RIGHT_BROW = (46, 53, 52, 65, 55, 70, 63, 105, 66, 107)
LEFT_BROW = (276, 283, 282, 295, 285, 300, 293, 334, 296, 336)
NOSE = (168, 6, 197, 195, 5, 4, 1, 19, 94, 2, 98, 327, 64, 294, 48, 278, 129, 358, 49, 279, 102, 331)


@dataclass
class Face:
    """One face: detector box (x0, y0, x1, y1) and score, its six keypoints (eyes, nose
    tip, mouth, ears), and the 468 Face Mesh landmarks (x, y, z) when the mesh found it."""

    box: tuple[float, float, float, float]
    score: float
    keypoints: np.ndarray  # 6×2
    landmarks: np.ndarray | None = None  # 468×3, x/y in photo pixels
    presence: float = 0.0

    def eye_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Centres of the right and left eye (the mesh's eye contours, else the keypoints)."""
        if self.landmarks is not None:
            pts = self.landmarks[:, :2]
            return pts[list(RIGHT_EYE)].mean(0), pts[list(LEFT_EYE)].mean(0)
        return self.keypoints[0], self.keypoints[1]

    def interocular(self) -> float:
        """Distance between the eye centres in pixels (the unit of landmark displacement)."""
        right, left = self.eye_centres()
        return float(np.hypot(*(left - right)))


@dataclass
class Analysis:
    """What was found in one photo: a soft person mask (H×W, 0–1) and the faces."""

    size: tuple[int, int]  # (width, height)
    person: np.ndarray
    faces: list[Face] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class Detector:
    """The three models, loaded once and reused for many photos (no global cache)."""

    segmenter: Model
    face_detector: Model
    mesh: Model

    @classmethod
    def load(cls, threads: int = 1) -> Detector:
        """Load the shipped models (MissingDependencyError with the install hint if LiteRT is missing)."""
        return cls(
            load_model("segmentation", threads),
            load_model("detection", threads),
            load_model("landmarks", threads),
        )

    def analyse(self, photo: Image.Image, landmarks: bool = True) -> Analysis:
        """Person mask and faces (with landmarks unless ``landmarks`` is False) of an RGB photo."""
        t0 = time.perf_counter()
        person = segment_person(self.segmenter, photo)
        t1 = time.perf_counter()
        faces = detect_faces(self.face_detector, photo)
        t2 = time.perf_counter()
        if landmarks:
            faces = [f for f in (refine_face(self.mesh, photo, f) for f in faces) if f is not None]
        t3 = time.perf_counter()
        timings = {"segment": t1 - t0, "detect": t2 - t1, "landmarks": t3 - t2, "total": t3 - t0}
        return Analysis(photo.size, person, faces, timings)


def _rgb_array(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("RGB"), dtype=np.float32)


def segment_person(model: Model, photo: Image.Image) -> np.ndarray:
    """Soft person mask (H×W float32, 0–1) at the photo's size."""
    x = _rgb_array(photo.resize((SEGMENT_SIDE, SEGMENT_SIDE), Image.BILINEAR)) / 255.0
    prob = model.run(x[None])[0][0, :, :, 0].astype(np.float32)
    mask = Image.fromarray(prob, mode="F").resize(photo.size, Image.BILINEAR)
    return np.clip(np.asarray(mask, dtype=np.float32), 0.0, 1.0)


def ssd_anchors() -> np.ndarray:
    """BlazeFace short range's 896 anchor centres (x, y) in 0–1 (SsdAnchorsCalculator with
    fixed_anchor_size, two anchors per layer, layers of equal stride sharing one grid)."""
    anchors: list[tuple[float, float]] = []
    i = 0
    while i < len(DETECT_STRIDES):
        stride = DETECT_STRIDES[i]
        same = sum(1 for s in DETECT_STRIDES[i:] if s == stride)
        cells = math.ceil(DETECT_SIDE / stride)
        for y in range(cells):
            for x in range(cells):
                anchors += [((x + 0.5) / cells, (y + 0.5) / cells)] * (2 * same)
        i += same
    return np.array(anchors, dtype=np.float32)


def letterbox(photo: Image.Image, side: int) -> tuple[np.ndarray, float, float, float]:
    """The photo scaled to fit a side×side square, centred on black: (pixels, scale, pad x, pad y)."""
    w, h = photo.size
    scale = side / max(w, h)
    rw, rh = max(1, round(w * scale)), max(1, round(h * scale))
    canvas = Image.new("RGB", (side, side))
    px, py = (side - rw) // 2, (side - rh) // 2
    canvas.paste(photo.convert("RGB").resize((rw, rh), Image.BILINEAR), (px, py))
    return _rgb_array(canvas), scale, float(px), float(py)


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of box a (4,) with boxes b (N, 4), all (x0, y0, x1, y1)."""
    ix = np.clip(np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0]), 0, None)
    iy = np.clip(np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1]), 0, None)
    inter = ix * iy
    area = lambda r: (r[..., 2] - r[..., 0]) * (r[..., 3] - r[..., 1])  # noqa: E731
    return inter / np.maximum(area(a) + area(b) - inter, 1e-9)


def detect_faces(model: Model, photo: Image.Image, threshold: float = DETECT_THRESHOLD) -> list[Face]:
    """Faces found by BlazeFace (short range: faces filling a good part of the frame)."""
    pixels, scale, px, py = letterbox(photo, DETECT_SIDE)
    outputs = model.run((pixels / 127.5 - 1.0)[None])
    # The output order is not guaranteed: regressors are 16 wide, scores 1 wide.
    raw = next(o for o in outputs if o.shape[-1] == 16)[0]
    logits = next(o for o in outputs if o.shape[-1] == 1)[0, :, 0]
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -100, 100)))
    keep = scores >= threshold
    if not keep.any():
        return []
    anchors = ssd_anchors()[keep] * DETECT_SIDE
    raw, scores = raw[keep], scores[keep]
    cx, cy = raw[:, 0] + anchors[:, 0], raw[:, 1] + anchors[:, 1]
    boxes = np.stack([cx - raw[:, 2] / 2, cy - raw[:, 3] / 2, cx + raw[:, 2] / 2, cy + raw[:, 3] / 2], 1)
    points = raw[:, 4:16].reshape(-1, 6, 2) + anchors[:, None, :]
    # letterbox pixels → photo pixels
    boxes = (boxes - [px, py, px, py]) / scale
    points = (points - [px, py]) / scale
    faces: list[Face] = []
    order = np.argsort(-scores)
    remaining = order
    while remaining.size:
        top = remaining[0]
        overlap = _iou(boxes[top], boxes[remaining]) > NMS_IOU
        group = remaining[overlap]
        weights = scores[group][:, None]
        box = (boxes[group] * weights).sum(0) / weights.sum()
        kp = (points[group] * weights[:, :, None]).sum(0) / weights.sum()
        faces.append(Face(tuple(float(v) for v in box), float(scores[top]), kp.astype(np.float32)))
        remaining = remaining[~overlap]
    return faces


def _crop_transform(
    centre: np.ndarray, side: float, angle: float
) -> tuple[float, float, float, float, float, float]:
    """Affine (a, b, c, d, e, f) taking crop pixels (u, v) of a MESH_SIDE square to photo
    pixels: a square of ``side`` px around ``centre`` whose x axis points along ``angle``."""
    k = side / MESH_SIDE
    cos, sin = math.cos(angle) * k, math.sin(angle) * k
    half = MESH_SIDE / 2
    c = float(centre[0]) - cos * half + sin * half
    f = float(centre[1]) - sin * half - cos * half
    return (cos, -sin, c, sin, cos, f)


def _mesh_pass(
    model: Model, photo: Image.Image, centre: np.ndarray, side: float, angle: float
) -> tuple[np.ndarray, float]:
    """One Face Mesh run on a rotated square crop: landmarks in photo pixels, presence."""
    coeffs = _crop_transform(centre, side, angle)
    crop = photo.convert("RGB").transform((MESH_SIDE, MESH_SIDE), Image.AFFINE, coeffs, Image.BILINEAR)
    outputs = model.run((_rgb_array(crop) / 255.0)[None])
    flat = next(o for o in outputs if o.size == 468 * 3).reshape(468, 3)
    logit = float(next(o for o in outputs if o.size == 1).reshape(()))
    a, b, c, d, e, f = coeffs
    u, v = flat[:, 0], flat[:, 1]
    xy = np.stack([a * u + b * v + c, d * u + e * v + f], 1)
    z = flat[:, 2:3] * (side / MESH_SIDE)
    return np.concatenate([xy, z], 1).astype(np.float32), 1.0 / (1.0 + math.exp(-logit))


def refine_face(model: Model, photo: Image.Image, face: Face) -> Face | None:
    """The face with its 468 landmarks, or None when the mesh says it is not a face."""
    right, left = face.keypoints[0], face.keypoints[1]
    angle = math.atan2(float(left[1] - right[1]), float(left[0] - right[0]))
    x0, y0, x1, y1 = face.box
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2], dtype=np.float32)
    side = max(x1 - x0, y1 - y0) * MESH_CROP_SCALE
    landmarks, presence = _mesh_pass(model, photo, centre, side, angle)
    if presence < MESH_PRESENCE:
        return None
    # Second pass from the landmarks: level the eyes, centre on the mesh, 1.5× its extent.
    pts = landmarks[:, :2]
    r_eye, l_eye = pts[list(RIGHT_EYE)].mean(0), pts[list(LEFT_EYE)].mean(0)
    angle = math.atan2(float(l_eye[1] - r_eye[1]), float(l_eye[0] - r_eye[0]))
    rot = np.array([[math.cos(angle), math.sin(angle)], [-math.sin(angle), math.cos(angle)]])
    local = (pts - pts.mean(0)) @ rot.T  # landmarks in the eye-level frame
    lo, hi = local.min(0), local.max(0)
    centre = pts.mean(0) + ((lo + hi) / 2) @ rot
    side = float(max(hi - lo)) * MESH_CROP_SCALE
    refined, presence2 = _mesh_pass(model, photo, centre.astype(np.float32), side, angle)
    if presence2 >= MESH_PRESENCE:
        landmarks, presence = refined, presence2
    return Face(face.box, face.score, face.keypoints, landmarks, presence)
