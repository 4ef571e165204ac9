"""The Gatys engine: optimise the pixels of an image so that its VGG19 features match
the photo's (content) and its Gram matrices match the painting's (style).

``stylize`` is the one entry point. It never prints: progress leaves as
:class:`~painterly.events.Progress` records through the callback, which may raise
:class:`~painterly.events.Stop` to end the run. Ctrl-C and a loss that turns NaN or
infinite also end the run cleanly, and the result then carries the last good image.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from PIL import Image

from painterly import color, first_conv, fused_taps, masks, patch_gram, photoreal, tiling
from painterly.backbones.vgg import VGG19Features, deepest_tap
from painterly.calm import calm_loss, flatness_map
from painterly.canvas import Canvas, plan_canvas, pooling_grid
from painterly.config import INIT_KEYWORDS, StyleEdges, TransferConfig, normalised
from painterly.devices import resolve_device
from painterly.errors import ConfigError
from painterly.estimate import LBFGS_HISTORY, ScheduleClock
from painterly.events import Progress, ProgressCallback, RunStatus, Stop
from painterly.fused_taps import TapLink
from painterly.images import (
    ImageSource,
    fine_tensor,
    fit_size,
    load_image,
    load_styles,
    pil_to_tensor,
    resize,
    resolve_style_path,
    resolve_styles,
    tensor_to_pil,
)
from painterly.lbfgs import FastLBFGS
from painterly.losses import (
    content_loss,
    distance,
    gram_matrix,
    photorealism_loss,
    style_loss,
    style_statistic_loss,
    style_statistics,
    total_variation,
    weighted_content_loss,
)
from painterly.precision import with_config_precision
from painterly.pyramid import PixelPyramid, step_scale
from painterly.style_edges import painting_edges, painting_features, painting_network
from painterly.taps import tap_min_size
from painterly.threads import with_config_threads

if TYPE_CHECKING:
    from painterly.library.cache import GramCache

#: Weight of the soft 0–1 range penalty (keep_range="penalty"): large enough that the
#: optimiser pays more for a pixel 0.1 out of range than any style gain from it.
RANGE_PENALTY_WEIGHT = 1e4
#: tv_weight is in neural-style's units (issue #17). Its TV term is w/2 · Σ(dx² + dy²) over
#: the 0–255 pixels; ours is a mean over the 0–1 pixels (size-independent, like our content
#: and style losses), so this factor makes the two equal for a 512×512 output, and the same
#: weight smooths alike at every size (neural-style's grows with the pixel count).
TV_SCALE = 0.5 * 255.0**2 * 3 * 512 * 512
#: Most loss evaluations the strong-Wolfe line search may spend on one step.
LINE_SEARCH_EVALS = 20
#: Longest L-BFGS step taken as proposed: RMS change of the (0–1) pixels. Steps that keep
#: the run converging move 0.004–0.07; the one L-BFGS proposes from its first, tiny step's
#: curvature reached 0.15–9 and sent the loss up 10–200× (72–128 px), so the guard restarted
#: the run at half the step again and again. Longer steps are shortened to this (issue #17).
MAX_STEP_RMS = 0.05
#: A caller's own loss terms: image (1×3×H×W) -> weighted partial losses by name.
ExtraLoss = Callable[[torch.Tensor], dict[str, torch.Tensor]]


@dataclass
class TransferResult:
    """What a run produced. ``image`` is never built from a NaN: on divergence it is the
    last good image. ``history`` has one record per step (step, scale, elapsed, losses)."""

    image: Image.Image
    tensor: torch.Tensor
    status: RunStatus
    steps: int
    losses: dict[str, float]
    history: list[dict[str, float]]
    timings: dict[str, float]
    device: str
    config: TransferConfig
    message: str = ""

    @property
    def ok(self) -> bool:
        """True when the run went to its end."""
        return self.status == "finished"


@dataclass
class Targets:
    """What the output is pulled towards: the photo's features and the painting's Grams."""

    content: dict[str, torch.Tensor]
    style: dict[str, torch.Tensor]
    taps: list[str] = field(default_factory=list)
    #: Gram matrix of RGB pixels of the colour reference (colour loss), or None.
    color: torch.Tensor | None = None
    #: Spatial control: when not empty, style losses are guided Grams per region.
    regions: list[Region] = field(default_factory=list)
    #: Per-pixel content weight (1×1×H×W at the image size), or None: uniform (issue #9).
    content_map: Region | None = None
    #: Further weighted losses of the image by name (e.g. video's temporal loss), added to the total.
    extra: ExtraLoss | None = None
    # issue #13: the photo's matting Laplacian (photorealistic mode), and the paintings'
    # statistics per layer as (blend weight, statistics) when style_loss is not gram.
    laplacian: torch.Tensor | None = None
    style_stats: dict[str, list[tuple[float, object]]] = field(default_factory=dict)
    #: issue #17: how flat the photo is at each pixel (calm.flatness_map, 1×1×H×W), or None.
    calm: torch.Tensor | None = None
    #: issue #17, ``style_edges="both"``: the picture's share of each canvas position (1 on
    #: the picture, 0 on the margin); the picture's Grams weigh each position by it.
    picture_area: Region | None = None


@dataclass
class Region:
    """A part of the photo with its own style targets (None: content only) and weight."""

    mask: torch.Tensor  # 1×1×H×W in 0–1 at the image size
    style: dict[str, torch.Tensor] | None
    weight: float = 1.0
    _by_shape: dict[tuple[int, int], torch.Tensor] = field(default_factory=dict, repr=False)

    def at(self, shape: tuple[int, int]) -> torch.Tensor:
        """The mask averaged down to a layer's h×w (cached)."""
        if shape not in self._by_shape:
            self._by_shape[shape] = masks.downsample(self.mask, shape)
        return self._by_shape[shape]


