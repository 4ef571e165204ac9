"""From what was found to what the engines take: soft masks and weight maps.

All maps are H×W float32 arrays in 0–1 at the photo's size (a Pillow "F" image when
handed to the engine). Sizes of blurs and dilations are fractions of the distance
between the eyes, so a map looks the same on a selfie and on a small face in a group.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from painterly.portrait.detect import (
    FACE_OVAL,
    LEFT_BROW,
    LEFT_EYE,
    LIPS,
    NOSE,
    RIGHT_BROW,
    RIGHT_EYE,
    Analysis,
    Face,
)

#: Face-map levels: features (eyes, brows, nose, mouth), the rest of the face oval, and
#: the rest of the person (the "fade": hair, neck and clothes keep a little structure).
FEATURE_LEVEL, FACE_LEVEL, PERSON_LEVEL = 1.0, 0.45, 0.08
#: Feathering, as fractions of the inter-ocular distance.
FEATURE_GROW, FEATURE_BLUR, FACE_BLUR = 0.12, 0.15, 0.25
#: Person-mask feather, as a fraction of the photo's longest side (soft edges, no halo).
PERSON_FEATHER = 0.006
#: Skin: person pixels whose chroma lies within this distance (YCbCr units, 0–255) of the
#: face's median skin chroma count as skin (neck, arms, hands).
SKIN_CHROMA_RADIUS = 8.0
#: ... and whose brightness is within this factor of the face's (hair of a similar hue is darker).
SKIN_LUMA_RANGE = (0.7, 1.35)


@dataclass
class PortraitMaps:
    """Everything the engines need from a portrait, plus what --show-masks draws."""

    person: np.ndarray  # soft person mask, feathered
    face: np.ndarray  # face map: features 1, face oval ~0.45, rest of the person ~0.08, 0 outside
    skin: np.ndarray  # where --keep-skin puts the photo's colours back
    faces: list[Face]

    @property
    def background(self) -> np.ndarray:
        """1 − person."""
        return 1.0 - self.person

    def content_weights(self, face_strength: float, gain: float) -> np.ndarray:
        """Content weight map for the engine: 1 everywhere (the plain run), rising to
        1 + gain·face_strength on the features."""
        return 1.0 + gain * face_strength * self.face


def to_image(arr: np.ndarray) -> Image.Image:
    """An H×W float map → a Pillow "F" image (values kept, not clipped)."""
    return Image.fromarray(np.ascontiguousarray(arr, dtype=np.float32), mode="F")


def to_grey(arr: np.ndarray) -> Image.Image:
    """An H×W map in 0–1 → an 8-bit grey image (what --show-masks writes)."""
    return Image.fromarray((np.clip(arr, 0, 1) * 255 + 0.5).astype(np.uint8), mode="L")


def _polygon(size: tuple[int, int], points: np.ndarray, hull: bool = False) -> Image.Image:
    img = Image.new("L", size, 0)
    pts = _convex_hull(points) if hull else points
    ImageDraw.Draw(img).polygon([tuple(map(float, p)) for p in pts], fill=255)
    return img


def _convex_hull(points: np.ndarray) -> np.ndarray:
    """Andrew's monotone chain (a few dozen points: no need for scipy or OpenCV)."""
    pts = sorted(set(map(tuple, np.round(points, 3).tolist())))
    if len(pts) < 3:
        return np.array(pts)

    def half(seq: list[tuple[float, float]]) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for p in seq:
            while (
                len(out) >= 2
                and (
                    (out[-1][0] - out[-2][0]) * (p[1] - out[-2][1])
                    - (out[-1][1] - out[-2][1]) * (p[0] - out[-2][0])
                )
                <= 0
            ):
                out.pop()
            out.append(p)
        return out

    lower, upper = half(pts), half(pts[::-1])
    return np.array(lower[:-1] + upper[:-1])


def _blur(img: Image.Image, radius: float) -> np.ndarray:
    if radius >= 0.5:
        img = img.filter(ImageFilter.GaussianBlur(radius))
    return np.asarray(img, dtype=np.float32) / 255.0


