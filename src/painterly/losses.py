"""Pure loss functions of tensors. See config.py for why they are normalised as they are.

Shapes: features are N×C×H×W; Gram matrices N×C×C; images N×3×H×W in 0–1.
"""

from __future__ import annotations

from typing import Literal

import torch

Distance = Literal["l2", "l1"]


class _Gram(torch.autograd.Function):
    """G = F Fᵀ / scale with a one-product backward.

    Autograd's own backward of ``bmm(F, Fᵀ)`` multiplies twice (once per operand);
    since both operands are F, the gradient is (dG + dGᵀ) F / scale: one product.
    The Gram matrices are the engine's only cost beyond the network itself.
    """

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, flat: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.save_for_backward(flat)
        ctx.scale = scale
        return torch.bmm(flat, flat.transpose(1, 2)) / scale

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (flat,) = ctx.saved_tensors
        # Scale the small C×C matrix, not the C×HW product.
        return torch.bmm((grad + grad.transpose(1, 2)) / ctx.scale, flat), None


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """N×C×H×W features → N×C×C Gram matrix F Fᵀ / (C·H·W), an average over positions
    so that it does not grow with the image size."""
    n, c, h, w = features.shape
    return _Gram.apply(features.reshape(n, c, h * w), float(c * h * w))


def distance(a: torch.Tensor, b: torch.Tensor, kind: Distance = "l2") -> torch.Tensor:
    """Mean squared (l2) or mean absolute (l1) difference; a scalar."""
    diff = a - b
    return diff.square().mean() if kind == "l2" else diff.abs().mean()


def content_loss(features: torch.Tensor, target: torch.Tensor, kind: Distance = "l2") -> torch.Tensor:
    """How far the output's features are from the photo's (any shape, same for both)."""
    return distance(features, target, kind)


def style_loss(features: torch.Tensor, target_gram: torch.Tensor, kind: Distance = "l2") -> torch.Tensor:
    """How far the Gram matrix of N×C×H×W ``features`` is from the N×C×C (or 1×C×C) target."""
    return distance(gram_matrix(features), target_gram.expand(features.shape[0], -1, -1), kind)


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between neighbouring pixels of an N×C×H×W image:
    penalises the high-frequency noise the optimiser likes to add."""
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    return dx.square().mean() + dy.square().mean()


def weighted_content_loss(
    features: torch.Tensor, target: torch.Tensor, weights: torch.Tensor, kind: Distance = "l2"
) -> torch.Tensor:
    """Content loss with a per-pixel weight: mean over C·H·W of w·(F − P)² (l1: w·|F − P|).
    ``weights`` is 1×1×h×w at the features' resolution; all ones gives ``content_loss``."""
    diff = features - target
    per = diff.square() if kind == "l2" else diff.abs()
    return (per * weights).mean()


def temporal_loss(image: torch.Tensor, warped: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Ruder et al. 2016: mean over pixels of c·(x − ω)², where ω (N×3×H×W, 0–1) is the
    previous output moved by the optical flow and c (N×1×H×W, 0–1) is 1 where the flow
    is reliable and 0 at occlusions and motion edges; a scalar."""
    return (weights * (image - warped).square()).mean()
