"""VGG's first convolution with its gradient to the pixels as one product and a fold (issue #16).

conv1_1 maps the image's 3 channels to 64. oneDNN runs its forward near the core's peak,
but its backward to the input (64 channels back to 3) at ~20 GFLOP/s: 11 ms of a 288×192
canvas's ~1 s pass on this project's 2-core CPU, three times its forward. The same gradient
is Wᵀ·g (27×64 times 64×HW, one BLAS product) put back onto the pixels by 9 shifted adds
(:func:`fold3`, col2im): ~5 ms. The forward stays torch's
convolution; the backward is the same sum in another order (float32 rounding).

VGGFeatures takes this path for its first layer whenever the pixels need a gradient on the
CPU in float32: in stylize and in bench/engine.py's bare pass alike, so it speeds up both
and does not flatter the overhead the benchmark reports.

A loss on the same patches (conv1_1's Gram, :mod:`painterly.patch_gram`) can hand its
gradient to this backward through a :class:`Link` (opened by :func:`linking` around the
network's forward): its term is added to Wᵀ·g before the one fold, so the loss needs no
input of its own (no second preprocess and pad, no second fold, no patches rebuilt).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from painterly import syrk

#: Whether VGGFeatures may take this path (tests and bench A/B turn it off).
ENABLED = True

#: Input channels × kernel area up to which the backward is one product and a fold:
#: VGG's first layer (3 × 9); the later layers (64 × 9 and up) are oneDNN's own job.
MAX_PATCH = 27


def applies(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """Whether the valid 3×3 convolution of the padded ``x`` by ``weight`` takes this path."""
    return (
        ENABLED
        and x.requires_grad
        and torch.is_grad_enabled()
        and not weight.requires_grad
        and x.device.type == "cpu"
        and x.dtype == weight.dtype == torch.float32
        and x.dim() == 4
        and tuple(weight.shape[-2:]) == (3, 3)
        and weight.shape[1] * 9 <= MAX_PATCH
        and not torch.is_autocast_enabled("cpu")
    )


#: A term adds one loss's gradient, in place: to the patches' gradient (N×27×HW, before
#: the fold) or to the padded pixels' (N×3×(H+2)×(W+2), after it).
Term = Callable[[torch.Tensor], None]


class Link:
    """conv1_1's padded input and output in one forward pass, and the gradient terms that
    losses on its patches leave for its backward. One per forward pass."""

    def __init__(self) -> None:
        self.padded: torch.Tensor | None = None
        self.output: torch.Tensor | None = None
        self.patch_terms: list[Term] = []
        self.pixel_terms: list[Term] = []


_open: contextvars.ContextVar[Link | None] = contextvars.ContextVar("first_conv_link", default=None)


@contextlib.contextmanager
def linking(link: Link | None) -> Iterator[Link | None]:
    """While open, the first convolution that takes this path records itself on ``link``
    (None: nothing is linked). After the forward, ``link.output`` says whether one did."""
    token = _open.set(link)
    try:
        yield link
    finally:
        _open.reset(token)


def conv(padded: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """F.conv2d(padded, weight, bias) (valid, stride 1), differentiable in ``padded`` only."""
    link = _open.get()
    if link is not None and link.output is not None:
        link = None  # one layer per link: a second network pass in the same forward is plain
    out = _FirstConv.apply(padded, weight, bias, link)
    if link is not None:
        link.padded, link.output = padded, out
    return out


class _FirstConv(torch.autograd.Function):
    """Forward: torch's convolution. Backward: the patches' gradient Wᵀ·g, then col2im."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        padded: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        link: Link | None = None,
    ) -> torch.Tensor:
        ctx.save_for_backward(weight)
        ctx.size = tuple(padded.shape[-2:])
        # the link's term lists only: the link holds this node's output (a tensor-node cycle
        # would never be freed, as fused_taps found)
        ctx.terms = (link.patch_terms, link.pixel_terms) if link is not None else None
        return F.conv2d(padded, weight, bias)

    @staticmethod
    def backward(
        ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor
    ) -> tuple[torch.Tensor, None, None, None]:
        (weight,) = ctx.saved_tensors
        n, channels, h, w = grad.shape
        # rows in (channel, dy, dx) order, as fold3 (and F.unfold) lay out a patch
        kernel_t = weight.reshape(channels, -1).t()
        if grad.is_contiguous(memory_format=torch.channels_last) and not grad.is_contiguous():
            per_position = grad.permute(0, 2, 3, 1).reshape(n, h * w, channels)  # a view
            per_channel = per_position.transpose(1, 2)
        else:
            per_channel = grad.reshape(n, channels, h * w)
        cols = _product(kernel_t, per_channel)
        if ctx.terms is None:
            return fold3(cols, ctx.size), None, None, None
        patch_terms, pixel_terms = ctx.terms
        for term in patch_terms:  # the linked losses' backwards ran first (they take the output)
            term(cols)
        pixels = fold3(cols, ctx.size)
        for term in pixel_terms:
            term(pixels)
        patch_terms.clear()
        pixel_terms.clear()
        return pixels, None, None, None


def _product(kernel_t: torch.Tensor, per_channel: torch.Tensor) -> torch.Tensor:
    """kernel_t (27×C) times each N×C×HW matrix. On one torch thread through numpy's
    OpenBLAS (as syrk.py and lbfgs.py do): 4.0 ms at a 288×192 canvas where torch's product
    takes 5.7. Not when the backward itself is being differentiated (numpy keeps no graph)."""
    if torch.is_grad_enabled() or not syrk.single_thread():
        return torch.matmul(kernel_t, per_channel)
    cols = per_channel.new_empty(per_channel.shape[0], kernel_t.shape[0], per_channel.shape[-1])
    kernel = kernel_t.detach().numpy()
    for i in range(per_channel.shape[0]):
        np.matmul(kernel, per_channel[i].numpy(), out=cols[i].numpy())
    return cols


#: Whether the patches are made and folded by 9 shifted copies / adds (bench A/B, tests):
#: torch's im2col and col2im took 2.0 and 1.65 ms at 256 px, the shifted ones 0.3 and 0.34.
SHIFTED = True


def unfold3(x: torch.Tensor) -> torch.Tensor:
    """F.unfold(x, 3) (N×C·9×HW, rows in (channel, dy, dx) order) as 9 shifted copies."""
    if not SHIFTED:
        return F.unfold(x, 3)
    x = x.contiguous()
    n, c, height, width = x.shape
    h, w = height - 2, width - 2
    out = x.new_empty(n, c, 3, 3, h, w)
    for dy in range(3):
        for dx in range(3):
            out[:, :, dy, dx] = x[:, :, dy : dy + h, dx : dx + w]
    return out.view(n, c * 9, h * w)


def fold3(p: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """F.fold(p, size, 3), the adjoint of :func:`unfold3`, as 9 shifted adds."""
    if not SHIFTED:
        return F.fold(p, size, 3)
    height, width = size
    h, w = height - 2, width - 2
    n = p.shape[0]
    q = p.reshape(n, -1, 3, 3, h, w)
    out = p.new_zeros(n, q.shape[1], height, width)
    for dy in range(3):
        for dx in range(3):
            out[:, :, dy : dy + h, dx : dx + w].add_(q[:, :, dy, dx])  # no setitem copy-back
    return out
