"""High resolution within memory (issue #12): the large scales of a run optimised in
overlapping tiles, one after the other, against the whole picture's style targets.

Why it works without visible seams:

* the run goes coarse to fine, so a tiled scale starts from the previous scale's whole
  picture, upsampled: the tiles already agree on the large structures and only add detail;
* every tile is pulled towards the same style targets: the painting's Gram matrices at
  that scale, accumulated over tiles of the painting (:func:`tiled_grams`, exact up to
  the context margin), so no tile drifts to its own palette;
* tiles are optimised one after the other, each starting from what its neighbours
  already painted, and put back by :class:`TileCanvas`: a tile fades into the tile before
  it across the middle half of their actual overlap (:func:`blend_bands`), first along
  its row, then the whole row into the rows above. A tile's pixels near its cut edges
  were painted against its own padding, not its neighbours, and carry more gradient
  (measured: +8..16 % over the first ~100 px with tiles of 256 px); fading in from just
  inside the edge, as before, showed them as a seam (1.31 vs 1.20 untiled on the same
  bands at 512 px; 1.146 vs 1.034 at 1024 px). Now they never show.

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


def blend_bands(boxes: Sequence[Box]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Where neighbouring tiles are blended: (columns, rows), each a list of pixel
    intervals [start, end), the middle half of the overlap between a tile and the one
    before it along that axis. Both tiles' pixels there lie at least a quarter of the
    overlap inside their own borders, away from what a tile paints against its padding."""
    bands = []
    for first, last in ((1, 3), (0, 2)):
        starts = sorted({b[first] for b in boxes})
        ends = sorted({b[last] for b in boxes})
        axis = []
        for start, end_before in zip(starts[1:], ends):
            quarter = (end_before - start) // 4
            axis.append((start + quarter, max(start + quarter + 1, end_before - quarter)))
        bands.append(axis)
    return bands[0], bands[1]


def _ramp(length: int, offset: int, band: tuple[int, int] | None) -> torch.Tensor:
    """1-D weights of a tile starting at ``offset``: 0 before ``band`` (where the tile
    before it wins), a smoothstep across it, 1 after, to the tile's end (the next tile
    fades in over it, and wins its last pixels)."""
    import torch

    weight = torch.ones(length)
    if band is not None:
        pos = torch.arange(length, dtype=torch.float32) + offset
        a, b = band
        weight = ((pos - a + 0.5) / (b - a)).clamp(0, 1)
    return weight * weight * (3 - 2 * weight)  # smoothstep: no kink where the fade meets the inside


def _col_weight(box: Box, boxes: Sequence[Box]) -> torch.Tensor:
    top, left, bottom, right = box
    cols, _ = blend_bands(boxes)
    lefts = sorted({b[1] for b in boxes})
    band = cols[lefts.index(left) - 1] if left > 0 else None
    return _ramp(right - left, left, band)[None, None, None, :].expand(1, 1, bottom - top, right - left)


def _row_weight(top: int, bottom: int, boxes: Sequence[Box]) -> torch.Tensor:
    _, rows = blend_bands(boxes)
    tops = sorted({b[0] for b in boxes})
    band = rows[tops.index(top) - 1] if top > 0 else None
    return _ramp(bottom - top, top, band)[None, None, :, None]


