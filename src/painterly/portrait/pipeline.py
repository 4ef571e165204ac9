"""Portrait mode end to end: find the person and the faces, turn them into maps, and
hand the engines masks and weight maps (they never learn a face exists).

Optimising path (:func:`stylize_portrait`): a content weight map on ``transfer.stylize``
(the photo's features held hardest on eyes, nose and mouth, less on the rest of the
face, a little on the rest of the person) and guided-Gram regions for separate person
and background styles or strengths; ``keep_skin`` puts the photo's chroma back on the
skin afterwards.

Fast path (:func:`fast_portrait`): the feed-forward network cannot take a weight map,
so the face map blends the full stylisation towards a lighter one (the same painting at
a fraction of the strength, painted at twice the resolution: finer strokes), which keeps
the features and still shows brush texture; person and background are painted separately
and composited through the feathered person mask.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from PIL import Image

from painterly.config import FastConfig, TransferConfig
from painterly.events import Notice, NoticeCallback, ProgressCallback
from painterly.images import (
    ImageSource,
    fit_size,
    load_image,
    load_styles,
    pil_to_tensor,
    resize,
    tensor_to_pil,
)
from painterly.masks import MaskSpec
from painterly.portrait.detect import Analysis, Detector
from painterly.portrait.maps import PortraitMaps, build_maps, person_from_file, to_grey, to_image

if TYPE_CHECKING:
    from painterly.backbones.vgg import VGG19Features
    from painterly.fast import FastResult, FastStylizer
    from painterly.transfer import TransferResult

#: Content weight on the features at face_strength 1 is 1 + FACE_GAIN (the plain run's is 1).
#: Chosen by bench/portrait.py (see docs/guides/portrait.md).
FACE_GAIN = 40.0
#: Photos are analysed at most this large: the models work at 128–256 px anyway.
ANALYSIS_SIDE = 1024
#: Fast path: the face blends towards the same painting at this share of the strength and
#: this many times the brush resolution (style_scale): finer strokes that follow the features.
#: Judged by eye on four portraits: strength 0.3 at the same scale gave large dark
#: cartoon strokes across the face; 0.6 at 2× keeps eyes and mouth and still looks painted.
FAST_LIGHT_STRENGTH, FAST_LIGHT_SCALE = 0.6, 2.0
#: Fast path: the face map is scaled by this before clipping, so the whole face oval (not
#: only the features) takes most of the finer painting.
FAST_FACE_BOOST = 1.6


@dataclass
class PortraitResult:
    """A portrait run: the engine's result (with keep_skin applied), the maps it used,
    what was found, and any warnings (also sent to the notice callback)."""

    result: Any  # TransferResult or FastResult
    maps: PortraitMaps
    analysis: Analysis
    warnings: list[str] = field(default_factory=list)

    @property
    def image(self) -> Image.Image:
        return self.result.image


def without_portrait(config: Any) -> Any:
    """The config with every portrait field back at its default (for the plain engine call)."""
    defaults = {
        f.name: f.default for f in dataclasses.fields(config) if f.metadata.get("group") == "portrait"
    }
    return config.replace(**defaults)


def analyse(
    photo: Image.Image,
    mask_person: str = "",
    detector: Detector | None = None,
    notice: NoticeCallback | None = None,
    label: str = "the photo",
) -> tuple[PortraitMaps, Analysis, list[str]]:
    """Find person and faces in ``photo`` and build the maps at its size. A photo with no
    face gives a warning (not an error): the maps then carry the person mask only."""
    detector = detector or Detector.load()
    work = photo if max(photo.size) <= ANALYSIS_SIDE else resize(photo, fit_size(*photo.size, ANALYSIS_SIDE))
    analysis = detector.analyse(work)
    person = person_from_file(mask_person, work.size) if mask_person else None
    maps = build_maps(work, analysis, person)
    warnings: list[str] = []
    if not analysis.faces:
        warnings.append(f"portrait: no face found in {label}; the face is not protected (an ordinary run)")
    if work.size != photo.size:
        maps = _resize_maps(maps, photo.size, work.size)
    for message in warnings:
        if notice is not None:
            notice(Notice(message))
    return maps, analysis, warnings


def _resize_maps(maps: PortraitMaps, size: tuple[int, int], work: tuple[int, int]) -> PortraitMaps:
    def up(a: np.ndarray) -> np.ndarray:
        return np.asarray(to_image(a).resize(size, Image.BILINEAR), dtype=np.float32)

    k = size[0] / work[0]
    faces = [_scale_face(f, k) for f in maps.faces]
    return PortraitMaps(up(maps.person), up(maps.face), up(maps.skin), faces)


def _scale_face(face: Any, k: float) -> Any:
    return dataclasses.replace(
        face,
        box=tuple(v * k for v in face.box),
        keypoints=face.keypoints * k,
        landmarks=None if face.landmarks is None else face.landmarks * np.array([k, k, k], np.float32),
    )


def region_specs(maps: PortraitMaps, config: Any, paintings: Sequence[Image.Image]) -> list[MaskSpec]:
    """Guided-Gram regions: the person and the background each matched to their own
    painting (the main one unless --person-style / --background-style), the background
    weighted by background_strength.

    Used whenever a person is found, not only for separate styles: with one global Gram
    matrix, a face held by the content weight map cannot take its share of the style, and
    the optimiser then over-paints the background to make up the global statistics
    (measured: +42 % background style loss at 256 px). Matching each region to its own
    target keeps the background's style what it would have been.
    """
    if maps.person.max() < 0.5 or maps.background.max() < 0.5:
        return []  # all person or all background: one region is the plain style loss
    explicit = config.person_style or config.background_style or config.background_strength != 1.0
    if len(paintings) > 1 and not explicit:
        return []  # a region takes one painting: keep the blend of several with the global loss
    person_style = load_image(config.person_style) if config.person_style else paintings[0]
    background_style = load_image(config.background_style) if config.background_style else paintings[0]
    # The held part of the face leaves the person's style region (a content-only region):
    # otherwise the person's guided Gram, averaged over a smaller free area, pushes the
    # strokes harder into the face the more the content map holds it.
    held = np.clip(maps.face, 0, 1) * config.face_strength * maps.person if maps.faces else None
    person = maps.person if held is None else maps.person - held
    regions = [
        MaskSpec(to_grey(person), person_style, 1.0),
        MaskSpec(to_grey(maps.background), background_style, config.background_strength),
    ]
    if held is not None and held.max() > 0.05:
        regions.append(MaskSpec(to_grey(held), None, 1.0))
    return regions


def keep_skin(image: torch.Tensor, photo: torch.Tensor, skin: np.ndarray) -> torch.Tensor:
    """The photo's chroma (YIQ I/Q) on the skin, the painting's brightness everywhere."""
    from painterly.color import combine_luminance
    from painterly.masks import map_tensor

    h, w = image.shape[-2:]
    photo = torch.nn.functional.interpolate(photo, size=(h, w), mode="bilinear", align_corners=False)
    mask = map_tensor(to_image(skin), (h, w), image.device).clamp(0, 1)
    return image * (1 - mask) + combine_luminance(image, photo) * mask


def stylize_portrait(
    content: ImageSource,
    styles: ImageSource | Sequence[ImageSource],
    config: TransferConfig,
    callback: ProgressCallback | None = None,
    *,
    network: VGG19Features | None = None,
    detector: Detector | None = None,
    notice: NoticeCallback | None = None,
) -> PortraitResult:
    """Portrait mode of the Gatys engine (``config.portrait``); see the module docstring."""
    from painterly.transfer import stylize

    photo = load_image(content)
    paintings = load_styles(styles, config.style_blend_weights, "style_blend_weights")
    label = str(content) if not isinstance(content, Image.Image) else "the photo"
    maps, analysis, warnings = analyse(photo, config.mask_person, detector, notice, label)
    weights = maps.content_weights(config.face_strength, FACE_GAIN) if maps.faces else None
    result: TransferResult = stylize(
        photo,
        paintings,
        config,
        callback,
        network=network,
        content_map=to_image(weights) if weights is not None else None,
        regions=region_specs(maps, config, paintings),
    )
    if config.keep_skin and maps.faces:
        t0 = time.perf_counter()
        tensor = keep_skin(result.tensor, pil_to_tensor(photo), maps.skin)
        result = dataclasses.replace(result, tensor=tensor, image=tensor_to_pil(tensor))
        result.timings["keep_skin"] = time.perf_counter() - t0
    result.timings["portrait_analysis"] = analysis.timings.get("total", 0.0)
    return PortraitResult(result, maps, analysis, warnings)


def fast_portrait(
    content: ImageSource,
    styles: ImageSource | Sequence[ImageSource],
    config: FastConfig,
    *,
    stylizer: FastStylizer | None = None,
    detector: Detector | None = None,
    notice: NoticeCallback | None = None,
) -> PortraitResult:
    """Portrait mode of fast mode (``config.portrait``); see the module docstring."""
    from painterly.fast import FastStylizer, fast_stylize
    from painterly.fast.stylizer import output_size
    from painterly.fast.upsample import auto_work_size

    clock = time.perf_counter()
    photo = load_image(content)
    size = output_size(photo.size, config.size)
    photo_out = resize(photo, size)
    label = str(content) if not isinstance(content, Image.Image) else "the photo"
    maps, analysis, warnings = analyse(photo_out, config.mask_person, detector, notice, label)
    stylizer = stylizer or FastStylizer(config.threads)
    plain = without_portrait(config)
    person_styles = [config.person_style] if config.person_style else styles

    # "auto" paints at the network's natural size; the finer face painting needs it as a number.
    base_scale = max(auto_work_size(size)) / max(size) if config.style_scale == "auto" else config.style_scale

    def paint(paintings: Any, strength: float, scale: float = 1.0) -> FastResult:
        style_scale = config.style_scale if scale == 1.0 else min(4.0, base_scale * scale)
        settings = plain.replace(strength=strength, style_scale=style_scale)
        return fast_stylize(photo_out, paintings, settings, stylizer=stylizer)

    full = paint(person_styles, config.strength)
    out = full.tensor
    person = torch.from_numpy(np.clip(maps.person, 0, 1))[None, None]
    if config.background_style or config.background_strength != 1.0:
        back = paint(
            [config.background_style] if config.background_style else styles,
            config.strength * config.background_strength,
        )
        out = out * person + back.tensor * (1 - person)
    if maps.faces and config.face_strength > 0:
        light = paint(person_styles, config.strength * FAST_LIGHT_STRENGTH, FAST_LIGHT_SCALE).tensor
        alpha = np.clip(maps.face * FAST_FACE_BOOST, 0, 1) * config.face_strength
        alpha = torch.from_numpy(alpha.astype(np.float32))[None, None]
        out = out * (1 - alpha) + light * alpha
    if config.keep_skin and maps.faces:
        out = keep_skin(out, pil_to_tensor(photo_out), maps.skin)
    out = out.clamp(0, 1)
    timings = {**full.timings, "portrait_analysis": analysis.timings.get("total", 0.0)}
    timings["total"] = time.perf_counter() - clock
    result = dataclasses.replace(full, image=tensor_to_pil(out), config=config, timings=timings)
    return PortraitResult(result, maps, analysis, warnings)


def mask_overlay(photo: Image.Image, maps: PortraitMaps) -> Image.Image:
    """The photo with the background dimmed blue, the face map in red and the landmarks
    dotted: what --show-masks writes as OUT.masks.png so a user sees what was found."""
    from PIL import ImageDraw

    photo = resize(photo.convert("RGB"), (maps.person.shape[1], maps.person.shape[0]))
    arr = np.asarray(photo, dtype=np.float32)
    person = maps.person[..., None]
    arr = arr * (0.45 + 0.55 * person) + np.array([20, 40, 140], np.float32) * (1 - person) * 0.55
    face = np.clip(maps.face, 0, 1)[..., None]
    arr = arr * (1 - 0.45 * face) + np.array([255, 40, 40], np.float32) * 0.45 * face
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    r = max(1.0, max(img.size) / 600)
    for f in maps.faces:
        if f.landmarks is not None:
            for x, y in f.landmarks[::3, :2]:
                draw.ellipse([x - r, y - r, x + r, y + r], fill=(255, 255, 255))
    return img