def build_network(config: TransferConfig, device: torch.device) -> VGG19Features:
    """The config's backbone (VGG19 unless it says otherwise), only as deep as its deepest layer."""
    from painterly.backbones.networks import build_backbone

    last = deepest_tap(config.content_layers + config.style_layers, config.backbone)
    net = build_backbone(
        config.backbone,
        weights_file=config.weights_file,
        pooling=config.pooling,
        activation=config.activation,
        last_tap=last,
        device=device,
    )
    # Issue #17: reflect padding (no dark frame); networks without the option keep their own.
    if hasattr(net, "with_padding"):
        net = net.with_padding(config.padding)
    return in_fast_layout(net, device)  # type: ignore[return-value]  # issue #16; AlexNet: same interface


def in_fast_layout(net: VGG19Features, device: torch.device) -> VGG19Features:
    """On the CPU, the network's weights in channels_last (NHWC): oneDNN then runs every
    convolution in that layout, and a stylize step took 7–8 % less CPU time at 256 px
    (bench/engine.py --layouts: the bare pass 7.5–9.7 % less at 256 and 384 px, interleaved
    A/B; issue #16). The input stays as it is; the Gram matrices read the NHWC taps through
    a view (losses.gram_matrix). Not applied on GPUs (unmeasured)."""
    return net.to(memory_format=torch.channels_last) if device.type == "cpu" else net


def check_fits_layers(size: tuple[int, int], config: TransferConfig, what: str) -> None:
    """Fail early if an image is too small for the deepest layer (it would have no pixels)."""
    deepest = deepest_tap(config.content_layers + config.style_layers, config.backbone)
    need = tap_min_size(deepest, config.backbone)
    if min(size) < need:
        raise ConfigError(
            f"{what} is {size[0]}×{size[1]} px, too small for layer {deepest} (needs at least {need} px a side)"
        )


def compute_targets(
    network: VGG19Features,
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    config: TransferConfig,
    cache: GramCache | None = None,
) -> Targets:
    """Content features and blended style Gram matrices, computed once per run."""
    blend = normalised(config.style_blend_weights, len(styles))
    with torch.no_grad():
        content_feats = network(content, config.content_layers)
    grams = style_grams(network, styles, config.style_layers, blend, cache=cache, edges=config.style_edges)
    taps = list(dict.fromkeys(config.content_layers + config.style_layers))
    return Targets({k: content_feats[k] for k in config.content_layers}, grams, taps)


def style_grams(
    network: VGG19Features,
    styles: Sequence[torch.Tensor],
    layers: Sequence[str],
    blend: Sequence[float],
    cache: GramCache | None = None,
    edges: StyleEdges = "whole",
) -> dict[str, torch.Tensor]:
    """The blend-weighted sum of the paintings' Gram matrices at each style layer
    (each painting's own Grams read from / written to ``cache`` when one is given), of
    the whole paintings or of their interiors (painterly.style_edges)."""
    grams: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for weight, style in zip(blend, styles):
            own = _cached_grams(network, style, layers, cache, edges)
            for layer in layers:
                g = own[layer] * weight
                grams[layer] = grams[layer] + g if layer in grams else g
    return grams


def _cached_grams(
    network: VGG19Features,
    style: torch.Tensor,
    layers: Sequence[str],
    cache: GramCache | None,
    edges: StyleEdges = "whole",
) -> dict[str, torch.Tensor]:
    """One painting's Gram matrices: from the cache, else computed (and stored)."""
    edges = painting_edges(edges)
    network = painting_network(network)
    key = cache.key(style, layers, network, edges) if cache is not None else ""
    if cache is not None:
        found = cache.get(key, style.device)
        if found is not None and set(found) == set(layers):
            return found
    feats = painting_features(network, style, layers, edges)
    own = {layer: gram_matrix(feats[layer]) for layer in layers}
    if cache is not None:
        cache.put(key, own)
    return own


