"""The alternative style losses (issue #13): zero for identical features, exact
gradients, and each one lowers under a few optimiser steps on its own."""

import pytest
import torch

from painterly import losses
from painterly.losses import style_statistic_loss, style_statistics

KINDS = ["gram", "mean_std", "mean_cov", "histogram", "mrf"]


def features(seed: int, shape=(1, 4, 6, 5), dtype=torch.float64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g, dtype=dtype) * 2


@pytest.mark.parametrize("kind", KINDS)
def test_zero_for_identical_features(kind):
    f = features(0, dtype=torch.float32, shape=(1, 8, 9, 7))
    value = style_statistic_loss(f, style_statistics(f, kind), kind)
    other = style_statistic_loss(f, style_statistics(features(1, (1, 8, 9, 7), torch.float32), kind), kind)
    assert abs(float(value)) < 1e-4 * float(other)
    assert float(other) > 0


@pytest.mark.parametrize("kind", KINDS)
def test_gradcheck(kind):
    target = style_statistics(features(1), kind)
    f = features(0).requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda x: style_statistic_loss(x, target, kind), (f,), eps=1e-6, atol=1e-5
    )


@pytest.mark.parametrize("kind", KINDS)
def test_lowers_under_a_few_steps(kind):
    target = style_statistics(features(1, (1, 8, 9, 7), torch.float32), kind)
    f = features(0, (1, 8, 9, 7), torch.float32).requires_grad_(True)
    opt = torch.optim.Adam([f], lr=0.05)
    first = float(style_statistic_loss(f.detach(), target, kind))
    for _ in range(15):
        opt.zero_grad()
        style_statistic_loss(f, target, kind).backward()
        opt.step()
    assert float(style_statistic_loss(f.detach(), target, kind)) < 0.7 * first


def test_histogram_target_of_another_size_is_resampled():
    big = features(1, (1, 4, 12, 10), torch.float32)
    small = features(0, (1, 4, 6, 5), torch.float32)
    assert float(losses.histogram_loss(small, losses.histogram_statistics(big))) > 0
    # the same distribution at twice the size: its quantiles interpolate back to ours
    twice = small.repeat_interleave(2, -1)
    assert float(losses.histogram_loss(small, losses.histogram_statistics(twice))) < 0.05 * float(
        losses.histogram_loss(small, losses.histogram_statistics(big))
    )


def test_mean_std_is_blind_to_a_permutation_of_positions_but_mrf_is_not_to_new_patches():
    f = features(0, (1, 4, 8, 8), torch.float32)
    shuffled = f.flatten(2)[..., torch.randperm(64, generator=torch.Generator().manual_seed(0))].reshape(
        f.shape
    )
    assert float(losses.mean_std_loss(shuffled, losses.mean_std_statistics(f))) < 1e-8
    assert float(losses.mrf_loss(shuffled, losses.mrf_statistics(f))) > 0


def test_mrf_caps_the_patches_it_compares():
    f = features(0, (1, 2, 80, 80), torch.float32)
    assert losses.mrf_statistics(f).shape[1] <= losses.MRF_MAX_TARGET_PATCHES
    assert float(losses.mrf_loss(f, losses.mrf_statistics(f))) < 1e-3