class TileCanvas:
    """The picture painted tile by tile, in :func:`tile_boxes` order (row by row). The
    tiles of a row are put together in a strip, each faded in over the one before it
    across their blend band (:func:`blend_bands`); the finished strip is faded into the
    picture across the band below the row above. Every pixel then comes from the tiles
    around it at least a quarter of their overlap inside their cut edges, where a tile
    painted against its own padding instead of its neighbours."""

    def __init__(self, image: torch.Tensor, boxes: Sequence[Box]) -> None:
        self.image = image.detach().clone()
        self.boxes = list(boxes)
        self.width = image.shape[-1]
        self.strip: torch.Tensor | None = None
        self.rows: tuple[int, int] = (0, 0)

    def start(self, box: Box) -> torch.Tensor:
        """Where the tile at ``box`` starts from: the picture so far, with the tiles of its
        row before it (a copy, contiguous)."""
        top, left, bottom, right = box
        if self.strip is None or self.rows != (top, bottom):
            self.strip = self.image[..., top:bottom, :].clone()
            self.rows = (top, bottom)
        return self.strip[..., :, left:right].clone().contiguous()

    def paste(self, box: Box, piece: torch.Tensor) -> None:
        """Put the tile's result in; the row's last tile puts the row into the picture."""
        assert self.strip is not None
        top, left, bottom, right = box
        paste(
            self.strip, piece, (0, left, bottom - top, right), _col_weight(box, self.boxes).to(piece.device)
        )
        if right == self.width:
            paste(self.image, self.strip, (top, 0, bottom, self.width), _row_weight(top, bottom, self.boxes))
            self.strip = None

    def preview(self, box: Box, piece: torch.Tensor) -> torch.Tensor:
        """The whole picture as it would be with ``piece`` put in now (for previews)."""
        assert self.strip is not None
        top, left, bottom, right = box
        strip = self.strip.clone()
        paste(strip, piece, (0, left, bottom - top, right), _col_weight(box, self.boxes).to(piece.device))
        picture = self.image.clone()
        paste(picture, strip, (top, 0, bottom, self.width), _row_weight(top, bottom, self.boxes))
        return picture


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


def seam_ratio(image: np.ndarray, boxes: Sequence[Box], band: int | None = None) -> float:
    """How visible the seams are: the mean gradient across the tile borders over the mean
    gradient elsewhere, each direction against itself. 1.0: the borders look like the rest
    of the picture. The borders are the ``band`` px from each tile's start (fast mode's
    blend fades in there), or with ``band`` None the blend bands of :func:`blend_bands`
    (where the engine's tiles are mixed). ``image`` is H×W or H×W×C."""
    import numpy as np

    img = np.asarray(image, dtype=np.float64)
    img = img[..., None] if img.ndim == 2 else img
    height, width = img.shape[:2]
    cols, rows = np.zeros(width, bool), np.zeros(height, bool)
    if band is None:
        col_bands, row_bands = blend_bands(boxes)
        for a, b in col_bands:
            cols[a:b] = True
        for a, b in row_bands:
            rows[a:b] = True
    else:
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
    for grad, mask in ((dx, cols[1:]), (dy, rows[1:])):
        if mask.any() and (~mask).any():
            ratios.append(grad[mask].mean() / max(grad[~mask].mean(), 1e-12))
            sizes.append(mask.sum())
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
    from painterly.transfer import scale_canvas

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
            # untiled, the scale is painted on its canvas (issue #17: margin and grid), not at (w, h)
            ch, cw = scale_canvas((h, w), config).size
            need = scale_peak_bytes(config, (cw, ch), style_sizes, longest, count, 0)
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
    from painterly.transfer import Targets, add_calm_target

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
    add_calm_target(scale, config, targets)
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
    fresh optimiser: its memory is freed before the next) and is blended into its
    neighbours in the middle of their overlap (TileCanvas).

    Progress counts the scale's ``iterations`` steps as a whole (a step is reported when
    the tiles together have done another pass's worth), so step numbers, progress bars
    and resuming mean the same as in an untiled run. Losses reported are the current
    tile's."""
    import dataclasses

    import torch

    from painterly.events import Progress
    from painterly.transfer import Outcome, Targets, optimise

    _, _, height, width = image.shape
    boxes = tile_boxes(height, width, tile)
    canvas = TileCanvas(image, boxes)
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
        calm = None if targets.calm is None else targets.calm[..., top:bottom, left:right]
        tile_targets = Targets(
            {k: content[k] for k in config.content_layers},
            targets.style,
            targets.taps,
            color=targets.color,
            calm=calm,
        )

        def on_step(event: Progress, index: int = index, box: Box = box) -> None:
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
                preview = canvas.preview(box, event.image.to(image.device)).clamp(0, 1).cpu()
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

        crop = canvas.start(box)
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
        canvas.paste(box, outcome.image)
        del content, tile_targets, crop
        if outcome.status != "finished":
            return Outcome(canvas.image, outcome.status, reported, history, outcome.message)
    return Outcome(canvas.image, "finished", iterations, history)
