"""The calm term as one autograd node (issue #16): the same value and gradient as the chain."""

from __future__ import annotations

import pytest
import torch

from painterly import calm
from painterly.calm import calm_loss, flatness_map


@pytest.mark.parametrize("shape", [(1, 3, 17, 23), (2, 3, 9, 40), (1, 1, 4, 5)])
def test_fused_calm_equals_the_chain_in_float64(shape, monkeypatch) -> None:
    gen = torch.Generator().manual_seed(sum(shape))
    image = torch.rand(shape, dtype=torch.float64, generator=gen)
    weights = flatness_map(torch.rand(1, 3, *shape[-2:], dtype=torch.float64, generator=gen))
    results = {}
    for fused in (True, False):
        monkeypatch.setattr(calm, "FUSED", fused)
        x = image.clone().requires_grad_(True)
        value = calm_loss(x, weights)
        value.backward()
        results[fused] = (value.detach(), x.grad)
    assert torch.allclose(results[True][0], results[False][0], rtol=1e-12, atol=0)
    assert torch.allclose(
        results[True][1], results[False][1], rtol=1e-10, atol=1e-12 * float(results[False][1].abs().max())
    )


def test_fused_calm_gradcheck() -> None:
    gen = torch.Generator().manual_seed(4)
    x = torch.rand(1, 3, 8, 11, dtype=torch.float64, generator=gen, requires_grad=True)
    weights = torch.rand(1, 1, 8, 11, dtype=torch.float64, generator=gen)
    assert torch.autograd.gradcheck(lambda image: calm._calm_l2(image, weights), (x,))


def test_blur_taps_is_gaussian_blur_and_its_adjoint_is_its_transpose() -> None:
    gen = torch.Generator().manual_seed(5)
    x = torch.rand(1, 2, 10, 13, dtype=torch.float64, generator=gen)
    v = torch.rand(1, 2, 10, 13, dtype=torch.float64, generator=gen)
    taps = calm._kernel(1.0)
    blurred = calm._blur_taps(x, taps)
    assert torch.allclose(blurred, calm.gaussian_blur(x, 1.0), rtol=1e-12, atol=1e-14)
    # ⟨Bx, v⟩ = ⟨x, Bᵀv⟩
    assert float((blurred * v).sum()) == pytest.approx(
        float((x * calm._blur_taps_adjoint(v, taps)).sum()), rel=1e-12
    )


def test_fused_calm_only_where_it_applies(monkeypatch) -> None:
    """Weights of another size than the image (or a tiny image) take the chain."""
    calls = []
    node = calm._calm_l2
    monkeypatch.setattr(calm, "_calm_l2", lambda *a: calls.append(1) or node(*a))
    x = torch.rand(1, 3, 12, 12, requires_grad=True)
    calm_loss(x, torch.ones(1, 1, 12, 12)).backward()
    assert calls == [1] and x.grad is not None
    calm_loss(x, torch.ones(1, 1, 1, 1))
    calm_loss(torch.rand(1, 3, 3, 12), torch.ones(1, 1, 3, 12))
    assert calls == [1]
