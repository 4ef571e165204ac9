"""The canvas a picture is painted on: the photo plus a margin of its own reflection,
cut off at the end (issue #17, the border band).

VGG pools four times before conv5_1, and torch's 2×2 pooling drops the last row (or
column) of a map with an odd number of them. At 512×341 or 256×171 the bottom rows then
reach the deep layers only through the convolutions' edges: the content loss barely
holds them and the painting's dark strokes fill them (a thin dark line along the
bottom). Painting on a canvas whose sides are multiples of the network's pooling grid
(16 px for VGG's conv5_1) keeps every row of the picture weighted like the interior; the
extra rows are free pixels that start as the photo's reflection and are optimised like
any other, so no gradient folds back onto the picture's edge (which is what went wrong
when the reflection was taken inside the network instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    import torch


@dataclass(frozen=True)
class Canvas:
    """Margins (px) on each side of a picture of ``height`` × ``width``."""

    height: int
    width: int
    top: int = 0
    bottom: int = 0
    left: int = 0
    right: int = 0

    @property
    def padded(self) -> bool:
        return bool(self.top or self.bottom or self.left or self.right)

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the canvas."""
        return self.height + self.top + self.bottom, self.width + self.left + self.right

    def extend(self, image: torch.Tensor) -> torch.Tensor:
        """The picture-sized N×C×H×W ``image`` continued by its reflection to the canvas
        (replicated edge pixels where the picture is too small to reflect)."""
        if not self.padded:
            return image
        import torch.nn.functional as F

        h, w = image.shape[-2:]
        mode = "reflect" if max(self.top, self.bottom) < h and max(self.left, self.right) < w else "replicate"
        return F.pad(image, (self.left, self.right, self.top, self.bottom), mode=mode)

    def picture_mask(self, like: torch.Tensor) -> torch.Tensor:
        """1×1×H×W at the canvas's size: 1 on the picture, 0 on the margin (``like``'s
        dtype and device)."""
        import torch

        mask = torch.zeros(1, 1, *self.size, dtype=like.dtype, device=like.device)
        mask[..., self.top : self.top + self.height, self.left : self.left + self.width] = 1
        return mask

    def crop(self, image: torch.Tensor) -> torch.Tensor:
        """The picture inside a canvas-sized ``image``."""
        if not self.padded:
            return image
        return image[..., self.top : self.top + self.height, self.left : self.left + self.width]


def pooling_grid(layers: tuple[str, ...], backbone: str = "vgg19") -> int:
    """Side multiple (px) at which no pooling before the deepest of ``layers`` drops a row:
    2^poolings for the VGGs (16 for conv5_1). AlexNet's strided 11×11 and 3×3 windows
    have no such grid: 1."""
    from painterly.taps import tap_scale

    if backbone == "alexnet" or not layers:
        return 1
    return max(tap_scale(layer, backbone) for layer in layers)


#: With a margin, the picture's top row sits at least this far below the canvas's top when
#: the grid's spare rows allow it (the bottom keeps ``margin``). VGG19's kernels are not
#: symmetric, and a long run paints a darker stripe 4-6 px below the canvas's top edge, not
#: along the other edges (issue #17; generated photos with the same statistics everywhere,
#: quality on a 144x96 canvas, 10 runs, bench/border_margin.py --response: a picture edge
#: 4-5 px down would read -11 ± 3 %, 7 px 0 ± 3 %, 8-10 px +5...+7 %; the other sides within
#: ±4 % at 3-8 px). At 128 px quality's top edge went from -9.4 ± 2.3 % (5 px) to -2.1 ± 1.6 % (38 photos).
TOP_MARGIN = 7

#: With a margin, the picture's last column sits at least this far from the canvas's right edge
#: (the canvas grows by a grid step where the spare columns are fewer). Long runs at 256 px drew
#: a darker line down the canvas's right edge (issue #17; bench/border_variants.py ``min_right=16``
#: against the 4 px margin, generated photos, 6-16 a cell: quality x The Scream at 256 px
#: -2.9 ± 0.6 -> -1.4 ± 0.9 %, the right edge +8 points; the grid's other cells stay inside ±2 %,
#: README "The grid with it"). Costs one grid step of width where the margin alone fitted in fewer.
RIGHT_MARGIN = 16


def plan_canvas(
    height: int, width: int, grid: int, margin: int = 0, wider: Mapping[str, int] | None = None
) -> Canvas:
    """The smallest canvas with at least ``margin`` px on every side (and at least
    ``wider[side]`` on the sides it names: "top", "bottom", "left", "right") whose sides are
    multiples of ``grid``; the extra pixels split evenly (one more below / right), except
    that with a margin the top takes up to :data:`TOP_MARGIN` of the spare rows first and
    the right side keeps at least :data:`RIGHT_MARGIN`.
    ``wider`` is how one edge's band is measured against a wider margin of its own
    (bench/border_variants.py ``min_top=16``); without a margin (the grid alone) neither it
    nor the right side's least margin applies."""
    least = {side: margin for side in ("top", "bottom", "left", "right")}
    if margin:
        least["right"] = max(margin, RIGHT_MARGIN)
    for side, px in (wider or {}).items():
        if side not in least:
            raise ValueError(f"wider: unknown side {side!r} (top, bottom, left or right)")
        if margin:
            least[side] = max(least[side], px)

    def split(side: int, low: int, high: int) -> tuple[int, int]:
        total = -(-(side + low + high) // grid) * grid - side
        extra = total - low - high
        return low + extra // 2, high + extra - extra // 2

    top, bottom = split(height, least["top"], least["bottom"])
    if margin and top < TOP_MARGIN:
        spare = top + bottom
        top = max(top, min(TOP_MARGIN, spare - least["bottom"]))
        bottom = spare - top
    left, right = split(width, least["left"], least["right"])
    return Canvas(height, width, top, bottom, left, right)
