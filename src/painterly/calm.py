"""Calm flat areas (issue #17, the mesh): a penalty on the picture's finest detail where
the photo is flat.

L-BFGS on raw pixels answers the style loss's shallow layers with a cross-hatched mesh of
1–2 px colour noise, and on a sky or a wall nothing in the photo hides it. A uniform
smoothness term (TV) removes it only by blurring every stroke. This term penalises only
detail finer than ~2 px (what a Gaussian blur of 1 px removes), weighted by how flat the
photo is around each pixel: strokes keep their shape, textured parts of the photo keep all
their detail, and the style's fine texture moves to where the photo has texture of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

#: What calm_weight 1 means: the weighted mean squared 1 px detail (0–1 pixels) × this.
CALM_SCALE = 1e7
#: Flatness: the photo's local variation against its calmest quarter's (see flatness_map).
FLAT_QUANTILE = 0.25
#: How sharply the weight falls from flat to textured: (τ/(τ+v))^power. 2 by measurement
#: (bench/quality.py --modes calm, six pairs, 128–288 px): with 1, half or more of the term
#: lay outside the photo's flattest quarter, on middling texture where strokes belong, and the
#: coffee × The Scream at 224–288 px kept 0.49–0.55× its mesh (0.41–0.45× with 2); 2 moves
#: that weight onto the flattest quarter, calmer there at the same or a lower style distance.
FLATNESS_POWER = 2
#: Rows per strip when the flatness map is made (print sizes: the whole 3-channel blur chain
#: of an 8192 px photo at once would take ~3 GB; in strips, the photo plus two 1-channel maps).
STRIP_ROWS = 512
#: Rows a strip needs beyond its own: the reach of local_variation's blurs (σ 4: 12 px) and
#: of the flatness map's own (σ 2: 6 px), so strips give exactly the whole map.
VARIATION_REACH, WEIGHT_REACH = 12, 6


def gaussian_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of an N×C×H×W image, edges replicated (no dark rim)."""
    import torch
    import torch.nn.functional as F

    kernel = torch.tensor(_kernel(sigma), dtype=image.dtype, device=image.device)
    radius = len(kernel) // 2
    c = image.shape[1]
    padded = F.pad(image, (radius, radius, radius, radius), mode="replicate")
    out = F.conv2d(padded, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(out, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def fine_detail(image: torch.Tensor) -> torch.Tensor:
    """What a 1 px Gaussian blur removes: detail finer than ~2–3 px."""
    return image - gaussian_blur(image, 1.0)


def local_variation(photo: torch.Tensor) -> torch.Tensor:
    """1×1×H×W: how much the photo's luminance varies within a few px (fine detail plus
    a band-pass of 2–4 px), small on skies, walls and skin."""
    from painterly.color import luminance

    y = luminance(photo)
    fine = gaussian_blur(fine_detail(y).square(), 2.0)
    band = (gaussian_blur(y, 2.0) - gaussian_blur(y, 4.0)).square()
    return fine + band


def by_strips(
    fn: Callable[[torch.Tensor], torch.Tensor], image: torch.Tensor, reach: int, rows: int | None = None
) -> torch.Tensor:
    """``fn`` (a local filter whose output row depends on input rows within ``reach``) of
    ``image``, computed in horizontal strips of ``rows``: the same values in less memory."""
    import torch

    rows = rows or STRIP_ROWS
    h = image.shape[-2]
    if h <= rows:
        return fn(image)
    parts = []
    for top in range(0, h, rows):
        low, high = max(0, top - reach), min(h, top + rows + reach)
        part = fn(image[..., low:high, :])
        parts.append(part[..., top - low : top - low + min(rows, h - top), :])
    return torch.cat(parts, dim=-2)


def flatness_map(photo: torch.Tensor) -> torch.Tensor:
    """1×1×H×W weights with mean 1: highest where the photo is flat, falling smoothly to ~0
    where it is textured ((τ/(τ+variation))^FLATNESS_POWER, τ the calmest quarter's
    variation), blurred by 2 px so no seam shows where the weight changes."""

    variation = by_strips(local_variation, photo, VARIATION_REACH)
    flat = variation.flatten()
    # kthvalue, not quantile: torch.quantile refuses more than 2^24 values (print sizes)
    k = max(1, int(FLAT_QUANTILE * flat.numel()))
    tau = flat.float().kthvalue(k).values.clamp_min(1e-8)
    weights = by_strips(
        lambda v: gaussian_blur((tau / (tau + v)) ** FLATNESS_POWER, 2.0), variation, WEIGHT_REACH
    )
    return (weights / weights.mean()).detach()


def calm_loss(image: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Mean squared fine detail of ``image`` weighted by ``weights`` (flatness_map), × CALM_SCALE."""
    if FUSED and weights.shape[-2:] == image.shape[-2:] and min(image.shape[-2:]) > 3:
        return CALM_SCALE * _calm_l2(image, weights.expand(image.shape[0], *weights.shape[1:]))
    return CALM_SCALE * (weights * fine_detail(image).square()).mean()


#: Switch for the bench's A/B and the tests: False computes calm_loss through autograd's
#: chain of torch operations (pad, two depthwise convolutions, ...).
FUSED = True


def _kernel(sigma: float) -> list[float]:
    """The separable Gaussian kernel's taps (radius 3σ, at least 1), normalised to sum 1:
    gaussian_blur's and the fused calm node's."""
    import math

    radius = max(1, round(3 * sigma))
    taps = [math.exp(-(i * i) / (2 * sigma**2)) for i in range(-radius, radius + 1)]
    return [t / sum(taps) for t in taps]


def _blur_taps(image: torch.Tensor, taps: list[float]) -> torch.Tensor:
    """gaussian_blur (edges replicated) as shifted multiply-adds: the depthwise 7-tap
    convolutions on 3 channels cost ~0.8 ms forward and ~1.4 ms backward each at 256 px in
    oneDNN, the 14 shifted adds a fraction of that."""
    import torch.nn.functional as F

    r = len(taps) // 2
    h, w = image.shape[-2:]
    padded = F.pad(image, (r, r, r, r), mode="replicate")
    rows = padded[..., :, 0:w] * taps[0]
    for k in range(1, len(taps)):
        rows.add_(padded[..., :, k : k + w], alpha=taps[k])
    out = rows[..., 0:h, :] * taps[0]
    for k in range(1, len(taps)):
        out.add_(rows[..., k : k + h, :], alpha=taps[k])
    return out


def _blur_taps_adjoint(grad: torch.Tensor, taps: list[float]) -> torch.Tensor:
    """The adjoint of :func:`_blur_taps`: spread each output's gradient over the taps it
    read, then fold the replicated border back onto the edge pixels it copied."""
    r = len(taps) // 2
    n, c, h, w = grad.shape
    rows = grad.new_zeros(n, c, h + 2 * r, w)
    for k, tap in enumerate(taps):
        rows[..., k : k + h, :].add_(grad, alpha=tap)
    padded = grad.new_zeros(n, c, h + 2 * r, w + 2 * r)
    for k, tap in enumerate(taps):
        padded[..., :, k : k + w].add_(rows, alpha=tap)
    padded[..., r, :].add_(padded[..., :r, :].sum(-2))
    padded[..., h + r - 1, :].add_(padded[..., h + r :, :].sum(-2))
    inner = padded[..., r : h + r, :]
    inner[..., r].add_(inner[..., :r].sum(-1))
    inner[..., w + r - 1].add_(inner[..., w + r :].sum(-1))
    return inner[..., r : w + r]


def _calm_node():
    import torch

    class _CalmL2(torch.autograd.Function):
        """mean(w·(x − B·x)²) as one node; its backward is 2/N·(I − Bᵀ)(w·(x − B·x)), B the
        1 px Gaussian blur with replicated edges (autograd's chain made ~12 passes and
        oneDNN's depthwise convolution backward)."""

        @staticmethod
        def forward(ctx, image: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
            taps = _kernel(1.0)
            fine = image - _blur_taps(image, taps)
            weighted = weights * fine
            ctx.save_for_backward(weighted)
            return (weighted * fine).sum() / fine.numel()

        @staticmethod
        def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
            (weighted,) = ctx.saved_tensors
            g = weighted - _blur_taps_adjoint(weighted, _kernel(1.0))
            return g.mul_(grad * (2.0 / weighted.numel())), None

    return _CalmL2


_CALM_NODE = None


def _calm_l2(image: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    global _CALM_NODE
    if _CALM_NODE is None:
        _CALM_NODE = _calm_node()
    return _CALM_NODE.apply(image, weights)
