"""The first conv layer's Gram loss from the image's 3×3 patches (issue #16).

The default style taps are conv outputs before their ReLU, and conv1_1 is linear in
the image's 3×3×3 patches: F = W P + b 1ᵀ, with P the 27×HW patch matrix. So its Gram

    F Fᵀ = W̃ (P̃ P̃ᵀ) W̃ᵀ,   W̃ = [W b] (64×28),   P̃ = [P; 1ᵀ] (28×HW)

costs a 28×28 product over the positions instead of a 64×64 one (1/5 of the arithmetic),
and its gradient reaches the image through the patches (a 27×27 product and col2im)
instead of through a 64-channel map added to conv1_1's own gradient. conv1_1 then needs
no tap of its own, so relu1_1 runs in place like in the bare network. Exact (not an
approximation) for a pre-activation tap; a tap after the ReLU keeps the general path.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
import torch.nn.functional as F

from painterly import first_conv, syrk
from painterly.backbones.vgg import pad_edges

#: The one layer this applies to: VGG's first conv (3×3, stride 1, padding 1).
FIRST_CONV = "conv1_1"

#: Whether the loss takes conv1_1's own input and backward when it can (linked_style_loss;
#: bench/engine.py --ab turns it off).
LINKED = True


def applies(network: Any, targets: Any, config: Any) -> bool:
    """Whether conv1_1's style loss can come from the patches: a VGG network, conv1_1 a
    plain Gram style layer (l2, no regions or other statistics, a fixed target, over the
    whole canvas: not ``style_edges="both"``) and not also a content layer (then its
    features are needed anyway)."""
    convs = getattr(network, "convs", None)
    return (
        FIRST_CONV in config.style_layers
        and FIRST_CONV not in config.content_layers
        and config.loss == "l2"
        and not targets.regions
        and not targets.style_stats
        and getattr(targets, "picture_area", None) is None
        and convs is not None
        and FIRST_CONV in convs
        and tuple(convs[FIRST_CONV].kernel_size) == (3, 3)
        and FIRST_CONV in targets.style
        and not targets.style[FIRST_CONV].requires_grad
        and hasattr(network, "preprocess")
    )


def padded(network: Any, image: torch.Tensor) -> torch.Tensor:
    """The preprocessed image with the 1 px border the network's conv1_1 sees."""
    return pad_edges(network.preprocess(image), getattr(network, "padding", "zeros"))


