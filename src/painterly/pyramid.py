"""The picture as a Laplacian-style pyramid of pixel levels, for the optimiser (issue #17).

Why: optimised on raw pixels, L-BFGS takes its first and largest steps along the raw
gradient, and VGG's gradient with respect to the pixels is dominated by the finest
frequencies (the 3×3 convolutions and the stride-2 poolings answer most strongly at
1–2 px). Those early steps put a fine cross-hatched mesh over flat areas (sky, walls,
fur) that the remaining steps never take out again, since the style loss is content with
it. Total variation removes it only by blurring strokes (docs/guides/quality.md).

This changes which directions the optimiser takes first, not what it optimises: the
image is the sum of a full-size level and coarser levels, each upsampled bilinearly (as
feature-visualisation work parameterises images). Every picture is still reachable (the
full-size level alone spans them all), so the optimum is unchanged, but a gradient step
now moves coarse structure as readily as single pixels, and the strokes form from the
coarse levels instead of from pixel noise. Measured (bench/quality.py --modes mesh, four
pairs, balanced at 128 px): the mesh in flat regions −46 to −59 %, style distance of the
central 80 % −21 to +23 %; the cost is a few bilinear resizes a step (+0–3 % CPU time).
Not the default (``TransferConfig.pyramid_levels`` = 1): its smaller step (LR_SCALE)
converges slower, so balanced's steps leave some pictures less painted.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# The levels are simply summed. Weighting level k by 2**k (measured, issue #17, cat × Starry
# Night at 128 px) made L-BFGS overshoot at its third step every time it started (the guard
# restarted it 20 times and the cat was never painted); equal levels with the step scaled by
# LR_SCALE run without a restart.
#: L-BFGS's step on the pyramid is this share of the configured learning rate: with the
#: full step its curvature estimate from the tiny first step overshoots (loss ×80 at step
#: 3); at 1/8 no restart is needed and the final loss is within 8 % of plain pixels'.
LR_SCALE = 0.125
#: How a coarse level is carried up to full size.
UPSAMPLE = "bilinear"


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
        for coarse in self.leaves[1:]:
            x = x + F.interpolate(coarse, size=self.size, mode=UPSAMPLE, align_corners=False)
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