def compute_losses(
    network: VGG19Features, image: torch.Tensor, targets: Targets, config: TransferConfig
) -> dict[str, torch.Tensor]:
    """Weighted partial losses by name, plus their sums ``content``, ``style`` and ``total``."""
    # issue #16: conv1_1's Gram from the image's patches (exact, 1/5 of the arithmetic), so
    # conv1_1 needs no tap of its own.
    from_patches = patch_gram.applies(network, targets, config)
    taps = [t for t in targets.taps if not (from_patches and t == patch_gram.FIRST_CONV)]
    # issue #16: a pre-ReLU tap's loss gradients are added inside its ReLU's backward (fused_taps)
    links: dict[str, TapLink] = {}
    # issue #16: conv1_1's Gram hands its gradient to conv1_1's own backward (first_conv.Link)
    first_link = first_conv.Link() if from_patches and patch_gram.LINKED else None
    with first_conv.linking(first_link):
        if fused_taps.ENABLED and isinstance(network, VGG19Features):
            feats = network(image, taps, links=links)
        else:
            feats = network(image, taps)
    parts: dict[str, torch.Tensor] = {}
    content_w = normalised(config.content_layer_weights, len(config.content_layers))
    style_w = normalised(config.style_layer_weights, len(config.style_layers))
    for layer, w in zip(config.content_layers, content_w):
        f, p = feats[layer], targets.content[layer]
        if targets.content_map is not None:  # spatially varying content weight, averaged down to the layer
            value = weighted_content_loss(f, p, targets.content_map.at(tuple(f.shape[-2:])), config.loss)
        else:
            value = content_loss(f, p, config.loss, link=links.get(layer))
        parts[f"content/{layer}"] = config.content_weight * w * value
    zero = image.new_zeros(())
    for layer, w in zip(config.style_layers, style_w):
        if targets.regions:  # guided Gram matrices, one per region (Gatys et al. 2017)
            f = feats[layer]
            size = tuple(f.shape[-2:])
            # issue #17, style_edges="both": each region's positions on the picture only
            keep = targets.picture_area.at(size).sqrt() if targets.picture_area is not None else None
            value = sum(
                (
                    r.weight
                    * distance(
                        masks.guided_gram(f, r.at(size) if keep is None else r.at(size) * keep),
                        r.style[layer],
                        config.loss,
                    )
                    for r in targets.regions
                    if r.style is not None
                ),
                zero,
            )
        elif targets.style_stats:  # issue #13: another style statistic than the Gram matrix
            value = sum(
                (
                    w * style_statistic_loss(feats[layer], t, config.style_loss)
                    for w, t in targets.style_stats[layer]
                ),
                zero,
            )
        elif targets.picture_area is not None:  # issue #17: the picture's Grams, not the margin's
            f = feats[layer]
            share = targets.picture_area.at(tuple(f.shape[-2:]))  # area-averaged: each cell's share
            # guided_gram weighs by the mask squared: F·diag(share)·Fᵀ / (C·Σ share)
            value = distance(masks.guided_gram(f, share.sqrt()), targets.style[layer], config.loss)
        elif from_patches and layer == patch_gram.FIRST_CONV:
            if first_link is not None and first_link.output is not None:
                value = patch_gram.linked_style_loss(network, first_link, targets.style[layer])
            else:  # conv1_1 did not take first_conv's path (no gradient, a GPU, ...)
                value = patch_gram.style_loss(network, image, targets.style[layer])
        else:
            value = style_loss(feats[layer], targets.style[layer], config.loss, link=links.get(layer))
        parts[f"style/{layer}"] = config.style_weight * w * value
    parts["content"] = sum((v for k, v in parts.items() if k.startswith("content/")), zero)
    parts["style"] = sum((v for k, v in parts.items() if k.startswith("style/")), zero)
    if config.tv_weight:
        parts["tv"] = config.tv_weight * TV_SCALE * total_variation(image)
    if targets.calm is not None and config.calm_weight:
        parts["calm"] = config.calm_weight * calm_loss(image, targets.calm)
    if targets.color is not None and config.color_weight:
        parts["color"] = config.color_weight * distance(color.pixel_gram(image), targets.color, config.loss)
    if targets.laplacian is not None and config.photo_weight:
        parts["photo"] = config.photo_weight * photorealism_loss(image, targets.laplacian)
    if config.keep_range == "penalty":
        outside = (image - image.clamp(0, 1)).square().mean()
        parts["range"] = RANGE_PENALTY_WEIGHT * outside
    extra = targets.extra(image) if targets.extra is not None else {}
    parts.update(extra)
    parts["total"] = (
        parts["content"]
        + parts["style"]
        + sum((parts[k] for k in ("tv", "calm", "color", "range", "photo") if k in parts), zero)
        + sum(extra.values(), zero)
    )
    return parts


