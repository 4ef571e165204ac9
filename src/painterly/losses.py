"""Pure loss functions of tensors. See config.py for why they are normalised as they are.

Shapes: features are N×C×H×W; Gram matrices N×C×C; images N×3×H×W in 0–1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import torch

from painterly import syrk

if TYPE_CHECKING:
    from painterly.fused_taps import TapLink

Distance = Literal["l2", "l1"]


class _Gram(torch.autograd.Function):
    """G = F Fᵀ / scale with a one-product backward.

    Autograd's own backward of ``bmm(F, Fᵀ)`` multiplies twice (once per operand);
    since both operands are F, the gradient is (dG + dGᵀ) F / scale: one product.
    The Gram matrices are the engine's only cost beyond the network itself.
    """

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        flat: torch.Tensor,
        scale: float,
        positions_first: bool = False,
    ) -> torch.Tensor:
        ctx.save_for_backward(flat)
        ctx.scale = scale
        ctx.positions_first = positions_first
        if positions_first:  # flat is N×HW×C (channels_last features, no copy): G = FᵀF
            return torch.bmm(flat.transpose(1, 2), flat) / scale
        return torch.bmm(flat, flat.transpose(1, 2)) / scale

    @staticmethod
    def backward(
        ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor
    ) -> tuple[torch.Tensor, None, None]:
        (flat,) = ctx.saved_tensors
        # Scale the small C×C matrix, not the C×HW product.
        sym = (grad + grad.transpose(1, 2)) / ctx.scale
        if ctx.positions_first:
            return torch.bmm(flat, sym), None, None
        return torch.bmm(sym, flat), None, None


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """N×C×H×W features → N×C×C Gram matrix F Fᵀ / (C·H·W), an average over positions
    so that it does not grow with the image size."""
    n, c, h, w = features.shape
    if c > 1 and features.is_contiguous(memory_format=torch.channels_last):
        # NHWC features (the engine's CPU layout, issue #16): an N×HW×C view instead of a copy.
        return _Gram.apply(features.permute(0, 2, 3, 1).reshape(n, h * w, c), float(c * h * w), True)
    return _Gram.apply(features.reshape(n, c, h * w), float(c * h * w))


def distance(a: torch.Tensor, b: torch.Tensor, kind: Distance = "l2") -> torch.Tensor:
    """Mean squared (l2) or mean absolute (l1) difference; a scalar."""
    diff = a - b
    return diff.square().mean() if kind == "l2" else diff.abs().mean()


def content_loss(
    features: torch.Tensor, target: torch.Tensor, kind: Distance = "l2", *, link: TapLink | None = None
) -> torch.Tensor:
    """How far the output's features are from the photo's (any shape, same for both).

    ``link`` (from ``fused_taps.linked_relu`` on these features): the gradient is added
    inside the tap's ReLU backward instead of being returned (issue #16); same value."""
    if kind == "l2" and FUSED_CONTENT and not target.requires_grad and features.shape == target.shape:
        post = link.post if link is not None else None
        return _ContentL2.apply(features, target, post, link)
    return distance(features, target, kind)


def style_loss(
    features: torch.Tensor,
    target_gram: torch.Tensor,
    kind: Distance = "l2",
    *,
    link: TapLink | None = None,
) -> torch.Tensor:
    """How far the Gram matrix of N×C×H×W ``features`` is from the N×C×C (or 1×C×C) target.

    ``link``: as for :func:`content_loss` (used by the fused l2 path only)."""
    target = target_gram.expand(features.shape[0], -1, -1)
    if kind == "l2" and not target.requires_grad and features.shape[1] > 1:
        return _gram_l2(features, target, link)  # issue #16: the same value, fewer passes
    return distance(gram_matrix(features), target, kind)


def _flat_view(t: torch.Tensor) -> torch.Tensor:
    """All of ``t``'s values as one vector, a view when its memory is dense in NCHW or NHWC
    (``reshape(-1)`` of a channels_last map copies it)."""
    if t.dim() == 4 and not t.is_contiguous() and t.is_contiguous(memory_format=torch.channels_last):
        return t.permute(0, 2, 3, 1).reshape(-1)
    return t.reshape(-1)


#: Whether content_loss(l2) goes through _ContentL2 (bench/engine.py --ab turns it off).
FUSED_CONTENT = True


