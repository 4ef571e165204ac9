"""The picture as a Laplacian-style pyramid of pixel levels, for the optimiser (issue #17).

Why: optimised on raw pixels, L-BFGS takes its first and largest steps along the raw
gradient, and VGG's gradient with respect to the pixels is dominated by the finest
frequencies (the 3×3 convolutions and the stride-2 poolings answer most strongly at
1–2 px). The style loss's finest layers ask for high-frequency energy and plain L-BFGS
supplies it as a fine cross-hatched mesh over flat areas (sky, walls, fur); Gram matrices do
not care where it sits. Total variation removes it only by blurring strokes
(docs/guides/quality.md). Not an early-step artefact only: 20 pyramid steps then 40 plain
ones (Hay Wain at 128 px) ended with 77 % of plain's mesh.

This changes which directions the optimiser takes first, not what it optimises: the
image is the sum of a full-size level and coarser levels, each upsampled bilinearly (as
feature-visualisation work parameterises images) and level k multiplied by LEVEL_GAIN**k.
Every picture is still reachable (the full-size level alone spans them all), so the optimum
is unchanged, but a gradient step now moves coarse structure more readily than single
pixels, and the strokes form from the coarse levels instead of from pixel noise. The
problem is stiffer for L-BFGS: its step warms up after each (re)start (``step_scale``).

Measured (issue #17, ``bench/quality.py --modes mesh --sizes 128,256 --pairs 4``, balanced,
4 levels; mesh in flat regions / style distance of the central 80 % against plain pixels): at
128 px the mesh −46 to −66 % at style −27 to +7 % (halved at ≤ +10 % style on two pairs;
the astronaut 0.5003×, not on coffee × The Scream), no restart; at 256 px the mesh −47 to
−72 % but style +2 to +53 %, and the run's own style loss +29 to +168 %: balanced's steps
leave the picture less painted. So not the default (``TransferConfig.pyramid_levels`` = 1);
docs/guides/quality.md (2c) has every variant tried. Cost: +0.7–0.8 % CPU time a step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: Steps over which L-BFGS's step on the pyramid ramps up to the configured learning rate
#: after each (re)start, and the share it starts from (geometric ramp). Why: from the start
#: at the full step, the step from L-BFGS's first, tiny curvature estimate overshoots on the
#: levels (cat × Starry Night at 128 px: the guard restarted 5 times in 16 steps; with the
#: warm-up none, as plain pixels); 1/8 of the step for the whole run (the earlier opt-in)
#: also avoids that but converges slower (256 px: own style loss +52..+213 % against plain
#: pixels, with the warm-up +29..+168 % for about the same mesh).
WARMUP_STEPS = 8
WARMUP_START = 0.125
#: Level k (k = 0 the full size) enters the picture multiplied by LEVEL_GAIN**k: the larger,
#: the more readily a step moves coarse structure rather than single pixels (less mesh), but
#: the stiffer the problem for L-BFGS and the slower the fine detail converges. Measured
#: (bench/quality.py's four pairs, balanced at 128 px, with the warm-up): gain 1 cut the
#: mesh 36–55 %, √2 41–66 %, 2 54–82 % but with the run's own style loss +38..+103 % and two
#: restarts on the cat; 2**-k only 14–19 %.
LEVEL_GAIN = 2**0.5
#: How a coarse level is carried up to full size.
UPSAMPLE = "bilinear"


def step_scale(step: int) -> float:
    """Share of the learning rate for the ``step``-th step (from 1) since L-BFGS (re)started
    on the pyramid: WARMUP_START at the first, rising geometrically to 1 after WARMUP_STEPS."""
    if WARMUP_STEPS <= 0 or step > WARMUP_STEPS:
        return 1.0
    return WARMUP_START ** (1.0 - (step - 1) / WARMUP_STEPS)


class PixelPyramid:
    """An image of shape 1×C×H×W held as ``levels`` tensors (full size, ½, ¼, ...).

    ``levels`` ≤ 1 is the plain picture: :meth:`image` returns the one leaf itself, so
    the optimiser sees exactly what it saw before. The coarse levels start at zero, so
    :meth:`image` starts as ``image``.
    """

    def __init__(self, image: torch.Tensor, levels: int = 1) -> None:
        h, w = image.shape[-2:]
        self.size = (h, w)
        shapes = [(h, w)]
        # Stop before a level would be smaller than 2 px: it would add only a flat tint.
        while len(shapes) < levels and min(shapes[-1]) >= 4:
            hh, ww = shapes[-1]
            shapes.append(((hh + 1) // 2, (ww + 1) // 2))
        self.leaves = [image.detach().clone().contiguous().requires_grad_(True)]
        self.leaves += [image.new_zeros(*image.shape[:2], *s).requires_grad_(True) for s in shapes[1:]]
        self.bounds: tuple[float, float] | None = None

    def image(self) -> torch.Tensor:
        """The picture the levels make (differentiable with respect to every level)."""
        x = self.leaves[0]
        for k, coarse in enumerate(self.leaves[1:], 1):
            up = F.interpolate(coarse, size=self.size, mode=UPSAMPLE, align_corners=False)
            x = x + (up if LEVEL_GAIN == 1 else LEVEL_GAIN**k * up)
        return x

    @torch.no_grad()
    def snapshot(self) -> torch.Tensor:
        """A detached copy of the picture, inside the bounds of the last :meth:`clamp_`
        (the levels' sum can land ~1e-11 outside them by rounding)."""
        x = self.image().detach().clone()
        return x.clamp_(*self.bounds) if self.bounds is not None else x

    @torch.no_grad()
    def set(self, image: torch.Tensor) -> None:
        """Make the levels spell ``image``: all of it in the full-size level."""
        self.leaves[0].copy_(image)
        for coarse in self.leaves[1:]:
            coarse.zero_()

    @torch.no_grad()
    def clamp_(self, low: float = 0.0, high: float = 1.0) -> None:
        """Clamp the picture's pixels to [low, high] by correcting the full-size level."""
        self.bounds = (low, high)
        if len(self.leaves) == 1:
            self.leaves[0].clamp_(low, high)
            return
        x = self.image()
        self.leaves[0].add_(x.clamp(low, high) - x)