def initial_image(
    config: TransferConfig,
    content: torch.Tensor,
    style: Image.Image,
    generator: torch.Generator,
) -> torch.Tensor:
    """The image the optimiser starts from: the photo, noise, the painting or a file."""
    _, _, h, w = content.shape
    if config.init == "content":
        return content.clone()
    if config.init == "noise":
        # Drawn on the CPU so that a seed gives the same start on every device.
        return torch.rand(1, 3, h, w, generator=generator).to(content.device)
    if config.init == "style":
        return pil_to_tensor(resize(style, (w, h)), content.device)
    if config.init == "recolor":
        # issue #13: the photo moved globally to the painting's colour mean and covariance, a
        # start that is already a (globally, so locally) affine recolouring of the photo: the
        # photorealism loss is ~0 there and the style loss has less colour left to move.
        painting = pil_to_tensor(resize(style, (w, h)), content.device)
        return color.transfer_colors(content, painting)
    if config.init == "fast":
        # A head start: the fast-mode painting of the photo at the run's size (onnxruntime
        # is optional, so it is imported only here).
        from painterly.config import FastConfig
        from painterly.fast import fast_stylize

        painted = fast_stylize(tensor_to_pil(content), [style], FastConfig(size=max(h, w, 16)))
        return painted.tensor.to(content.device)
    return pil_to_tensor(resize(load_image(config.init), (w, h)), content.device)


def make_optimizer(
    image: torch.Tensor | list[torch.Tensor], config: TransferConfig, lr: float, steps: int | None = None
) -> torch.optim.Optimizer:
    """L-BFGS with one loss evaluation per step (no line search) or with a strong-Wolfe
    line search (several evaluations a step, no overshoot), or Adam. ``image`` may be a
    list of tensors (the levels of a :class:`~painterly.pyramid.PixelPyramid`). ``steps``
    (the steps the optimiser will take, when known) caps the L-BFGS history it reserves."""
    params = image if isinstance(image, list) else [image]
    if config.optimizer == "lbfgs":
        if config.line_search == "strong_wolfe":
            # torch gives the line search max_eval − 1 evaluations; its default (1) would allow none.
            return torch.optim.LBFGS(
                params,
                lr=lr,
                max_iter=1,
                max_eval=1 + LINE_SEARCH_EVALS,
                history_size=LBFGS_HISTORY,
                line_search_fn="strong_wolfe",
            )
        # issue #16: the same L-BFGS, its direction from two matrix-vector products (lbfgs.py)
        return FastLBFGS(params, lr=lr, max_iter=1, history_size=LBFGS_HISTORY, capacity=steps)
    return torch.optim.Adam(params, lr=lr)


def cap_step(
    optimizer: torch.optim.Optimizer, before: list[torch.Tensor], limit: float = MAX_STEP_RMS
) -> float:
    """Shorten the L-BFGS step just taken (parameters now, ``before`` the step) to an RMS
    change of ``limit``, and tell L-BFGS (its step length ``t``) so that the curvature pair
    it forms next matches the step really taken. Returns the factor (1.0: untouched)."""
    params = optimizer.param_groups[0]["params"]
    with torch.no_grad():
        squares = sum(float((p - b).square().sum()) for p, b in zip(params, before))
        count = sum(p.numel() for p in params)
        rms = (squares / max(1, count)) ** 0.5
        if not rms > limit:  # also NaN: the guard deals with it
            return 1.0
        factor = limit / rms
        for p, b in zip(params, before):
            p.copy_(b + (p - b) * factor)
    state = optimizer.state[params[0]]
    if "t" in state:
        state["t"] = state["t"] * factor
    return factor


def clamps_pixels(config: TransferConfig) -> bool:
    """Whether pixels are clamped to 0–1 after each step (keep_range)."""
    return config.keep_range == "clamp"