def _grow(img: Image.Image, pixels: float) -> Image.Image:
    size = round(pixels) * 2 + 1
    return img.filter(ImageFilter.MaxFilter(size)) if size >= 3 else img


def face_map(size: tuple[int, int], face: Face) -> tuple[np.ndarray, np.ndarray]:
    """(feature map, face-oval map) of one face, both feathered, 0–1."""
    if face.landmarks is None:  # detector only: an ellipse in the box, no feature detail
        x0, y0, x1, y1 = face.box
        img = Image.new("L", size, 0)
        ImageDraw.Draw(img).ellipse([x0, y0, x1, y1], fill=255)
        blur = 0.15 * (x1 - x0)
        oval = _blur(img, blur)
        return oval * 0.6, oval
    pts = face.landmarks[:, :2]
    iod = max(face.interocular(), 4.0)
    features = Image.new("L", size, 0)
    for group in (RIGHT_EYE + RIGHT_BROW, LEFT_EYE + LEFT_BROW, NOSE, LIPS):
        hull = _polygon(size, pts[list(group)], hull=True)
        features = Image.fromarray(np.maximum(np.asarray(features), np.asarray(hull)))
    feat = _blur(_grow(features, FEATURE_GROW * iod), FEATURE_BLUR * iod)
    oval = _blur(_polygon(size, pts[list(FACE_OVAL)]), FACE_BLUR * iod)
    return feat, oval


def skin_mask(
    photo: Image.Image, person: np.ndarray, ovals: list[np.ndarray], faces: list[Face]
) -> np.ndarray:
    """Face ovals, plus person pixels with the faces' skin chroma (neck, arms, hands)."""
    w, h = photo.size
    skin = np.zeros((h, w), np.float32)
    for oval in ovals:
        skin = np.maximum(skin, oval)
    if not faces:
        return skin
    ycc = np.asarray(photo.convert("YCbCr"), dtype=np.float32)
    inner = np.zeros((h, w), bool)
    for oval in ovals:
        inner |= oval > 0.9
    if inner.sum() < 16:
        return skin
    ref = np.median(ycc[inner], axis=0)
    dist = np.hypot(ycc[..., 1] - ref[1], ycc[..., 2] - ref[2])
    lo, hi = SKIN_LUMA_RANGE
    bright = (ycc[..., 0] >= lo * ref[0]) & (ycc[..., 0] <= hi * ref[0])
    similar = np.clip(1.5 - dist / SKIN_CHROMA_RADIUS, 0, 1) * (person > 0.5) * bright
    iod = float(np.mean([f.interocular() for f in faces]))
    soft = _blur(Image.fromarray((similar * 255).astype(np.uint8)), 0.1 * iod)
    return np.maximum(skin, soft)


def person_from_file(path: str, size: tuple[int, int]) -> np.ndarray:
    """A user's own person mask (white = person), resized to the photo."""
    from painterly.images import open_image

    img = open_image(path).convert("L").resize(size, Image.BILINEAR)
    return np.asarray(img, dtype=np.float32) / 255.0


def build_maps(photo: Image.Image, analysis: Analysis, person: np.ndarray | None = None) -> PortraitMaps:
    """Person mask (the detected one, or ``person`` given by the user), face map and skin
    mask of a photo. Several faces: the maps of all of them, combined by maximum."""
    w, h = photo.size
    raw = analysis.person if person is None else person
    feather = PERSON_FEATHER * max(w, h)
    person_soft = _blur(Image.fromarray((np.clip(raw, 0, 1) * 255).astype(np.uint8)), feather)
    face = np.zeros((h, w), np.float32)
    ovals: list[np.ndarray] = []
    for f in analysis.faces:
        feat, oval = face_map((w, h), f)
        ovals.append(oval)
        face = np.maximum(face, np.maximum(FEATURE_LEVEL * feat, FACE_LEVEL * oval))
    if analysis.faces:
        face = np.maximum(face, PERSON_LEVEL * person_soft)
    skin = skin_mask(photo, person_soft, ovals, analysis.faces)
    return PortraitMaps(person_soft, face, skin, analysis.faces)
