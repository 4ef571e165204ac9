"""A pre-activation tap's loss gradients added inside its ReLU's backward (issue #16).

The default style and content taps are conv outputs before their ReLU (conv2_1 …,
conv4_2), so each gets two gradients: the network's, through the ReLU, and its
losses'. Autograd computes them apart and adds them: the Gram loss's ∂L/∂F = F·S is
written to a fresh N×HW×C tensor, then added to the ReLU's gradient in another pass.
Here the tap's ReLU is one node (:func:`linked_relu`) that owns a :class:`TapLink`; a
loss computed on the tap (``losses.style_loss`` / ``losses.content_loss`` with
``link=``) leaves its gradient term on the link instead of returning it, and the ReLU's
backward adds each term in place into the gradient it has just made: the Gram term as
one ``baddbmm_`` (the product accumulates into memory already written, no extra pass,
no extra tensor), the content term as one ``add_``. Same values as autograd's sum.

Order: a linked loss takes the ReLU's output as an (unused) input, so autograd must run
the loss's backward before the ReLU's — the terms are always there when it needs them.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

#: A term adds one loss's gradient into the tap's gradient (N×C×H×W), in place.
Term = Callable[[torch.Tensor], None]

#: Whether the engine links its taps (bench/engine.py --ab turns it off for "before").
ENABLED = True


class TapLink:
    """The ReLU output of one pre-activation tap, and the loss-gradient terms its
    backward must add. One per tap and forward pass."""

    def __init__(self) -> None:
        self.post: torch.Tensor | None = None
        self.terms: list[Term] = []


class _LinkedReLU(torch.autograd.Function):
    """relu(pre) out of place (the tap keeps ``pre``); backward: the ReLU's own gradient,
    then the link's terms added into it."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, pre: torch.Tensor, link: TapLink) -> torch.Tensor:
        post = torch.relu(pre)
        ctx.save_for_backward(post)
        # the link's term list only: the link holds the ReLU's output, whose node holds
        # this context, and a tensor-node cycle is never freed (it leaked every tap, every run)
        ctx.terms = link.terms if link is not None else None
        return post

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (post,) = ctx.saved_tensors
        out = torch.ops.aten.threshold_backward(grad, post, 0)  # a fresh tensor: ours to add into
        for term in ctx.terms:
            term(out)
        ctx.terms.clear()
        return out, None


def linked_relu(pre: torch.Tensor) -> tuple[torch.Tensor, TapLink]:
    """relu(pre) and the link through which losses on ``pre`` give their gradient."""
    link = TapLink()
    link.post = _LinkedReLU.apply(pre, link)
    return link.post, link


def add_product(
    grad: torch.Tensor, flat: torch.Tensor, sym: torch.Tensor, positions_first: bool, alpha: float = 1.0
) -> None:
    """grad (N×C×H×W) += alpha × the Gram term F·S (positions_first: ``flat`` N×HW×C) or
    S·F (``flat`` N×C×HW), in place when grad's layout matches ``flat``'s."""
    n, c, h, w = grad.shape
    if positions_first and grad.is_contiguous(memory_format=torch.channels_last):
        grad.permute(0, 2, 3, 1).view(n, h * w, c).baddbmm_(flat, sym, alpha=alpha)
    elif not positions_first and grad.is_contiguous():
        grad.view(n, c, h * w).baddbmm_(sym, flat, alpha=alpha)
    elif positions_first:  # another layout: correct, one extra pass
        grad.add_(torch.bmm(flat, sym).view(n, h, w, c).permute(0, 3, 1, 2), alpha=alpha)
    else:
        grad.add_(torch.bmm(sym, flat).view(n, c, h, w), alpha=alpha)
