"""The fused Gram + L2 style loss (issue #16) gives autograd's own value and gradient."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from painterly.losses import distance, gram_matrix, style_loss


def chain(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The unfused reference: Gram matrix, then mean squared difference, all by autograd."""
    return distance(gram_matrix(features), target.expand(features.shape[0], -1, -1))


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("batch", [1, 2])
def test_fused_style_loss_matches_the_autograd_chain(layout: torch.memory_format, batch: int) -> None:
    gen = torch.Generator().manual_seed(0)
    f = torch.randn(batch, 6, 5, 7, generator=gen, dtype=torch.float64).contiguous(memory_format=layout)
    target = gram_matrix(torch.randn(1, 6, 4, 4, generator=gen, dtype=torch.float64))
    a, b = f.clone().requires_grad_(), f.clone().requires_grad_()
    fused, reference = style_loss(a, target), chain(b, target)
    (3.0 * fused).backward()
    (3.0 * reference).backward()
    assert fused.item() == pytest.approx(reference.item(), rel=1e-12)
    assert torch.allclose(a.grad, b.grad, rtol=1e-10, atol=1e-14)
    assert torch.autograd.gradcheck(lambda x: style_loss(x, target), (f.clone().requires_grad_(),))


def test_fused_style_loss_in_float32_is_within_rounding() -> None:
    f = torch.randn(1, 64, 24, 32).contiguous(memory_format=torch.channels_last)
    target = gram_matrix(torch.rand(1, 64, 24, 32))
    a, b = f.clone().requires_grad_(), f.clone().requires_grad_()
    style_loss(a, target).backward()
    chain(b, target).backward()
    assert style_loss(f, target).item() == pytest.approx(chain(f, target).item(), rel=1e-5)
    assert (a.grad - b.grad).abs().max() <= 1e-5 * b.grad.abs().max()


def test_l1_and_target_gradients_keep_the_general_path() -> None:
    f = torch.randn(1, 4, 3, 3, dtype=torch.float64)
    target = gram_matrix(torch.randn(1, 4, 3, 3, dtype=torch.float64)).requires_grad_()
    style_loss(f, target).backward()  # a target that wants a gradient gets one
    assert target.grad is not None and target.grad.abs().sum() > 0
    assert style_loss(f, target.detach(), "l1").item() == pytest.approx(
        (gram_matrix(f) - target.detach()).abs().mean().item()
    )


def test_engine_losses_and_gradient_equal_the_unfused_chain(
    photo: Path, painting: Path, tiny_net, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine's partial losses and pixel gradient with the fused loss and without it."""
    import painterly.transfer as engine
    from painterly.config import TransferConfig
    from painterly.images import load_tensor

    config = TransferConfig(size=48)
    net = engine.in_fast_layout(tiny_net, torch.device("cpu"))
    content, style = load_tensor(photo, 48), load_tensor(painting, 48)
    targets = engine.compute_targets(net, content, [style], config)

    def evaluate() -> tuple[dict[str, float], torch.Tensor]:
        image = (content * 0.7 + 0.1).requires_grad_()
        parts = engine.compute_losses(net, image, targets, config)
        parts["total"].backward()
        return {k: float(v.detach()) for k, v in parts.items()}, image.grad

    fused, fused_grad = evaluate()
    monkeypatch.setattr(engine, "style_loss", lambda f, g, kind="l2", link=None: chain(f, g))
    plain, plain_grad = evaluate()
    assert fused.keys() == plain.keys()
    for name, value in plain.items():
        assert fused[name] == pytest.approx(value, rel=1e-5), name
    assert torch.allclose(fused_grad, plain_grad, rtol=1e-4, atol=1e-6 * plain_grad.abs().max().item())


def test_wide_layers_build_the_gram_from_three_blocks_with_the_same_result() -> None:
    """From SYMMETRIC_BLOCKS_FROM channels the fused loss's Gram is three half-size products
    (issue #16); value and gradient stay autograd's own (odd channel count included)."""
    from painterly import losses

    gen = torch.Generator().manual_seed(3)
    for channels in (losses.SYMMETRIC_BLOCKS_FROM, losses.SYMMETRIC_BLOCKS_FROM + 1):
        f = torch.randn(1, channels, 3, 4, generator=gen, dtype=torch.float64)
        f = f.contiguous(memory_format=torch.channels_last)
        target = gram_matrix(torch.randn(1, channels, 2, 3, generator=gen, dtype=torch.float64))
        flat = f.permute(0, 2, 3, 1).reshape(1, 12, channels)
        assert torch.allclose(losses._symmetric_gram(flat), flat.transpose(1, 2) @ flat, rtol=1e-12)
        a, b = f.clone().requires_grad_(), f.clone().requires_grad_()
        fused, reference = style_loss(a, target), chain(b, target)
        fused.backward()
        reference.backward()
        assert fused.item() == pytest.approx(reference.item(), rel=1e-12)
        assert torch.allclose(a.grad, b.grad, rtol=1e-10, atol=1e-14)
