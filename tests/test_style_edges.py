"""The paintings' Grams from their interior (issue #17, painterly.style_edges)."""

from __future__ import annotations

import pytest
import torch

from painterly.config import TransferConfig
from painterly.errors import ConfigError
from painterly.library.cache import GramCache
from painterly.style_edges import painting_features, reflect_margin
from painterly.transfer import style_grams

LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")


@pytest.mark.parametrize(
    ("size", "pad"),
    [((256, 256), 32), ((85, 128), 32), ((40, 48), 32), ((32, 32), 16), ((17, 90), 16), ((16, 64), 0)],
)
def test_the_frame_shrinks_for_small_paintings(size: tuple[int, int], pad: int) -> None:
    """Reflection needs fewer px than the side has, and whole strides, or none at all."""
    assert reflect_margin(*size) == pad


@pytest.mark.parametrize("size", [(85, 128), (121, 181), (40, 48)])
def test_interior_maps_have_the_paintings_own_positions(tiny_net, size: tuple[int, int]) -> None:
    style = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(1))
    whole = painting_features(tiny_net, style, LAYERS, "whole")
    inside = painting_features(tiny_net, style, LAYERS, "interior")
    for layer in LAYERS:
        assert inside[layer].shape == whole[layer].shape, layer


def test_the_cut_is_aligned_with_the_painting(tiny_net) -> None:
    """With reflect padding, conv1_1 (a 3×3 conv on the pixels) sees the same neighbours
    either way: the interior map is the whole one if the cut is on the painting's own
    positions; deeper maps differ only near the edges."""
    style = torch.rand(1, 3, 85, 128, generator=torch.Generator().manual_seed(2))
    net = tiny_net.with_padding("reflect")
    whole = painting_features(net, style, LAYERS, "whole")
    inside = painting_features(net, style, LAYERS, "interior")
    torch.testing.assert_close(inside["conv1_1"], whole["conv1_1"], atol=1e-5, rtol=1e-4)
    deep_whole, deep_inside = whole["conv3_1"], inside["conv3_1"]
    assert not torch.allclose(deep_inside, deep_whole, atol=1e-4)
    torch.testing.assert_close(
        deep_inside[..., 6:-6, 6:-6], deep_whole[..., 6:-6, 6:-6], atol=1e-4, rtol=1e-3
    )


def test_interior_grams_are_cached_under_their_own_key(tiny_net, tmp_path) -> None:
    style = torch.rand(1, 3, 48, 64, generator=torch.Generator().manual_seed(3))
    cache = GramCache(tmp_path)
    whole = style_grams(tiny_net, [style], LAYERS, [1.0], cache=cache)
    inside = style_grams(tiny_net, [style], LAYERS, [1.0], cache=cache, edges="interior")
    assert cache.misses == 2
    assert not torch.allclose(inside["conv5_1"], whole["conv5_1"])
    again = style_grams(tiny_net, [style], LAYERS, [1.0], cache=cache, edges="interior")
    assert cache.hits == 1
    torch.testing.assert_close(again["conv5_1"], inside["conv5_1"])


def test_a_wrong_choice_is_named() -> None:
    with pytest.raises(ConfigError, match="style_edges"):
        TransferConfig(style_edges="frame")  # type: ignore[arg-type]


@pytest.mark.parametrize("edges", ["interior", "whole", "both"])
def test_a_run_takes_its_style_targets_as_configured(tiny_net, edges: str) -> None:
    from painterly.transfer import compute_targets

    content = torch.rand(1, 3, 48, 64, generator=torch.Generator().manual_seed(4))
    style = torch.rand(1, 3, 56, 72, generator=torch.Generator().manual_seed(5))
    config = TransferConfig(style_edges=edges)  # type: ignore[arg-type]
    targets = compute_targets(tiny_net, content, [style], config)
    painting = "interior" if edges == "both" else edges  # both: the painting's interior
    expected = style_grams(tiny_net, [style], config.style_layers, [1.0], edges=painting)  # type: ignore[arg-type]
    for layer in config.style_layers:
        torch.testing.assert_close(targets.style[layer], expected[layer])


def test_both_shares_the_interiors_cached_grams(tiny_net, tmp_path) -> None:
    style = torch.rand(1, 3, 48, 64, generator=torch.Generator().manual_seed(6))
    cache = GramCache(tmp_path)
    inside = style_grams(tiny_net, [style], LAYERS, [1.0], cache=cache, edges="interior")
    both = style_grams(tiny_net, [style], LAYERS, [1.0], cache=cache, edges="both")
    assert (cache.misses, cache.hits) == (1, 1)
    torch.testing.assert_close(both["conv5_1"], inside["conv5_1"])