@with_config_threads  # config.threads (issue #16)
@with_config_precision  # config.precision on a GPU (issue #16)
def stylize(
    content: ImageSource,
    styles: ImageSource | Sequence[ImageSource],
    config: TransferConfig | None = None,
    callback: ProgressCallback | None = None,
    *,
    network: VGG19Features | None = None,
    cache: GramCache | None = None,
    content_map: Image.Image | None = None,
    regions: Sequence[masks.MaskSpec] = (),
    init_image: torch.Tensor | None = None,
    extra_loss: ExtraLoss | None = None,
) -> TransferResult:
    """Repaint ``content`` in the style of ``styles`` (one painting or several, blended).

    ``styles`` may name the library (``movement:fauvism``, ``artist:van_gogh``, an id): they
    become files and blend weights here (``config.style_group``). ``network`` lets a caller
    share one loaded VGG19 between runs; it must have been built with the config's pooling
    and activation and reach its deepest layer. ``cache`` holds paintings' Gram targets
    between runs (default with ``config.cache``: the user cache folder).
    ``content_map`` (a grey "F" or "L" image over the photo; its values are the weights, 1
    meaning the plain content weight) weights the content loss per pixel; ``regions`` adds
    in-memory region masks (MaskSpec with Pillow images) to those of ``config.masks`` (issue #9).
    ``init_image`` (1×3×H×W in 0–1, resized to the first scale) replaces ``config.init``
    and ``extra_loss`` adds the caller's terms to the loss: video uses both for the
    previous frame moved by the optical flow and the temporal loss against it.
    """
    config = as_config(config)
    clock = time.perf_counter()
    device = resolve_device(config.device)
    content_img = load_image(content, "content")
    choice = resolve_styles(styles, config.style_blend_weights, "style_blend_weights", config.style_group)
    if choice.expanded:
        config = config.replace(style_blend_weights=choice.weights)
    style_imgs = load_styles(choice.sources, config.style_blend_weights, "style_blend_weights")
    if cache is None and config.cache:
        from painterly.library.cache import GramCache

        cache = GramCache()
    if config.init not in INIT_KEYWORDS:
        load_image(config.init)  # validate the init file before any long work

    region_specs = [masks.parse_mask_spec(spec) for spec in config.masks] + list(regions)
    masks.check_mask_files(region_specs)
    color_ref = load_image(config.color_reference) if config.color_reference else None
    if config.color_weight and config.preserve_colors == "luminance":
        raise ConfigError(
            "color_weight has no effect with preserve_colors luminance (the photo's colours are kept)"
        )
    region_styles = [
        None
        if r.style is None
        else load_image(r.style if isinstance(r.style, Image.Image) else resolve_style_path(r.style))
        for r in region_specs
    ]

    sizes = config.scale_sizes()
    steps = config.steps_per_scale()
    for longest in sizes:
        size = fit_size(*content_img.size, longest)
        check_fits_layers(size, config, f"content image at {longest} px")
        for i, img in enumerate(style_imgs + [r for r in region_styles if r is not None]):
            check_fits_layers(_style_size(img, longest, config), config, f"style image {i + 1} at this size")

    # issue #12: the scales too large for the memory budget (or --tile) run in tiles; the
    # schedule (pixels × steps per scale) prices the time left (issue #18).
    unsupported = tiling.check_tileable(
        config, content_map=content_map is not None, regions=bool(regions), extra_loss=extra_loss is not None
    )
    tiles = tiling.plan_tiles(config, content_img.size, [i.size for i in style_imgs], unsupported=unsupported)
    eta_clock = ScheduleClock(tiling.schedule_work(content_img.size, sizes, steps, tiles))

    t0 = time.perf_counter()
    net = network or build_network(config, device)
    if getattr(net, "padding", config.padding) != config.padding:  # a shared network: same weights
        net = net.with_padding(config.padding)
    timings = {"prepare": t0 - clock, "load_network": time.perf_counter() - t0}

    generator = torch.Generator().manual_seed(config.seed)
    t_start = time.perf_counter()
    timings["targets"] = 0.0
    history: list[dict[str, float]] = []
    image: torch.Tensor | None = None
    outcome: Outcome | None = None
    done = 0
    for index, (longest, count) in enumerate(zip(sizes, steps)):
        t0 = time.perf_counter()
        picture = prepare_scale(
            content_img, style_imgs, region_specs, region_styles, color_ref, longest, config, device
        )
        # issue #17: painted on a canvas grown to VGG's pooling grid (painterly.canvas); tiled
        # scales keep their own edges (their tiles overlap and feather instead).
        canvas = scale_canvas(picture.content.shape[-2:], config, tiled=bool(tiles[index]))
        scale = on_canvas(picture, canvas)
        if tiles[index]:  # issue #12: the whole painting's Grams, accumulated over tiles
            targets = tiling.scale_targets(net, scale, config, tiles[index])
        else:
            targets = compute_scale_targets(net, scale, config, cache)
        if content_map is not None:
            targets.content_map = Region(
                canvas.extend(masks.map_tensor(content_map, picture.content.shape[-2:], device)), None
            )
        targets.extra = (
            extra_loss if extra_loss is None or not canvas.padded else _cropped(extra_loss, canvas)
        )
        if config.style_edges == "both" and canvas.padded and not tiles[index]:
            targets.picture_area = Region(canvas.picture_mask(scale.content), None)
        h, w = picture.content.shape[-2:]
        if image is None and init_image is not None:
            image = F.interpolate(init_image.to(device), size=(h, w), mode="bilinear", align_corners=False)
        if image is None:
            image = initial_image(config, picture.content, style_imgs[0], generator)
            if config.preserve_colors == "luminance":
                image = color.grey3(color.luminance(image))
        else:  # coarse-to-fine: start from the previous scale's result (its picture), upsampled
            image = F.interpolate(image, size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1)
        image = canvas.extend(image).contiguous()  # L-BFGS flattens with view()
        timings["targets"] += time.perf_counter() - t0
        offset = time.perf_counter() - t_start
        recolor = picture.color_source if config.preserve_colors == "luminance" else None
        scale_callback = eta_clock.wrap(
            _scale_callback(callback, offset, recolor, canvas), index, done, count
        )
        if tiles[index]:
            outcome = tiling.optimise_tiled(
                net, image, scale, targets, config, scale_callback, count, tiles[index],
                index, len(sizes), done, sum(steps),
            )  # fmt: skip
        else:
            outcome = optimise(
                net, image, targets, config, scale_callback, count, index, len(sizes), done, sum(steps)
            )
        history += [{**row, "elapsed": row["elapsed"] + offset} for row in outcome.history]
        image = canvas.crop(outcome.image.detach())
        if config.preserve_colors == "histogram":
            # Issue #17: the painting recoloured alone gave a washed-out picture (its Grams pull
            # towards the painting's contrast); move the painted result to the photo's colours too.
            image = color.transfer_colors(image, picture.color_source)
        done += outcome.steps
        if outcome.status != "finished":
            break
    assert outcome is not None and image is not None
    timings["optimise"] = time.perf_counter() - t_start - timings["targets"]
    timings["per_step"] = timings["optimise"] / max(1, done)
    if any(tiles):
        timings["tile"] = float(max(tiles))
    timings["total"] = time.perf_counter() - clock
    final = image.clamp(0, 1)
    if config.preserve_colors == "luminance":
        final = color.combine_luminance(final, picture.color_source)
    if config.smooth != "none":  # issue #13: Li et al. 2018's smoothing, guided by the photo
        t0 = time.perf_counter()
        final = photoreal.smooth(final, picture.color_source, config.smooth)
        timings["smooth"] = time.perf_counter() - t0
    final = final.cpu()
    return TransferResult(
        image=tensor_to_pil(final),
        tensor=final,
        status=outcome.status,
        steps=done,
        losses=history[-1] if history else {},
        history=history,
        timings=timings,
        device=str(device),
        config=config,
        message=outcome.message,
    )


