"""The Gatys engine: optimise the pixels of an image so that its VGG19 features match
the photo's (content) and its Gram matrices match the painting's (style).

``stylize`` is the one entry point. It never prints: progress leaves as
:class:`~painterly.events.Progress` records through the callback, which may raise
:class:`~painterly.events.Stop` to end the run. Ctrl-C and a loss that turns NaN or
infinite also end the run cleanly, and the result then carries the last good image.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from PIL import Image

from painterly.backbones.vgg import VGG19Features, deepest_tap
from painterly.config import INIT_KEYWORDS, TransferConfig, normalised
from painterly.devices import resolve_device
from painterly.errors import ConfigError
from painterly.events import Progress, ProgressCallback, RunStatus, Stop
from painterly.images import fit_size, open_image, pil_to_tensor, resize, tensor_to_pil, to_rgb
from painterly.losses import content_loss, gram_matrix, style_loss, total_variation
from painterly.taps import tap_downsampling

ImageSource = str | os.PathLike[str] | Image.Image


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


def load_image(source: ImageSource) -> Image.Image:
    """A path or a Pillow image → upright RGB Pillow image (InputError for a bad file)."""
    return to_rgb(source) if isinstance(source, Image.Image) else open_image(source)


def build_network(config: TransferConfig, device: torch.device) -> VGG19Features:
    """The pretrained VGG19, only as deep as the config's deepest layer."""
    last = deepest_tap(config.content_layers + config.style_layers)
    return VGG19Features.pretrained(config.pooling, config.activation, last_tap=last, device=device)


def check_fits_layers(size: tuple[int, int], config: TransferConfig, what: str) -> None:
    """Fail early if an image is too small for the deepest layer (it would have no pixels)."""
    deepest = deepest_tap(config.content_layers + config.style_layers)
    need = 2 ** tap_downsampling(deepest)
    if min(size) < need:
        raise ConfigError(
            f"{what} is {size[0]}×{size[1]} px, too small for layer {deepest} (needs at least {need} px a side)"
        )


def compute_targets(
    network: VGG19Features,
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    config: TransferConfig,
    blend: Sequence[float] | None = None,
) -> Targets:
    """Content features and blended style Gram matrices, computed once per run."""
    blend = list(blend) if blend is not None else normalised(config.style_blend_weights, len(styles))
    with torch.no_grad():
        content_feats = network(content, config.content_layers)
        grams: dict[str, torch.Tensor] = {}
        for weight, style in zip(blend, styles):
            feats = network(style, config.style_layers)
            for layer in config.style_layers:
                g = gram_matrix(feats[layer]) * weight
                grams[layer] = grams[layer] + g if layer in grams else g
    taps = list(dict.fromkeys(config.content_layers + config.style_layers))
    return Targets({k: content_feats[k] for k in config.content_layers}, grams, taps)


def compute_losses(
    network: VGG19Features, image: torch.Tensor, targets: Targets, config: TransferConfig
) -> dict[str, torch.Tensor]:
    """Weighted partial losses by name, plus their sums ``content``, ``style`` and ``total``."""
    feats = network(image, targets.taps)
    parts: dict[str, torch.Tensor] = {}
    content_w = normalised(config.content_layer_weights, len(config.content_layers))
    style_w = normalised(config.style_layer_weights, len(config.style_layers))
    for layer, w in zip(config.content_layers, content_w):
        parts[f"content/{layer}"] = (
            config.content_weight * w * content_loss(feats[layer], targets.content[layer], config.loss)
        )
    for layer, w in zip(config.style_layers, style_w):
        parts[f"style/{layer}"] = (
            config.style_weight * w * style_loss(feats[layer], targets.style[layer], config.loss)
        )
    zero = image.new_zeros(())
    parts["content"] = sum((v for k, v in parts.items() if k.startswith("content/")), zero)
    parts["style"] = sum((v for k, v in parts.items() if k.startswith("style/")), zero)
    if config.tv_weight:
        parts["tv"] = config.tv_weight * total_variation(image)
    parts["total"] = parts["content"] + parts["style"] + parts.get("tv", zero)
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
    return pil_to_tensor(resize(load_image(config.init), (w, h)), content.device)


def make_optimizer(image: torch.Tensor, config: TransferConfig, lr: float) -> torch.optim.Optimizer:
    """L-BFGS with one loss evaluation per step (no line search), or Adam."""
    if config.optimizer == "lbfgs":
        return torch.optim.LBFGS([image], lr=lr, max_iter=1, history_size=100)
    return torch.optim.Adam([image], lr=lr)


