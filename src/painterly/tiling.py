"""High resolution within memory (issue #12): the large scales of a run optimised in
overlapping tiles, one after the other, against the whole picture's style targets.

Why it works without visible seams:

* the run goes coarse to fine, so a tiled scale starts from the previous scale's whole
  picture, upsampled: the tiles already agree on the large structures and only add detail;
* every tile is pulled towards the same style targets: the painting's Gram matrices at
  that scale, accumulated over tiles of the painting (:func:`tiled_grams`, exact up to
  the context margin), so no tile drifts to its own palette;
* tiles are optimised one after the other and each is pasted back with a feathered edge
  (:func:`feather`): inside a tile its own pixels win, across the overlap it fades into
  what its neighbours already painted, and the outermost band (where the tile saw its
  own padding instead of its neighbours) never shows.

The peak memory of a tiled scale is that of an untiled run at the tile's size, plus the
whole picture's tensors: each tile gets a fresh optimiser (its L-BFGS history is freed
before the next tile starts). Masks, portrait maps, photorealism, other style statistics
and video's extra loss are not tiled yet: :func:`check_tileable` says so up front.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from painterly.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    import torch

    from painterly.config import TransferConfig
    from painterly.events import ProgressCallback
    from painterly.transfer import Outcome, ScaleInputs, Targets

Box = tuple[int, int, int, int]  # top, left, bottom, right (pixels, end exclusive)

#: Overlap between neighbouring tiles as a share of the tile side (at least MIN_OVERLAP px).
OVERLAP_SHARE = 0.125
MIN_OVERLAP = 32
#: Smallest tile: below it VGG's deep layers see too little of the picture to paint strokes.
MIN_TILE = 256
#: Context around a tile of the painting when its Gram matrices are accumulated: the
#: features of the core region then hardly depend on where the tile was cut.
GRAM_MARGIN = 64
#: Feature grids of VGG halve 4 times before conv5: tile cuts on multiples of this align.
ALIGN = 16


def overlap_for(tile: int) -> int:
    """Overlap between neighbouring tiles of side ``tile``."""
    return max(MIN_OVERLAP, int(tile * OVERLAP_SHARE) // 8 * 8)


def axis_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Where tiles start along one side: as few as cover it with at least ``overlap``
    shared pixels between neighbours, spread evenly."""
    if length <= tile:
        return [0]
    count = math.ceil((length - overlap) / (tile - overlap))
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def tile_boxes(height: int, width: int, tile: int, overlap: int | None = None) -> list[Box]:
    """The overlapping tiles covering a height×width picture, row by row."""
    if tile < 1:
        raise ValueError(f"tile must be ≥ 1, got {tile}")
    overlap = overlap_for(tile) if overlap is None else overlap
    overlap = min(overlap, tile // 2)
    rows, cols = axis_starts(height, tile, overlap), axis_starts(width, tile, overlap)
    return [(y, x, min(height, y + tile), min(width, x + tile)) for y in rows for x in cols]


def tiled_pixels(height: int, width: int, tile: int) -> int:
    """Pixels the optimiser works on over all tiles (the overlap counted twice)."""
    return sum((b - t) * (r - left) for t, left, b, r in tile_boxes(height, width, tile))


def _ramp(length: int, fade_start: bool, fade_end: bool, overlap: int) -> torch.Tensor:
    """1-D weights: 1 inside, a smoothstep from 0 to 1 across the overlap on faded sides.
    The first quarter of the overlap stays at 0: those pixels saw the tile's padding."""
    import torch

    pos = torch.arange(length, dtype=torch.float32)
    dead = overlap // 4
    span = max(1, overlap - dead)
    weight = torch.ones(length)
    if fade_start:
        weight = torch.minimum(weight, ((pos - dead + 0.5) / span).clamp(0, 1))
    if fade_end:
        weight = torch.minimum(weight, ((length - 1 - pos - dead + 0.5) / span).clamp(0, 1))
    return weight * weight * (3 - 2 * weight)  # smoothstep: no kink where the fade meets the inside


def feather(box: Box, height: int, width: int, overlap: int) -> torch.Tensor:
    """A tile's paste weight (1×1×h×w): faded towards each side that borders another tile,
    full up to the picture's own edges."""
    top, left, bottom, right = box
    rows = _ramp(bottom - top, top > 0, bottom < height, overlap)
    cols = _ramp(right - left, left > 0, right < width, overlap)
    return (rows[:, None] * cols[None, :])[None, None]


def paste(canvas: torch.Tensor, piece: torch.Tensor, box: Box, weight: torch.Tensor) -> None:
    """Blend ``piece`` into ``canvas`` (N×C×H×W) at ``box`` in place: weight·piece + (1−weight)·old."""
    top, left, bottom, right = box
    region = canvas[..., top:bottom, left:right]
    w = weight.to(canvas.dtype)
    region.mul_(1 - w).add_(piece.to(canvas.dtype) * w)


def blend_tiles(
    pieces: Sequence[np.ndarray], boxes: Sequence[Box], shape: tuple[int, int], overlap: int
) -> np.ndarray:
    """Tiles painted independently (fast mode's network on each; H×W×C numpy arrays) put
    together: a weighted average with feathered weights, normalised where they overlap.
    Numpy, not torch: fast mode does not import torch."""
    import numpy as np

    height, width = shape
    total = np.zeros((height, width, pieces[0].shape[2]), dtype=np.float64)
    weights = np.zeros((height, width, 1), dtype=np.float64)
    for piece, box in zip(pieces, boxes):
        top, left, bottom, right = box
        # A small floor: every pixel keeps some weight, even in a tile's dead band.
        rows = _ramp_np(bottom - top, top > 0, bottom < height, overlap)
        cols = _ramp_np(right - left, left > 0, right < width, overlap)
        w = (rows[:, None] * cols[None, :])[..., None] + 1e-4
        total[top:bottom, left:right] += piece * w
        weights[top:bottom, left:right] += w
    return (total / weights).astype(pieces[0].dtype)


def _ramp_np(length: int, fade_start: bool, fade_end: bool, overlap: int) -> np.ndarray:
    import numpy as np

    pos = np.arange(length, dtype=np.float64)
    weight = np.ones(length)
    dead = overlap // 4  # the network's own padding shows there: the neighbour's pixels win
    span = max(1, overlap - 2 * dead)
    if fade_start:
        weight = np.minimum(weight, np.clip((pos - dead + 0.5) / span, 0, 1))
    if fade_end:
        weight = np.minimum(weight, np.clip((length - 1 - pos - dead + 0.5) / span, 0, 1))
    return weight * weight * (3 - 2 * weight)


def seam_ratio(image: np.ndarray, boxes: Sequence[Box], band: int) -> float:
    """How visible the seams are: the mean gradient across the tile borders (the ``band``
    px where a tile fades in over its neighbour: the overlap) over the mean gradient
    elsewhere, each direction against itself. 1.0: the borders look like the rest of the
    picture. ``image`` is H×W or H×W×C."""
    import numpy as np

    img = np.asarray(image, dtype=np.float64)
    img = img[..., None] if img.ndim == 2 else img
    height, width = img.shape[:2]
    cols, rows = np.zeros(width, bool), np.zeros(height, bool)
    for top, left, _, _ in boxes:
        if left > 0:
            cols[left : left + band] = True
        if top > 0:
            rows[top : top + band] = True
    dx = np.abs(np.diff(img, axis=1)).mean(axis=(0, 2))  # per column gap
    dy = np.abs(np.diff(img, axis=0)).mean(axis=(1, 2))
    # Like with like: the horizontal gradient in the vertical bands against the horizontal
    # gradient elsewhere (and the same for rows), weighted by the bands' sizes.
    ratios, sizes = [], []
    for grad, band in ((dx, cols[1:]), (dy, rows[1:])):
        if band.any() and (~band).any():
            ratios.append(grad[band].mean() / max(grad[~band].mean(), 1e-12))
            sizes.append(band.sum())
    return float(np.average(ratios, weights=sizes)) if ratios else 1.0


def check_tileable(
    config: TransferConfig, *, content_map: bool = False, regions: bool = False, extra_loss: bool = False
) -> str:
    """Why this run cannot be tiled ("" when it can)."""
    reasons = []
    if config.masks or regions or config.portrait:
        reasons.append("masks/portrait regions")
    if content_map:
        reasons.append("a content weight map")
    if config.photorealistic or config.smooth == "matting":
        reasons.append("photorealistic mode")
    if config.style_loss != "gram":
        reasons.append(f"style_loss {config.style_loss}")
    if extra_loss:
        reasons.append("an extra loss (video)")
    return ", ".join(reasons)


def plan_tiles(
    config: TransferConfig,
    content_size: tuple[int, int],
    style_sizes: Sequence[tuple[int, int]] = (),
    *,
    unsupported: str = "",
) -> tuple[int, ...]:
    """The tile side at each scale of ``config`` (0: untiled).

    ``config.tile`` > 0 tiles every scale larger than it. ``config.tile == 0`` (automatic)
    tiles the scales whose untiled estimate exceeds PLAN_SHARE (90 %) of the memory budget,
    with the largest tile that fits it (:func:`painterly.estimate.largest_tile`): the
    margin absorbs the memory model's error. A run that must be tiled but
    uses a feature tiling does not support is a ConfigError naming it.
    """
    from painterly.estimate import largest_tile, planning_budget, scale_peak_bytes
    from painterly.images import fit_size

    sizes = config.scale_sizes()
    steps = config.steps_per_scale()
    plan: list[int] = []
    budget = planning_budget(config.max_memory)
    for longest, count in zip(sizes, steps):
        w, h = fit_size(*content_size, longest)
        if config.tile:
            tile = config.tile if max(w, h) > config.tile else 0
        elif unsupported:
            tile = 0  # automatic tiling only where it works; the estimate refuses the rest
        else:
            need = scale_peak_bytes(config, (w, h), style_sizes, longest, count, 0)
            tile = 0 if need <= budget else largest_tile(config, (w, h), style_sizes, longest, count, budget)
        if tile and unsupported:
            raise ConfigError(f"tile: tiling does not work with {unsupported} yet; use a smaller --size")
        plan.append(tile)
    return tuple(plan)


def schedule_work(
    content_size: tuple[int, int], sizes: Sequence[int], steps: Sequence[int], tiles: Sequence[int]
) -> list[tuple[float, int]]:
    """Per scale: (pixels of one evaluation, evaluations), the tiles of a tiled scale
    counted with their overlap (what ScheduleClock prices the time left on)."""
    from painterly.images import fit_size

    work = []
    for longest, count, tile in zip(sizes, steps, tiles):
        w, h = fit_size(*content_size, longest)
        boxes = tile_boxes(h, w, tile) if tile else [(0, 0, h, w)]
        px = sum((b - t) * (r - left) for t, left, b, r in boxes) / len(boxes)
        work.append((px, count * len(boxes)))
    return work


# --- the engine's side -------------------------------------------------------------------------
def tiled_grams(
    network: object, image: torch.Tensor, layers: Sequence[str], tile: int, margin: int = GRAM_MARGIN
) -> dict[str, torch.Tensor]:
    """Gram matrices of a whole (large) image, accumulated over tiles so that no layer
    of the full picture is ever held at once: each core region is run with ``margin``
    pixels of context and only its own features are counted. Same normalisation as
    :func:`painterly.losses.gram_matrix` (an average over positions)."""
    import torch

    from painterly.taps import tap_downsampling

    _, _, height, width = image.shape
    core = max(ALIGN, tile - 2 * margin) // ALIGN * ALIGN
    sums: dict[str, torch.Tensor] = {}
    counts: dict[str, int] = dict.fromkeys(layers, 0)
    with torch.no_grad():
        for top in range(0, height, core):
            for left in range(0, width, core):
                bottom, right = min(height, top + core), min(width, left + core)
                y0, x0 = max(0, top - margin), max(0, left - margin)
                y1, x1 = min(height, bottom + margin), min(width, right + margin)
                feats = network(image[..., y0:y1, x0:x1].contiguous(), list(layers))  # type: ignore[operator]
                for layer in layers:
                    f = feats[layer]
                    stride = 2 ** tap_downsampling(layer)
                    fy0, fx0 = (top - y0) // stride, (left - x0) // stride
                    fy1 = f.shape[-2] if bottom == height and y1 == height else (bottom - y0) // stride
                    fx1 = f.shape[-1] if right == width and x1 == width else (right - x0) // stride
                    part = f[0, :, fy0:fy1, fx0:fx1].reshape(f.shape[1], -1).float()
                    if part.shape[1] == 0:
                        continue
                    g = part @ part.T
                    sums[layer] = sums[layer] + g if layer in sums else g
                    counts[layer] += part.shape[1]
                del feats
    return {k: (sums[k] / (sums[k].shape[0] * max(1, counts[k])))[None] for k in layers}


def scale_targets(
    network: object, scale: ScaleInputs, config: TransferConfig, tile: int, cache: object = None
) -> Targets:
    """A tiled scale's targets: the paintings' whole Gram matrices (blended), the colour
    Gram; the content features are made per tile in :func:`optimise_tiled`."""
    from painterly import color
    from painterly.config import normalised
    from painterly.transfer import Targets

    blend = normalised(config.style_blend_weights, len(scale.styles))
    grams: dict[str, torch.Tensor] = {}
    for weight, style in zip(blend, scale.styles):
        own = tiled_grams(network, style, config.style_layers, max(tile, MIN_TILE))
        for layer, g in own.items():
            grams[layer] = grams[layer] + weight * g if layer in grams else weight * g
    taps = list(dict.fromkeys(config.content_layers + config.style_layers))
    targets = Targets({}, grams, taps)
    if config.color_weight:
        if scale.color_reference is not None:
            targets.color = color.pixel_gram(scale.color_reference)
        else:
            targets.color = sum(w * color.pixel_gram(s) for w, s in zip(blend, scale.styles))
    return targets


def optimise_tiled(
    network: object,
    image: torch.Tensor,
    scale: ScaleInputs,
    targets: Targets,
    config: TransferConfig,
    callback: ProgressCallback | None,
    iterations: int,
    tile: int,
    scale_index: int = 0,
    scale_count: int = 1,
    step_offset: int = 0,
    total_steps: int | None = None,
) -> Outcome:
    """One scale in tiles: each tile gets ``iterations`` optimiser steps of its own (a
    fresh optimiser: its memory is freed before the next) and is pasted back feathered.

    Progress counts the scale's ``iterations`` steps as a whole (a step is reported when
    the tiles together have done another pass's worth), so step numbers, progress bars
    and resuming mean the same as in an untiled run. Losses reported are the current
    tile's."""
    import dataclasses

    import torch

    from painterly.events import Progress
    from painterly.transfer import Outcome, Targets, optimise

    canvas = image.detach().clone()
    _, _, height, width = canvas.shape
    boxes = tile_boxes(height, width, tile)
    overlap = min(overlap_for(tile), tile // 2)
    total_steps = total_steps or iterations
    # The tile's own image comes with every event only when the caller wants previews:
    # a preview is the whole canvas with the current tile pasted in.
    tile_config = dataclasses.replace(config, preview_every=1 if config.preview_every else 0)
    start = time.perf_counter()
    history: list[dict[str, float]] = []
    reported = 0
    work_total = iterations * len(boxes)

    for index, box in enumerate(boxes):
        top, left, bottom, right = box
        with torch.no_grad():
            photo = scale.content[..., top:bottom, left:right].contiguous()
            content = network(photo, list(config.content_layers))  # type: ignore[operator]
        tile_targets = Targets(
            {k: content[k] for k in config.content_layers}, targets.style, targets.taps, color=targets.color
        )
        weight = feather(box, height, width, overlap).to(canvas.device)

        def on_step(
            event: Progress, index: int = index, box: Box = box, weight: torch.Tensor = weight
        ) -> None:
            nonlocal reported
            work = index * iterations + event.step - step_offset
            done = work * iterations // work_total
            if done <= reported:
                return
            reported = done
            elapsed = time.perf_counter() - start
            history.append(
                {
                    "step": step_offset + done,
                    "scale": scale_index,
                    "elapsed": elapsed,
                    **event.losses,
                    "tile": float(index),
                }
            )
            if callback is None:
                return
            preview = None
            if (
                config.preview_every
                and event.image is not None
                and (done % config.preview_every == 0 or done == iterations)
            ):
                preview = canvas.clone()
                paste(preview, event.image.to(canvas.device), box, weight)
                preview = preview.clamp(0, 1).cpu()
            callback(
                Progress(
                    step=step_offset + done,
                    total_steps=total_steps,
                    losses=event.losses,
                    elapsed=elapsed,
                    scale=scale_index,
                    scale_count=scale_count,
                    image=preview,
                    scale_done=work / work_total,
                )
            )

        crop = canvas[..., top:bottom, left:right].contiguous()
        outcome = optimise(
            network,  # type: ignore[arg-type]
            crop,
            tile_targets,
            tile_config,
            on_step,
            iterations,
            scale_index,
            scale_count,
            step_offset,
            total_steps,
        )
        paste(canvas, outcome.image, box, weight)
        del content, tile_targets, crop
        if outcome.status != "finished":
            return Outcome(canvas, outcome.status, reported, history, outcome.message)
    return Outcome(canvas, "finished", iterations, history)