def as_config(config: Any) -> TransferConfig:
    """The run's settings: a TransferConfig, a dict of settings (checked, naming the field),
    or None for the defaults; anything else is a TypeError saying so (issue #15)."""
    if config is None:
        return TransferConfig()
    if isinstance(config, TransferConfig):
        return config
    if isinstance(config, dict):
        return TransferConfig.from_dict(config)
    raise TypeError(f"config: expected a TransferConfig or a dict of settings; got {type(config).__name__}")


def remaining_schedule(config: TransferConfig, done: int) -> TransferConfig:
    """The config that carries on a run after ``done`` steps (``painterly run --resume``):
    the scales not finished yet, the current one with only its remaining steps."""
    sizes, steps = config.scale_sizes(), config.steps_per_scale()
    left = done
    for k, count in enumerate(steps):
        if left < count:
            rest = (count - left, *steps[k + 1 :])
            if k == len(sizes) - 1:
                break
            return config.replace(scales=sizes[k:-1], multiscale=False, scale_iterations=rest)
        left -= count
    else:
        rest = (0,)
    return config.replace(scales=(), multiscale=False, scale_iterations=(), iterations=rest[0])


@dataclass
class ScaleInputs:
    """The images of one scale, after colour handling: what VGG sees."""

    content: torch.Tensor  # 1×3×H×W (grey in luminance mode)
    styles: list[torch.Tensor]
    regions: list[tuple[torch.Tensor, torch.Tensor | None, float]]  # (mask, style or None, weight)
    color_reference: torch.Tensor | None
    color_source: torch.Tensor  # the photo in RGB at this scale (chroma source in luminance mode)


def _style_size(img: Image.Image, longest: int, config: TransferConfig) -> tuple[int, int]:
    side = config.style_size or max(1, round(longest * config.style_scale))
    return fit_size(*img.size, side)


def prepare_scale(
    content_img: Image.Image,
    style_imgs: Sequence[Image.Image],
    region_specs: Sequence[masks.MaskSpec],
    region_styles: Sequence[Image.Image | None],
    color_ref: Image.Image | None,
    longest: int,
    config: TransferConfig,
    device: torch.device,
) -> ScaleInputs:
    """Resize the photo, paintings and masks to one scale and apply the colour mode:
    histogram recolours each painting to the photo's colour statistics; luminance turns
    photo and paintings grey, the paintings' luminance moved to the photo's mean (its
    contrast kept, issue #17)."""
    size = fit_size(*content_img.size, longest)
    content = fine_tensor(content_img, size, device)  # issue #18: a 16-bit photo keeps its precision

    def style_tensor(img: Image.Image) -> torch.Tensor:
        t = pil_to_tensor(resize(img, _style_size(img, longest, config)), device)
        if config.preserve_colors == "histogram":
            return color.match_color_statistics(t, content)
        if config.preserve_colors == "luminance":
            return color.grey3(color.shift_luminance(t, content))
        return t

    styles = [style_tensor(img) for img in style_imgs]
    regions = [
        (
            masks.load_mask(spec.mask, size, device),
            style_tensor(img) if img is not None else None,
            spec.weight,
        )
        for spec, img in zip(region_specs, region_styles)
    ]
    reference = None
    if config.color_weight and color_ref is not None:  # an explicit reference keeps its own colours
        reference = pil_to_tensor(resize(color_ref, _style_size(color_ref, longest, config)), device)
    seen = color.grey3(color.luminance(content)) if config.preserve_colors == "luminance" else content
    return ScaleInputs(seen, styles, regions, reference, content)