def stylize(
    content: ImageSource,
    styles: ImageSource | Sequence[ImageSource],
    config: TransferConfig | None = None,
    callback: ProgressCallback | None = None,
    *,
    network: VGG19Features | None = None,
) -> TransferResult:
    """Repaint ``content`` in the style of ``styles`` (one painting or several, blended).

    ``network`` lets a caller share one loaded VGG19 between runs; it must have been
    built with the config's pooling and activation and reach its deepest layer.
    """
    config = config or TransferConfig()
    clock = time.perf_counter()
    style_list = [styles] if isinstance(styles, (str, os.PathLike, Image.Image)) else list(styles)
    if not style_list:
        raise ConfigError("give at least one style image")
    if config.style_blend_weights and len(config.style_blend_weights) != len(style_list):
        raise ConfigError(
            f"style_blend_weights has {len(config.style_blend_weights)} values for {len(style_list)} style images"
        )
    device = resolve_device(config.device)
    content_img = load_image(content)
    style_imgs = [load_image(s) for s in style_list]
    if config.init not in INIT_KEYWORDS:
        load_image(config.init)  # validate the init file before any long work

    size = fit_size(*content_img.size, config.size)
    check_fits_layers(size, config, "content image at this size")
    style_sizes = [fit_size(*img.size, max(1, round(config.size * config.style_scale))) for img in style_imgs]
    for i, s in enumerate(style_sizes):
        check_fits_layers(s, config, f"style image {i + 1} at this style scale")

    t0 = time.perf_counter()
    net = network or build_network(config, device)
    timings = {"prepare": t0 - clock, "load_network": time.perf_counter() - t0}

    t0 = time.perf_counter()
    content_t = pil_to_tensor(resize(content_img, size), device)
    style_ts = [pil_to_tensor(resize(img, s), device) for img, s in zip(style_imgs, style_sizes)]
    targets = compute_targets(net, content_t, style_ts, config)
    generator = torch.Generator().manual_seed(config.seed)
    image = initial_image(config, content_t, style_imgs[0], generator)
    timings["targets"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    outcome = optimise(net, image, targets, config, callback, config.iterations)
    timings["optimise"] = time.perf_counter() - t0
    timings["per_step"] = timings["optimise"] / max(1, outcome.steps)
    timings["total"] = time.perf_counter() - clock
    final = outcome.image.detach().clamp(0, 1).cpu()
    return TransferResult(
        image=tensor_to_pil(final),
        tensor=final,
        status=outcome.status,
        steps=outcome.steps,
        losses=outcome.history[-1] if outcome.history else {},
        history=outcome.history,
        timings=timings,
        device=str(device),
        config=config,
        message=outcome.message,
    )


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
    image = image.detach().clone().requires_grad_(True)
    lr = config.lr
    optimizer = make_optimizer(image, config, lr)
    best_image, best_loss = image.detach().clone(), float("inf")
    history: list[dict[str, float]] = []
    record: dict[str, torch.Tensor] = {}
    total_steps = total_steps or iterations
    start = time.perf_counter()
    restarts = 0

    def closure() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        parts = compute_losses(network, image, targets, config)
        parts["total"].backward()
        record.clear()
        record.update({k: v.detach() for k, v in parts.items()})
        return parts["total"]

    status: RunStatus = "finished"
    message = ""
    step = 0
    try:
        for step in range(1, iterations + 1):
            before = image.detach().clone()
            optimizer.step(closure)  # the losses it records are those of `before`
            losses = {k: float(v) for k, v in record.items()}
            total = losses["total"]
            if not _finite(total) or total > config.spike_factor * best_loss:
                restarts += 1
                image.data.copy_(best_image)
                if restarts > config.max_restarts:
                    status = "diverged"
                    message = f"the loss kept diverging (step {step + step_offset}); kept the best image"
                    break
                lr *= 0.5
                optimizer = make_optimizer(image, config, lr)
                losses["restart"] = float(restarts)
            elif total < best_loss:
                best_image, best_loss = before, total
            if config.optimizer == "adam":
                with torch.no_grad():
                    image.clamp_(0, 1)
            history.append(
                {"step": step + step_offset, "scale": scale, "elapsed": time.perf_counter() - start, **losses}
            )
            if callback is not None:
                preview = None
                if config.preview_every and (step % config.preview_every == 0 or step == iterations):
                    preview = image.detach().clamp(0, 1).cpu().clone()
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
                final = compute_losses(network, image, targets, config)
            if _finite(float(final["total"])) and float(final["total"]) <= best_loss:
                best_image = image.detach().clone()
                if history:
                    history[-1].update({k: float(v) for k, v in final.items()})
    except Stop:
        status, message = "stopped", f"stopped by request after step {step + step_offset}"
    except KeyboardInterrupt:
        step = max(0, step - 1)
        status, message = "interrupted", f"interrupted after step {step + step_offset}"
    return Outcome(best_image, status, step, history, message)


def _finite(value: float) -> bool:
    return value == value and value not in (float("inf"), float("-inf"))