def style_loss(network: Any, image: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """mean((Gram(conv1_1(image)) − target)²), the value ``losses.style_loss`` gives on
    conv1_1's features, computed from the image's patches."""
    conv = network.convs[FIRST_CONV]
    x = padded(network, image)
    target = target.expand(x.shape[0], -1, -1)
    return _PatchGramL2.apply(x, _augmented(conv), target, float(conv.out_channels))


def linked_style_loss(network: Any, link: first_conv.Link, target: torch.Tensor) -> torch.Tensor:
    """:func:`style_loss` on the patches of the input conv1_1 recorded on ``link`` in this
    forward pass (``link.output`` set), its gradient handed to conv1_1's own backward
    (first_conv.py): one preprocess and pad, one fold, no patches rebuilt for the backward.
    At a 288×192 canvas the term cost 7.7 ms a step on its own input, issue #16."""
    conv = network.convs[FIRST_CONV]
    x = link.padded.detach()  # the gradient goes through the link, not through this input
    target = target.expand(x.shape[0], -1, -1)
    return _LinkedPatchGramL2.apply(link.output, x, _augmented(conv), target, float(conv.out_channels), link)


def _augmented(conv: Any) -> torch.Tensor:
    """W̃ = [W b], C×28, its rows in unfold's (channel, dy, dx) order."""
    weight = conv.weight.reshape(conv.out_channels, -1)
    return torch.cat([weight, conv.bias.unsqueeze(1)], 1).detach()


def _difference(
    p: torch.Tensor, augmented: torch.Tensor, target: torch.Tensor, channels: float
) -> tuple[torch.Tensor, float]:
    """D = W̃ M̃ W̃ᵀ / scale − A for the N×27×HW patches ``p``, and the scale (C·HW)."""
    n, k, positions = p.shape
    scale = channels * positions
    moments = p.new_empty(n, k + 1, k + 1)  # M̃: [[P Pᵀ, P 1], [1ᵀ Pᵀ, HW]]
    # P Pᵀ through BLAS syrk where it can (half the products, issue #16); no out= into a view
    product = syrk.gram_minus(p, p.new_zeros(1, k, k), 1.0, False)
    moments[:, :k, :k] = torch.bmm(p, p.transpose(1, 2)) if product is None else product
    sums = p.sum(-1)
    moments[:, :k, k], moments[:, k, :k], moments[:, k, k] = sums, sums, float(positions)
    w = augmented.expand(n, -1, -1)
    return torch.bmm(torch.bmm(w, moments), w.transpose(1, 2)).div_(scale).sub_(target), scale


def _mean_square(diff: torch.Tensor) -> torch.Tensor:
    return torch.vdot(diff.reshape(-1), diff.reshape(-1)) / diff.numel()


def _kernel(diff: torch.Tensor, augmented: torch.Tensor, grad: torch.Tensor, scale: float) -> torch.Tensor:
    """K̃ = W̃ᵀ (∂L/∂G + ∂L/∂Gᵀ) W̃ (N×28×28): ∂L/∂P̃ = K̃ P̃, since M̃ is symmetric in P̃."""
    dgram = diff.mul(grad * (2.0 / (diff.numel() * scale)))
    w = augmented.expand(diff.shape[0], -1, -1)
    return torch.bmm(torch.bmm(w.transpose(1, 2), dgram + dgram.transpose(1, 2)), w)


def _constant_term(kk: torch.Tensor, size: tuple[int, int], like: torch.Tensor) -> torch.Tensor:
    """The gradient on the padded pixels from P̃'s ones row: each patch entry (c, dy, dx)
    gets the constant kk[c·9+dy·3+dx, 27]; on the pixels that is Σ over the offsets whose
    window covers the pixel: rows × cols indicators, a rank-3 product per channel (a
    broadcast copy of 27×HW values before)."""
    k = kk.shape[-1] - 1
    rows = _window_indicator(size[0], like.device, like.dtype)  # (H+2)×3
    cols = _window_indicator(size[1], like.device, like.dtype)  # (W+2)×3
    const = kk[:, :k, k].reshape(kk.shape[0], -1, 3, 3)  # N×3×3(dy)×3(dx)
    return rows @ const @ cols.transpose(0, 1)


class _PatchGramL2(torch.autograd.Function):
    """L = mean((W̃ M̃ W̃ᵀ / scale − A)²) with M̃ = P̃ P̃ᵀ, P the 3×3 patches of the padded
    image ``x``; gradient to ``x`` only."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        x: torch.Tensor,
        augmented: torch.Tensor,
        target: torch.Tensor,
        channels: float,
    ) -> torch.Tensor:
        diff, scale = _difference(first_conv.unfold3(x), augmented, target, channels)
        ctx.save_for_backward(x, augmented, diff)  # not the patches: 9× the image's memory
        ctx.scale, ctx.size = scale, tuple(x.shape[-2:])
        return _mean_square(diff)

    @staticmethod
    def backward(
        ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor
    ) -> tuple[torch.Tensor, None, None, None]:
        x, augmented, diff = ctx.saved_tensors
        k = x.shape[1] * 9
        kk = _kernel(diff, augmented, grad, ctx.scale)
        dx = first_conv.fold3(_times_patches(kk[:, :k, :k], x), ctx.size)  # col2im: back onto the pixels
        return dx.add_(_constant_term(kk, ctx.size, x)), None, None, None


class _LinkedPatchGramL2(torch.autograd.Function):
    """:class:`_PatchGramL2`'s loss on conv1_1's recorded input; its backward leaves K̃·P on
    the link (added before conv1_1's fold, from the patches the forward made and keeps:
    27×HW, less than conv1_1's own 64-channel output) and the ones row's constant term.
    ``output`` (conv1_1's) is an input only so that autograd runs this backward first."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        output: torch.Tensor,
        x: torch.Tensor,
        augmented: torch.Tensor,
        target: torch.Tensor,
        channels: float,
        link: first_conv.Link,
    ) -> torch.Tensor:
        p = first_conv.unfold3(x)
        diff, scale = _difference(p, augmented, target, channels)
        ctx.save_for_backward(p, augmented, diff)
        ctx.scale, ctx.size = scale, tuple(x.shape[-2:])
        ctx.terms = (link.patch_terms, link.pixel_terms)  # the lists only: no node cycle
        return _mean_square(diff)

    @staticmethod
    def backward(
        ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor
    ) -> tuple[None, None, None, None, None, None]:
        p, augmented, diff = ctx.saved_tensors
        k = p.shape[1]
        kk = _kernel(diff, augmented, grad, ctx.scale)
        patch_terms, pixel_terms = ctx.terms
        size = ctx.size
        patch_terms.append(lambda cols: cols.baddbmm_(kk[:, :k, :k], p))
        pixel_terms.append(lambda pixels: pixels.add_(_constant_term(kk, size, p)))
        return None, None, None, None, None, None


def _times_patches(kernel: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """kernel · P (N×27×HW) for P the 3×3 patches of ``x``, as a convolution with the rows
    of ``kernel`` as 3×3 filters: the patches are not rebuilt (the forward's are not kept),
    and oneDNN runs it at 1.5 ms at 256 px where bmm's 27-row product over the kept patches
    took 2.0 ms (issue #16)."""
    n, channels = x.shape[:2]
    k = kernel.shape[-1]
    out = [F.conv2d(x[i : i + 1], kernel[i].reshape(k, channels, 3, 3)) for i in range(n)]
    return (out[0] if n == 1 else torch.cat(out)).reshape(n, k, -1)


@functools.lru_cache(maxsize=32)
def _window_indicator(padded_size: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(size)×3: entry (q, d) is 1 where the window [d, d + size − 2) of a 3-wide kernel's
    offset d covers padded position q. Cached: a scale asks for the same two every step
    (six small operators each, issue #16); callers only read it."""
    q = torch.arange(padded_size, device=device).unsqueeze(1)
    d = torch.arange(3, device=device).unsqueeze(0)
    return ((q >= d) & (q < d + padded_size - 2)).to(dtype)