def compute_scale_targets(
    network: VGG19Features, scale: ScaleInputs, config: TransferConfig, cache: GramCache | None = None
) -> Targets:
    """Targets of one scale: content features, blended style Grams, the colour Gram
    (of the colour reference, else of the blended paintings) and the regions' Grams."""
    targets = compute_targets(network, scale.content, scale.styles, config, cache)
    if config.color_weight:
        if scale.color_reference is not None:
            targets.color = color.pixel_gram(scale.color_reference)
        else:
            blend = normalised(config.style_blend_weights, len(scale.styles))
            targets.color = sum(w * color.pixel_gram(s) for w, s in zip(blend, scale.styles))
    if scale.regions:
        region_list: list[Region] = []
        for mask, style, weight in scale.regions:
            grams = None
            if style is not None:
                grams = style_grams(
                    network, [style], config.style_layers, [1.0], cache=cache, edges=config.style_edges
                )
            region_list.append(Region(mask, grams, weight))
        rest = masks.remainder([r.mask for r in region_list])
        if float(rest.max()) > 1e-3:  # soft masks summing to 1 leave only rounding noise
            region_list.append(Region(rest, targets.style, 1.0))
        targets.regions = region_list
    add_photoreal_targets(network, scale, config, targets)
    add_calm_target(scale, config, targets)
    return targets


def add_calm_target(scale: ScaleInputs, config: TransferConfig, targets: Targets) -> None:
    """Issue #17: where the photo is flat, so the calm term keeps the mesh off it."""
    if config.calm_weight:
        targets.calm = flatness_map(scale.color_source)


def add_photoreal_targets(
    network: VGG19Features, scale: ScaleInputs, config: TransferConfig, targets: Targets
) -> None:
    """Issue #13's targets: the photo's matting Laplacian (built once per scale, from the
    photo in RGB even in luminance mode) and the paintings' statistics for a style loss
    other than the Gram matrix (one set per painting, blended as a weighted sum of losses)."""
    if config.photorealistic:
        targets.laplacian = photoreal.matting_laplacian(scale.color_source)
    if config.style_loss != "gram":
        blend = normalised(config.style_blend_weights, len(scale.styles))
        stats: dict[str, list[tuple[float, object]]] = {layer: [] for layer in config.style_layers}
        with torch.no_grad():
            for weight, style in zip(blend, scale.styles):
                feats = painting_network(network)(style, config.style_layers)
                for layer in config.style_layers:
                    stats[layer].append((weight, style_statistics(feats[layer], config.style_loss)))
        targets.style_stats = stats


def scale_canvas(size: Sequence[int], config: TransferConfig, tiled: bool = False) -> Canvas:
    """The canvas one scale of ``size`` (h, w) is painted on (issue #17, painterly.canvas)."""
    h, w = size
    if tiled or config.canvas == "exact":  # tiles keep their own edges; exact: no margin either
        return Canvas(h, w)
    layers = (*config.content_layers, *config.style_layers)
    # The pixel pyramid (opt-in) was tuned on the grid alone: with the margin its L-BFGS
    # overshoots every third step at 96 px (the loss ×300, then a restart), cause not found.
    margin = config.edge_margin if config.pyramid_levels <= 1 else 0
    return plan_canvas(h, w, pooling_grid(layers, config.backbone), margin)


def on_canvas(scale: ScaleInputs, canvas: Canvas) -> ScaleInputs:
    """The scale's photo and region masks continued by their reflection to the canvas."""
    if not canvas.padded:
        return scale
    return dataclasses.replace(
        scale,
        content=canvas.extend(scale.content),
        color_source=canvas.extend(scale.color_source),
        regions=[(canvas.extend(mask), style, weight) for mask, style, weight in scale.regions],
    )


def _cropped(extra_loss: ExtraLoss, canvas: Canvas) -> ExtraLoss:
    """The caller's extra terms see the picture, not the canvas's margin."""
    return lambda image: extra_loss(canvas.crop(image))


def _scale_callback(
    callback: ProgressCallback | None,
    offset: float,
    color_source: torch.Tensor | None,
    canvas: Canvas | None = None,
) -> ProgressCallback | None:
    """Pass events on with the time since the first scale began, and previews of the
    picture (not the canvas) in the photo's colours (luminance mode optimises a grey image)."""
    if callback is None:
        return None

    def forward(event: Progress) -> None:
        image = event.image
        if image is not None and canvas is not None:
            image = canvas.crop(image)
        if image is not None and color_source is not None:
            image = color.combine_luminance(image, color_source.cpu())
        callback(dataclasses.replace(event, elapsed=event.elapsed + offset, image=image))

    return forward


