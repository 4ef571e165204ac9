"""Measures of the faults an artist notices (issue #17), as pure functions of
1×3×H×W RGB tensors in 0–1: the mesh in flat regions, a darkened border band,
lost colour contrast, and chroma speckle.

Each measure compares the output with the photo it was made from, so that what
the photo itself holds (a dark vignette, a textured wall) is not counted against
the painting. ``bench/quality.py`` reports them over many pairs; the tests use
them as pass/fail thresholds.
"""

from __future__ import annotations

from typing import Literal

import torch

from painterly.calm import gaussian_blur, local_variation
from painterly.color import luminance, rgb_to_yiq

#: Share of the photo's pixels counted as flat: the calmest quarter.
FLAT_SHARE = 0.25


def high_pass(image: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """What a Gaussian blur of ``sigma`` px removes: detail finer than ~2–3 px,
    where the optimiser's mesh and the fast network's speckle live."""
    return image - gaussian_blur(image, sigma)


def flat_mask(photo: torch.Tensor, share: float = FLAT_SHARE) -> torch.Tensor:
    """1×1×H×W boolean mask of the photo's flattest pixels (sky, walls, fur): the
    ``share`` of pixels whose local (5 px) luminance variation is smallest. The
    outer 4 % is left out so the border measure and this one stay apart."""
    local = local_variation(photo)
    h, w = local.shape[-2:]
    k = max(1, round(min(h, w) * 0.04))
    inner = torch.zeros_like(local, dtype=torch.bool)
    inner[..., k : h - k, k : w - k] = True
    threshold = torch.quantile(local[inner].float(), share)
    return inner & (local <= threshold)


def mesh_energy(image: torch.Tensor, photo: torch.Tensor) -> float:
    """Mean squared high-frequency luminance of ``image`` over the photo's flat
    regions (×1e3): the cross-hatched mesh the optimiser leaves on sky and walls."""
    mask = flat_mask(photo)
    return float(high_pass(luminance(image)).square()[mask].mean()) * 1e3


def chroma_noise(image: torch.Tensor, photo: torch.Tensor) -> float:
    """Mean squared high-frequency colour (the I and Q channels of YIQ) over the
    photo's flat regions (×1e3): chromatic speckle."""
    mask = flat_mask(photo).expand(-1, 2, -1, -1)
    return float(high_pass(rgb_to_yiq(image)[:, 1:]).square()[mask].mean()) * 1e3


def side_profiles(image: torch.Tensor, depth: int, detrend: bool = False) -> torch.Tensor:
    """4×(3·depth): luminance at distance 0..3·depth−1 from the top, bottom, left and right
    edge, each side divided by its own mean over depth..3·depth−1 (the strip just inside):
    1.0 everywhere when the edge looks like what lies next to it. Comparing each side with
    its own neighbourhood keeps a dark bottom half from counting.

    ``detrend``: 1 + (luminance − the straight line fitted to the strip) / the picture's
    mean luminance, so a smooth brightness slope towards the edge (a vignette, a dark
    foreground that the painting evens out) is not read as a band; a frame a few pixels
    deep is a dip against that line and still shows. The difference is divided by the
    whole picture's mean, not by the line: a strip's mean moves with the strokes in it,
    and a ratio to a noisy value is biased upwards (on generated photos with no band of
    their own, +1…+3 % where there is no border at all)."""
    y = luminance(image)[0, 0]
    sides = edge_lines(y, 3 * depth)
    if not detrend:
        return torch.stack([p / p[depth:].mean().clamp_min(1e-6) for p in sides])
    return torch.stack([1 + off_line(p, depth) / y.mean().clamp_min(1e-6) for p in sides])


def edge_lines(y: torch.Tensor, reach: int) -> list[torch.Tensor]:
    """The mean of each line of the H×W map ``y`` parallel to its top, bottom, left and
    right edge, over the first ``reach`` lines from that edge (edge first)."""
    return [
        y[:reach, :].mean(1),
        y.flip(0)[:reach, :].mean(1),
        y[:, :reach].mean(0),
        y.flip(1)[:, :reach].mean(0),
    ]


def off_line(profile: torch.Tensor, start: int) -> torch.Tensor:
    """``profile`` less the straight line fitted (least squares) to ``profile[start:]`` and
    carried on to its first values: how far the lines near an edge leave the strip's slope."""
    d = torch.arange(len(profile), dtype=profile.dtype, device=profile.device)
    x, strip = d[start:] - d[start:].mean(), profile[start:]
    slope = (x * (strip - strip.mean())).sum() / x.square().sum()
    return profile - (strip.mean() + slope * (d - d[start:].mean()))


def edge_profile(image: torch.Tensor, depth: int, detrend: bool = False) -> torch.Tensor:
    """:func:`side_profiles` averaged over the four sides."""
    return side_profiles(image, depth, detrend).mean(0)


def band_depth(image: torch.Tensor) -> int:
    """Depth (px) of the border band: 4 % of the short side, at least 3 px."""
    return max(3, round(min(image.shape[-2:]) * 0.04))


def border_band(
    image: torch.Tensor,
    photo: torch.Tensor | None = None,
    detrend: bool = False,
    reduce: Literal["worst", "mean"] = "worst",
) -> float:
    """How much darker (negative) or brighter the band along the edges is than the
    interior next to it, as a fraction: the worst 1 px line within 4 % of the short
    side (≥ 3 px) of :func:`edge_profile`. With ``photo``, the photo's own profile is
    subtracted first, so only what the run added counts. −0.1: a band 10 % darker.
    ``detrend``: against the strip's fitted slope (see :func:`edge_profile`), which is
    what tells a frame from the photo's own light on real pairs. ``reduce="mean"``: the
    band's mean over its depth instead of its worst line (steadier on textured pictures,
    where single lines wander by a few per cent)."""

    def profile(img: torch.Tensor) -> torch.Tensor:
        depth = band_depth(img)
        return edge_profile(img, depth, detrend)[:depth]

    deviation = profile(image) - 1
    if photo is not None:
        deviation = deviation - (profile(photo) - 1)
    if reduce == "mean":
        return float(deviation.mean())
    return float(deviation[deviation.abs().argmax()])


def colour_contrast(image: torch.Tensor) -> float:
    """Spread of the pixel colours: √(trace of the RGB covariance)."""
    pixels = image.reshape(3, -1).double()
    return float(pixels.var(dim=1).sum().sqrt())


def contrast_kept(image: torch.Tensor, photo: torch.Tensor) -> float:
    """The output's colour contrast as a fraction of the photo's (1.0: all kept)."""
    return colour_contrast(image) / max(colour_contrast(photo), 1e-9)
