import pytest
import torch

from painterly.losses import content_loss, distance, gram_matrix, style_loss, total_variation


def test_gram_matches_hand_computation():
    # One image, 2 channels, 1x2 positions: F = [[1, 2], [3, 4]]
    feats = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 1, 2)
    expected = torch.tensor([[1 + 4, 3 + 8], [3 + 8, 9 + 16]]) / (2 * 1 * 2)
    assert torch.allclose(gram_matrix(feats)[0], expected)


def test_gram_is_size_invariant_for_a_repeated_pattern():
    tile = torch.rand(1, 4, 3, 3, generator=torch.Generator().manual_seed(0))
    big = tile.repeat(1, 1, 4, 4)
    assert torch.allclose(gram_matrix(tile), gram_matrix(big), atol=1e-6)


def test_distances_by_hand():
    a, b = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 0.0, 6.0])
    assert distance(a, b, "l2").item() == pytest.approx((0 + 4 + 9) / 3)
    assert distance(a, b, "l1").item() == pytest.approx((0 + 2 + 3) / 3)
    assert content_loss(a, a).item() == 0


def test_style_loss_zero_for_own_gram_and_positive_otherwise():
    f = torch.rand(1, 3, 5, 5, generator=torch.Generator().manual_seed(1))
    assert style_loss(f, gram_matrix(f)).item() == pytest.approx(0, abs=1e-9)
    assert style_loss(f * 2, gram_matrix(f)).item() > 0
    # l1 by hand: |4G - G| averaged
    assert style_loss(f * 2, gram_matrix(f), "l1").item() == pytest.approx(
        (3 * gram_matrix(f)).abs().mean().item()
    )


def test_total_variation_by_hand():
    img = torch.tensor([[0.0, 1.0], [0.0, 1.0]]).reshape(1, 1, 2, 2)
    # horizontal diffs: 1, 1 -> mean 1; vertical diffs: 0, 0 -> mean 0
    assert total_variation(img).item() == pytest.approx(1.0)
    assert total_variation(torch.ones(1, 3, 4, 4)).item() == 0


def test_gram_gradient_matches_autograd_of_the_plain_formula():
    feats = torch.rand(2, 5, 4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    assert torch.autograd.gradcheck(gram_matrix, (feats.requires_grad_(),))
    a = feats.detach().clone().requires_grad_(True)
    b = feats.detach().clone().requires_grad_(True)
    weights = torch.rand(2, 5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    (gram_matrix(a) * weights).sum().backward()
    flat = b.reshape(2, 5, 12)
    ((torch.bmm(flat, flat.transpose(1, 2)) / 60) * weights).sum().backward()
    assert torch.allclose(a.grad, b.grad)