@dataclass
class Outcome:
    """The end of one optimisation loop."""

    image: torch.Tensor
    status: RunStatus
    steps: int
    history: list[dict[str, float]]
    message: str = ""


def optimise(
    network: VGG19Features,
    image: torch.Tensor,
    targets: Targets,
    config: TransferConfig,
    callback: ProgressCallback | None,
    iterations: int,
    scale: int = 0,
    scale_count: int = 1,
    step_offset: int = 0,
    total_steps: int | None = None,
) -> Outcome:
    """Run ``iterations`` optimiser steps from ``image`` and report each.

    Guard: a step whose loss is not finite or jumps above ``spike_factor`` × the best
    loss so far sends the image back to the best one seen and restarts the optimiser
    with half the learning rate. Without it, L-BFGS without a line search can overshoot
    on its second step (its curvature estimate comes from a tiny first step), and its
    poisoned memory then stalls the run for good. The returned image is the best one
    evaluated, so a NaN or a spike never reaches an output.
    """
    # issue #17: L-BFGS optimises a pyramid of levels whose sum is the picture (see
    # painterly.pyramid: fewer fine-mesh steps); with 1 level `image` is the plain leaf.
    levels = config.pyramid_levels if config.optimizer == "lbfgs" else 1
    pyramid = PixelPyramid(image, levels)
    # L-BFGS's step on the pyramid warms up after each (re)start (pyramid.step_scale); a line
    # search chooses its own steps.
    warm = len(pyramid.leaves) > 1 and config.line_search == "none"
    # Plain pixels' L-BFGS steps are capped (cap_step); the pyramid has its warm-up instead.
    capped = config.optimizer == "lbfgs" and config.line_search == "none" and len(pyramid.leaves) == 1
    lr = config.lr
    optimizer = make_optimizer(pyramid.leaves, config, lr, iterations)
    since = 0  # steps since the optimiser (re)started
    best_image, best_loss = image.detach().clone(), float("inf")
    history: list[dict[str, float]] = []
    record: dict[str, torch.Tensor] = {}
    total_steps = total_steps or iterations
    start = time.perf_counter()
    restarts = 0

    def closure() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        parts = compute_losses(network, pyramid.image(), targets, config)
        parts["total"].backward()
        if not record:  # a line search evaluates more points; the first one is `before`
            record.update({k: v.detach() for k, v in parts.items()})
        return parts["total"]

    status: RunStatus = "finished"
    message = ""
    step = done = 0  # done: the last step whose update and loss row are both in
    try:
        for step in range(1, iterations + 1):
            before = pyramid.snapshot()
            since += 1
            if warm:
                optimizer.param_groups[0]["lr"] = lr * step_scale(since)
            record.clear()
            optimizer.step(closure)  # the losses it records are those of `before`
            if capped:  # one level: `before` is the leaf's own copy
                cap_step(optimizer, [before])
            losses = {k: float(v) for k, v in record.items()}
            total = losses["total"]
            if not _finite(total) or total > config.spike_factor * best_loss:
                restarts += 1
                pyramid.set(best_image)
                if restarts > config.max_restarts:
                    status = "diverged"
                    message = f"the loss kept diverging (step {step + step_offset}); kept the best image"
                    break
                lr *= 0.5
                optimizer = make_optimizer(pyramid.leaves, config, lr, iterations - step)
                since = 0
                losses["restart"] = float(restarts)
            elif total < best_loss:
                best_image, best_loss = before, total
            if clamps_pixels(config):
                pyramid.clamp_(0, 1)
            history.append(
                {"step": step + step_offset, "scale": scale, "elapsed": time.perf_counter() - start, **losses}
            )
            done = step
            if callback is not None:
                preview = None
                if config.preview_every and (step % config.preview_every == 0 or step == iterations):
                    preview = pyramid.snapshot().clamp(0, 1).cpu()
                callback(
                    Progress(
                        step=step + step_offset,
                        total_steps=total_steps,
                        losses=losses,
                        elapsed=time.perf_counter() - start,
                        scale=scale,
                        scale_count=scale_count,
                        image=preview,
                    )
                )
        else:
            # The last update was never evaluated: keep it only if it is at least as good.
            with torch.no_grad():
                last = pyramid.snapshot()
                final = compute_losses(network, last, targets, config)
            if _finite(float(final["total"])) and float(final["total"]) <= best_loss:
                best_image = last
                if history:
                    history[-1].update({k: float(v) for k, v in final.items()})
    except Stop:
        status, message = "stopped", f"stopped by request after step {step + step_offset}"
    except KeyboardInterrupt:
        # Mid-step the update is lost; in the callback (a checkpoint's held signal) it is not.
        step = done
        status, message = "interrupted", f"interrupted after step {step + step_offset}"
        history = [row for row in history if row["step"] <= step + step_offset]  # rows match steps
    return Outcome(best_image, status, step, history, message)


def _finite(value: float) -> bool:
    return value == value and value not in (float("inf"), float("-inf"))