def _cell_shares(start: int, length: int, stride: int, count: int) -> torch.Tensor:
    """The share of each of ``count`` cells of ``stride`` px inside [start, start + length)."""
    inside = [
        min(max(start + length - i * stride, 0), stride) - min(max(start - i * stride, 0), stride)
        for i in range(count)
    ]
    return torch.tensor(inside) / stride


def test_both_weighs_the_pictures_positions_by_their_share(tiny_net) -> None:
    """``both``: each style layer's Gram of the output is F·diag(w)·Fᵀ / (C·Σw), w each map
    position's share of the picture on its canvas (the margin left out, partial cells at
    the deep maps counted by their share), and conv1_1 no longer comes from the patches."""
    from painterly import patch_gram
    from painterly.canvas import plan_canvas
    from painterly.losses import distance
    from painterly.transfer import Region, compute_losses, compute_targets

    canvas = plan_canvas(37, 50, 16, 4)  # spare rows and columns on every side
    content = canvas.extend(torch.rand(1, 3, 37, 50, generator=torch.Generator().manual_seed(7)))
    style = torch.rand(1, 3, 56, 72, generator=torch.Generator().manual_seed(8))
    config = TransferConfig(style_edges="both")
    targets = compute_targets(tiny_net, content, [style], config)
    targets.picture_area = Region(canvas.picture_mask(content), None)
    assert not patch_gram.applies(tiny_net, targets, config)
    image = content.clone()
    parts = compute_losses(tiny_net, image, targets, config)
    feats = tiny_net(image, list(config.style_layers))
    for layer in config.style_layers:
        f = feats[layer]
        c, h, w = f.shape[1:]
        stride = content.shape[-2] // h
        rows = _cell_shares(canvas.top, canvas.height, stride, h)
        cols = _cell_shares(canvas.left, canvas.width, stride, w)
        share = (rows[:, None] * cols[None]).reshape(-1)
        flat = f.reshape(c, -1)
        gram = (flat * share) @ flat.T / (c * share.sum())
        expected = distance(gram[None], targets.style[layer], config.loss)
        weight = config.style_weight / len(config.style_layers)
        torch.testing.assert_close(parts[f"style/{layer}"], weight * expected, rtol=1e-4, atol=0)


def test_the_command_line_paints_with_both(photo, painting, tmp_path, monkeypatch, capsys) -> None:
    """``--style-edges both`` end to end: every step's losses see the picture's share of its
    canvas (1 on the picture, 0 on the margin), and the picture comes out at its own size."""
    from PIL import Image

    from conftest import paint_recording

    def share(_network, targets):
        area = targets.picture_area
        return None if area is None else (tuple(area.mask.shape[-2:]), float(area.mask.mean()))

    out = tmp_path / "both.png"
    seen = paint_recording(monkeypatch, capsys, share, photo, painting, out, "--style-edges", "both")
    assert Image.open(out).size[0] == 48
    assert seen and all(s is not None and 0 < s[1] < 1 for s in seen)  # a canvas with a margin


def test_both_keeps_regions_to_the_picture(tiny_net) -> None:
    """Guided-Gram regions (portraits) with ``both``: each region's Gram over its positions
    on the picture, the margin's left out (the region mask times the picture's share)."""
    from painterly import masks
    from painterly.canvas import plan_canvas
    from painterly.losses import distance
    from painterly.transfer import Region, compute_losses, compute_targets

    canvas = plan_canvas(37, 50, 16, 4)
    content = canvas.extend(torch.rand(1, 3, 37, 50, generator=torch.Generator().manual_seed(9)))
    style = torch.rand(1, 3, 56, 72, generator=torch.Generator().manual_seed(10))
    config = TransferConfig(style_edges="both")
    targets = compute_targets(tiny_net, content, [style], config)
    half = torch.zeros(1, 1, *content.shape[-2:])
    half[..., : content.shape[-1] // 2] = 1
    targets.regions = [Region(half, targets.style, 1.0)]
    targets.picture_area = Region(canvas.picture_mask(content), None)
    parts = compute_losses(tiny_net, content, targets, config)
    f = tiny_net(content, ["conv3_1"])["conv3_1"]
    size = tuple(f.shape[-2:])
    mask = masks.downsample(half, size) * masks.downsample(canvas.picture_mask(content), size).sqrt()
    expected = distance(masks.guided_gram(f, mask), targets.style["conv3_1"], config.loss)
    weight = config.style_weight / len(config.style_layers)
    torch.testing.assert_close(parts["style/conv3_1"], weight * expected, rtol=1e-4, atol=0)
    whole = distance(
        masks.guided_gram(f, masks.downsample(half, size)), targets.style["conv3_1"], config.loss
    )
    assert not torch.allclose(weight * whole, parts["style/conv3_1"], rtol=1e-3)
