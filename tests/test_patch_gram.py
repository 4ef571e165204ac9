"""conv1_1's Gram loss from the image's 3×3 patches (issue #16): the same value and pixel
gradient as the Gram of conv1_1's feature map, and only where that identity is exact."""

from __future__ import annotations

import pytest
import torch

import painterly.transfer as engine
from painterly import patch_gram
from painterly.backbones.vgg import VGG19Features
from painterly.backbones.weights import random_vgg19_weights
from painterly.config import TransferConfig


def _setup(padding: str, dtype: torch.dtype, **settings: object):
    weights = random_vgg19_weights(torch.Generator().manual_seed(0))
    # The test weights have zero biases; the real ones don't, and the bias enters the Gram.
    weights["conv1_1.bias"] = torch.randn(
        weights["conv1_1.bias"].shape, generator=torch.Generator().manual_seed(2)
    )
    net = VGG19Features(weights, pooling="avg", padding=padding)
    net = engine.in_fast_layout(net.to(dtype), torch.device("cpu"))
    config = TransferConfig(size=48, padding=padding, **settings)
    gen = torch.Generator().manual_seed(1)
    content = torch.rand(1, 3, 40, 48, generator=gen, dtype=dtype)
    style = torch.rand(1, 3, 44, 48, generator=gen, dtype=dtype)
    return net, config, content, engine.compute_targets(net, content, [style], config)


def _evaluate(net, config, content, targets, monkeypatch, from_patches: bool):
    with monkeypatch.context() as m:
        if not from_patches:
            m.setattr(patch_gram, "applies", lambda *_: False)
        image = (content * 0.7 + 0.1).requires_grad_()
        parts = engine.compute_losses(net, image, targets, config)
        parts["total"].backward()
    return {k: float(v.detach()) for k, v in parts.items()}, image.grad


@pytest.mark.parametrize("padding", ["zeros", "reflect", "circular"])
def test_patch_gram_equals_the_feature_maps_gram_in_float64(padding: str, monkeypatch) -> None:
    net, config, content, targets = _setup(padding, torch.float64)
    assert patch_gram.applies(net, targets, config)
    ours, ours_grad = _evaluate(net, config, content, targets, monkeypatch, True)
    plain, plain_grad = _evaluate(net, config, content, targets, monkeypatch, False)
    assert ours.keys() == plain.keys()
    for name, value in plain.items():
        assert ours[name] == pytest.approx(value, rel=1e-12), name
    assert torch.allclose(ours_grad, plain_grad, rtol=1e-10, atol=1e-13 * plain_grad.abs().max().item())


def test_patch_gram_in_float32_is_within_rounding(monkeypatch) -> None:
    net, config, content, targets = _setup("zeros", torch.float32)
    ours, ours_grad = _evaluate(net, config, content, targets, monkeypatch, True)
    plain, plain_grad = _evaluate(net, config, content, targets, monkeypatch, False)
    assert ours["style/conv1_1"] == pytest.approx(plain["style/conv1_1"], rel=1e-5)
    assert (ours_grad - plain_grad).abs().max() <= 1e-5 * plain_grad.abs().max()


@pytest.mark.parametrize("batch", [1, 2])
def test_patch_gram_gradcheck(batch: int) -> None:
    net, _config, content, targets = _setup("zeros", torch.float64)
    image = torch.cat([content[..., :9, :11], content[..., 1:10, 2:13].flip(1)][:batch]).requires_grad_()
    target = targets.style["conv1_1"]
    assert torch.autograd.gradcheck(lambda x: patch_gram.style_loss(net, x, target), (image,))


@pytest.mark.parametrize(
    "settings",
    [
        {"style_layers": ("relu1_1", "conv2_1")},  # after the ReLU: not linear in the patches
        {"content_layers": ("conv1_1",)},  # its features are needed anyway
        {"loss": "l1"},
    ],
    ids=["relu-tap", "content-tap", "l1"],
)
def test_other_settings_keep_the_general_path(settings: dict) -> None:
    net, config, _content, targets = _setup("zeros", torch.float32, **settings)
    assert not patch_gram.applies(net, targets, config)


_linked = patch_gram.linked_style_loss


@pytest.mark.parametrize("padding", ["zeros", "reflect"])
@pytest.mark.parametrize("threads", [1, 2])
def test_the_linked_loss_gives_its_own_inputs_value_and_gradient(
    padding: str, threads: int, monkeypatch
) -> None:
    """conv1_1's Gram on conv1_1's recorded input, its gradient added in conv1_1's own
    backward (first_conv.Link), against the same loss on an input of its own."""
    from painterly.threads import torch_threads

    net, config, content, targets = _setup(padding, torch.float32)
    calls = []
    monkeypatch.setattr(patch_gram, "linked_style_loss", lambda *a: calls.append(1) or _linked(*a))
    results = {}
    with torch_threads(threads):
        for linked in (True, False):
            monkeypatch.setattr(patch_gram, "LINKED", linked)
            results[linked] = _evaluate(net, config, content, targets, monkeypatch, True)
    assert calls == [1]  # taken once, by the linked evaluation
    (ours, ours_grad), (own, own_grad) = results[True], results[False]
    assert ours.keys() == own.keys()
    for name, value in own.items():
        assert ours[name] == pytest.approx(value, rel=1e-6), name
    assert (ours_grad - own_grad).abs().max() <= 1e-5 * own_grad.abs().max()


def test_without_a_gradient_the_loss_keeps_its_own_input() -> None:
    """No autograd (a final evaluation): conv1_1 takes torch's path and records nothing."""
    net, config, content, targets = _setup("zeros", torch.float32)
    with torch.no_grad():
        value = engine.compute_losses(net, content, targets, config)["style/conv1_1"]
    image = content.clone().requires_grad_()
    assert float(value) == pytest.approx(
        float(engine.compute_losses(net, image, targets, config)["style/conv1_1"]), rel=1e-6
    )