class _ContentL2(torch.autograd.Function):
    """mean((F − P)²) in one node (issue #16): the forward keeps only D = F − P, the
    backward is D·2/numel (autograd's chain makes ~6 passes over the map), added into
    the tap's ReLU gradient when there is a link."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        features: torch.Tensor,
        target: torch.Tensor,
        post: torch.Tensor | None,
        link: TapLink | None,
    ) -> torch.Tensor:
        diff = features - target
        ctx.save_for_backward(diff)
        # the link's term list only: the link holds the ReLU's output, whose node holds
        # this context, and a tensor-node cycle is never freed (it leaked every tap, every run)
        ctx.terms = link.terms if link is not None else None
        flat = _flat_view(diff)
        return torch.vdot(flat, flat) / diff.numel()

    @staticmethod
    def backward(
        ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor
    ) -> tuple[torch.Tensor | None, None, None, None]:
        (diff,) = ctx.saved_tensors
        scale = grad * (2.0 / diff.numel())  # a 0-dim tensor: no device sync
        if ctx.terms is not None:
            ctx.terms.append(lambda out: out.addcmul_(diff, scale))
            return None, None, None, None
        return diff * scale, None, None, None


class _GramL2(torch.autograd.Function):
    """mean((F Fᵀ / scale − A)²) in one autograd node (issue #16).

    Autograd's own chain (product, scale, subtract, square, mean, and their backwards,
    then the Gram's) makes ~10 passes over C×C matrices and keeps several of them
    alive; here the forward keeps only the difference D, and the backward is one
    product: ∂L/∂F = (D + Dᵀ) F · 2/(numel(D)·scale). The target has no gradient.
    """

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        flat: torch.Tensor,
        target: torch.Tensor,
        scale: float,
        positions_first: bool,
        post: torch.Tensor | None = None,
        link: TapLink | None = None,
    ) -> torch.Tensor:
        # post: the tap's ReLU output, an input only so that autograd runs this backward
        # before the ReLU's, which adds the term this backward leaves on ``link``.
        # the link's term list only: the link holds the ReLU's output, whose node holds
        # this context, and a tensor-node cycle is never freed (it leaked every tap, every run)
        ctx.terms = link.terms if link is not None else None
        diff = syrk.gram_minus(flat, target, scale, positions_first)  # half the arithmetic
        ctx.symmetric = diff is not None  # then exactly: D + Dᵀ = 2D
        if diff is None:  # torch's products; each is ours, so its storage is reused
            if positions_first and flat.shape[-1] >= SYMMETRIC_BLOCKS_FROM:
                gram = _symmetric_gram(flat)
            elif positions_first:
                gram = torch.bmm(flat.transpose(1, 2), flat)
            else:
                gram = torch.bmm(flat, flat.transpose(1, 2))
            diff = gram.div_(scale).sub_(target)
        ctx.save_for_backward(flat, diff)
        ctx.scale, ctx.positions_first = scale, positions_first
        return torch.vdot(diff.reshape(-1), diff.reshape(-1)) / diff.numel()

    @staticmethod
    def backward(
        ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor
    ) -> tuple[torch.Tensor | None, None, None, None, None, None]:
        flat, diff = ctx.saved_tensors
        factor = 2.0 / (diff.numel() * ctx.scale)
        first = ctx.positions_first
        if ctx.terms is not None:  # added into the ReLU's gradient by one baddbmm_ (fused_taps)
            from painterly.fused_taps import add_product

            if ctx.symmetric and grad.device.type == "cpu":  # D + Dᵀ = 2D: no C×C pass at all
                sym, alpha = diff, 2.0 * factor * float(grad)
            else:  # all scalars folded into the small C×C matrix, not the C×HW product
                sym, alpha = (diff + diff.transpose(1, 2)).mul_(grad * factor), 1.0
            ctx.terms.append(lambda out: add_product(out, flat, sym, first, alpha))
            return None, None, None, None, None, None
        if ctx.symmetric:
            sym = diff * (grad * (2.0 * factor))
        else:
            sym = (diff + diff.transpose(1, 2)).mul_(grad * factor)
        if first:
            return torch.bmm(flat, sym), None, None, None, None, None
        return torch.bmm(sym, flat), None, None, None, None, None


#: Channels from which a Gram is built from three of its four half-size blocks (issue #16):
#: measured 16 % faster at 256 and 512 channels, slower at 64, even at 128 (256×171 image).
SYMMETRIC_BLOCKS_FROM = 256


def _symmetric_gram(flat: torch.Tensor) -> torch.Tensor:
    """FᵀF of N×HW×C ``flat`` from the blocks [[A, B], [Bᵀ, D]]: three half-size products,
    3/4 of the arithmetic (BLAS's syrk, which uses the symmetry, is not exposed by torch)."""
    n, _, c = flat.shape
    k = c // 2
    left, right = flat[..., :k], flat[..., k:]
    gram = flat.new_empty(n, c, c)
    gram[:, :k, :k] = torch.bmm(left.transpose(1, 2), left)
    gram[:, :k, k:] = torch.bmm(left.transpose(1, 2), right)
    gram[:, k:, :k] = gram[:, :k, k:].transpose(1, 2)
    gram[:, k:, k:] = torch.bmm(right.transpose(1, 2), right)
    return gram


def _gram_l2(features: torch.Tensor, target: torch.Tensor, link: TapLink | None = None) -> torch.Tensor:
    """style_loss(l2) through _GramL2, on the same views gram_matrix uses."""
    n, c, h, w = features.shape
    post = link.post if link is not None else None
    if features.is_contiguous(memory_format=torch.channels_last):
        return _GramL2.apply(
            features.permute(0, 2, 3, 1).reshape(n, h * w, c), target, float(c * h * w), True, post, link
        )
    return _GramL2.apply(features.reshape(n, c, h * w), target, float(c * h * w), False, post, link)


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


# --- photorealism and alternative style statistics: issue #13 ---------------------------

StyleLossKind = Literal["gram", "mean_std", "mean_cov", "histogram", "mrf"]

#: Multiplier of each style loss so that ``style_weight`` (β) gives about the balance the
#: Gram loss gives at the default α/β. Measured by bench/photoreal.py --calibrate: the ratio
#: of the Gram loss to each loss for the photo itself (the start image) against the
#: painting, the median over 3 photo/painting pairs at 256 px over conv1_1…conv5_1.
STYLE_LOSS_SCALE: dict[str, float] = {
    "gram": 1.0,
    "mean_std": 0.85,
    "mean_cov": 0.6,
    "histogram": 0.8,
    "mrf": 0.4,
}
#: MRF: at most this many patches of the painting are kept per layer (a strided subset),
#: and at most this many of the output's are compared each step; the nearest-neighbour
#: search is (output patches × painting patches × C·9) multiply-adds per layer.
MRF_MAX_TARGET_PATCHES = 2048
MRF_MAX_PATCHES = 4096
#: mean_cov: ridge added to each covariance, relative to its mean variance (see mean_cov_loss).
COV_RIDGE = 1e-3


def photorealism_loss(image: torch.Tensor, laplacian: torch.Tensor) -> torch.Tensor:
    """Luan et al. 2017's photorealism regulariser: Σ_c v_cᵀ L v_c / (H·W).

    ``image`` N×3×H×W in 0–1 (the channels are the v_c, pixels in row-major order);
    ``laplacian`` the (H·W)×(H·W) sparse matting Laplacian of the photo (Levin et al.,
    see :func:`painterly.photoreal.matting_laplacian`), symmetric and positive
    semi-definite. vᵀLv is the sum over every 3×3 window of the residual of the best
    affine fit v ≈ a·I + b of the window's colours to the photo's, so the loss is ~0 when
    the output is a locally affine recolouring of the photo and grows with any warp or
    new edge. Dividing by the pixel count keeps its scale independent of the image size
    (a mean, like every loss here); a scalar ≥ 0, summed over the batch.
    """
    _n, c, h, w = image.shape
    if laplacian.shape != (h * w, h * w):
        raise ValueError(f"laplacian is {tuple(laplacian.shape)}, image needs {(h * w, h * w)}")
    total = image.new_zeros(())
    for one in image:
        v = one.reshape(c, h * w).t()  # (H·W)×3
        total = total + _QuadraticForm.apply(v, laplacian)
    return total / (h * w)


class _QuadraticForm(torch.autograd.Function):
    """Σ vᵀ L v for a symmetric sparse L with one sparse product: the gradient 2 L v is
    the forward's own L v (autograd through torch.sparse.mm would multiply again, and
    its COO backward took 2.6 s at 512×342 where this takes one 0.03 s product)."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, v: torch.Tensor, lap: torch.Tensor) -> torch.Tensor:
        lv = lap @ v
        ctx.save_for_backward(lv)
        return (v * lv).sum()

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (lv,) = ctx.saved_tensors
        return 2 * grad * lv, None


def _flat(features: torch.Tensor) -> torch.Tensor:
    n, c, h, w = features.shape
    return features.reshape(n, c, h * w)


def mean_std_statistics(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and standard deviation over positions (AdaIN's statistics):
    N×C×H×W → (N×C, N×C). The 1e-5 under the root keeps the gradient finite on a
    constant channel (a dead ReLU)."""
    flat = _flat(features)
    mean = flat.mean(-1)
    std = (flat.var(-1, unbiased=False) + 1e-5).sqrt()
    return mean, std


def mean_std_loss(features: torch.Tensor, target: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Huang & Belongie 2017: mean over channels of (μ − μ_t)² + (σ − σ_t)².

    ``target`` from :func:`mean_std_statistics` (1×C or N×C). Means over positions and
    channels, so its scale does not depend on the image size or the layer's width;
    zero for features with the same statistics. Blind to correlations between channels
    (the Gram matrix's off-diagonal), so it carries colour and contrast more than texture.
    """
    mean, std = mean_std_statistics(features)
    t_mean, t_std = target
    return (mean - t_mean).square().mean() + (std - t_std).square().mean()


def _sym_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    """Square root of symmetric positive semi-definite matrices (…×C×C) by eigh."""
    vals, vecs = torch.linalg.eigh(matrix)
    return vecs @ torch.diag_embed(vals.clamp_min(0).sqrt()) @ vecs.transpose(-1, -2)


def mean_cov_statistics(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean (N×C), covariance over positions (N×C×C, divided by H·W, plus a ridge of
    COV_RIDGE × its mean variance) and the covariance's symmetric square root (computed
    once for a target, so the loss needs one eigh a step)."""
    flat = _flat(features)
    mean = flat.mean(-1)
    centred = flat - mean.unsqueeze(-1)
    cov = centred @ centred.transpose(1, 2) / flat.shape[-1]
    c = cov.shape[-1]
    ridge = COV_RIDGE * cov.detach().diagonal(dim1=-2, dim2=-1).mean(-1).clamp_min(1e-8)
    cov = cov + ridge[:, None, None] * torch.eye(c, dtype=cov.dtype, device=cov.device)
    return mean, cov, _sym_sqrt(cov)


def mean_cov_loss(
    features: torch.Tensor, target: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
) -> torch.Tensor:
    """Squared Wasserstein-2 distance between the Gaussians fitted to the two feature
    distributions (as in crowsonkb/style-transfer-pytorch), divided by the channel count:

        (|μ − μ_t|² + tr(Σ + Σ_t − 2 (Σ_t^½ Σ Σ_t^½)^½)) / C

    ``target`` from :func:`mean_cov_statistics`. Zero for identical statistics (up to
    round-off in the matrix square root: ~1e-6 relative in float32). Unlike the Gram
    matrix it separates the mean from the spread, so a bright painting is not matched by
    merely brighter features. A deep layer of a small image has fewer positions than
    channels, so its covariance is singular and the gradient of √eigenvalue blows up
    at 0 (a 96 px run diverged): both covariances get a small ridge (COV_RIDGE × the
    mean variance, as style-transfer-pytorch adds ε·I), which keeps identical features
    at exactly zero.
    """
    mean, cov, _ = mean_cov_statistics(features)
    t_mean, t_cov, t_sqrt = target
    c = features.shape[1]
    inner = t_sqrt @ cov @ t_sqrt
    inner = (inner + inner.transpose(-1, -2)) / 2
    root_trace = torch.linalg.eigvalsh(inner).clamp_min(1e-12).sqrt().sum(-1)
    trace = cov.diagonal(dim1=-2, dim2=-1).sum(-1) + t_cov.diagonal(dim1=-2, dim2=-1).sum(-1)
    value = (mean - t_mean).square().sum(-1) + trace - 2 * root_trace
    return value.mean() / c


def histogram_statistics(features: torch.Tensor) -> torch.Tensor:
    """Each channel's values sorted (N×C×H·W): the empirical quantile function."""
    return _flat(features).sort(-1).values


def histogram_loss(features: torch.Tensor, target_sorted: torch.Tensor) -> torch.Tensor:
    """Risser et al. 2017's histogram loss: mean over channels and positions of
    (F − R)², R the features remapped so that each channel has the target's histogram.

    Exact histogram matching assigns the k-th smallest value of a channel the target's
    k-th quantile, so the loss is the mean of (sorted F − target quantiles)²: the 1-D
    Wasserstein-2 distance per channel, averaged (size-independent). ``target_sorted``
    from :func:`histogram_statistics` (1×C×M, any M: its quantiles are interpolated to
    H·W values). Zero for features with the same histograms; the gradient flows
    through the sort (a permutation), which is what the paper's stop-gradient remap gives.
    """
    ours = histogram_statistics(features)
    m = ours.shape[-1]
    target = target_sorted
    if target.shape[-1] != m:
        target = torch.nn.functional.interpolate(target, size=m, mode="linear", align_corners=True)
    return (ours - target.expand_as(ours)).square().mean()


def _patches(features: torch.Tensor, limit: int) -> torch.Tensor:
    """3×3 patches of N×C×H×W features as N×P×(C·9), on a stride that keeps P ≤ limit
    (stride ≤ 2 still covers every position)."""
    _n, _c, h, w = features.shape
    if h < 3 or w < 3:  # a deep layer of a tiny image: repeat its edge to one patch
        features = torch.nn.functional.pad(features, (0, max(0, 3 - w), 0, max(0, 3 - h)), mode="replicate")
        h, w = max(h, 3), max(w, 3)
    stride = 1
    while ((h - 3) // stride + 1) * ((w - 3) // stride + 1) > limit:
        stride += 1
    return torch.nn.functional.unfold(features, 3, stride=stride).transpose(1, 2)


def mrf_statistics(features: torch.Tensor) -> torch.Tensor:
    """The painting's 3×3 feature patches (1×P×C·9, P ≤ MRF_MAX_TARGET_PATCHES)."""
    return _patches(features, MRF_MAX_TARGET_PATCHES)[:1]


def mrf_loss(features: torch.Tensor, target_patches: torch.Tensor) -> torch.Tensor:
    """Li & Wand 2016's MRF loss: each 3×3 patch of the output's features is pulled
    towards its nearest patch of the painting's (nearest by normalised cross-correlation,
    as in the paper); the mean over patches and entries of the squared difference.

    Features N×C×H×W (H, W ≥ 3); ``target_patches`` from :func:`mrf_statistics`. The
    matching is piecewise constant in the features, so it is found without gradient and
    the loss is an ordinary squared distance to the chosen patches. Zero for identical
    features (each patch is its own nearest neighbour); size-independent (a mean).
    """
    ours = _patches(features, MRF_MAX_PATCHES)  # N×P×D
    target = target_patches[0]
    with torch.no_grad():
        t_norm = target / target.norm(dim=-1, keepdim=True).clamp_min(1e-8)
        index = torch.empty(ours.shape[:2], dtype=torch.long, device=ours.device)
        for k in range(ours.shape[0]):
            for start in range(0, ours.shape[1], 4096):  # bounded memory: 4096×P scores
                chunk = ours[k, start : start + 4096]
                index[k, start : start + 4096] = (chunk @ t_norm.t()).argmax(-1)
    return (ours - target[index]).square().mean()


def style_statistics(features: torch.Tensor, kind: StyleLossKind) -> Any:
    """The target a style loss of ``kind`` compares against, from the painting's features."""
    if kind == "gram":
        return gram_matrix(features)
    return {
        "mean_std": mean_std_statistics,
        "mean_cov": mean_cov_statistics,
        "histogram": histogram_statistics,
        "mrf": mrf_statistics,
    }[kind](features)


def style_statistic_loss(features: torch.Tensor, target: Any, kind: StyleLossKind) -> torch.Tensor:
    """Style loss of ``kind`` between the output's features and a painting's statistics,
    times :data:`STYLE_LOSS_SCALE` so that β means the same balance for every kind."""
    if kind == "gram":
        value = distance(gram_matrix(features), target.expand(features.shape[0], -1, -1))
    else:
        loss = {
            "mean_std": mean_std_loss,
            "mean_cov": mean_cov_loss,
            "histogram": histogram_loss,
            "mrf": mrf_loss,
        }[kind]
        value = loss(features, target)
    return STYLE_LOSS_SCALE[kind] * value
