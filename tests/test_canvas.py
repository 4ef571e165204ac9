"""The canvas a picture is painted on (issue #17, the border band): the photo grown by its
reflection to VGG's pooling grid, cut off at the end."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from painterly import TransferConfig, stylize
from painterly.canvas import RIGHT_MARGIN, TOP_MARGIN, Canvas, plan_canvas, pooling_grid
from painterly.transfer import scale_canvas


def test_the_canvas_reaches_the_grid_with_the_margin_asked_for() -> None:
    c = plan_canvas(341, 512, 16)
    assert (c.top, c.bottom, c.left, c.right) == (5, 6, 0, 0) and c.size == (352, 512)
    c = plan_canvas(85, 128, 16, margin=4)
    assert c.size[0] % 16 == 0 and c.size[1] % 16 == 0
    assert min(c.top, c.bottom, c.left, c.right) >= 4
    assert not plan_canvas(64, 48, 16).padded  # already on the grid: painted as it is
    assert not plan_canvas(37, 51, 1).padded


def test_the_top_takes_the_spare_rows_first_up_to_its_own_margin() -> None:
    # VGG19 paints a darker stripe 4-6 px below the canvas's top edge: with a margin, the
    # picture's top row goes at least TOP_MARGIN down when the grid leaves the rows for it
    c = plan_canvas(85, 128, 16, margin=4)  # 11 spare rows: 7 above, 4 below (was 5 / 6)
    assert (c.top, c.bottom) == (TOP_MARGIN, 4) and c.size[0] == 96
    c = plan_canvas(341, 512, 16, margin=4)
    assert (c.top, c.bottom) == (7, 4)
    c = plan_canvas(171, 256, 16, margin=4)  # the even split already puts 10 above: unchanged
    assert (c.top, c.bottom) == (10, 11)
    c = plan_canvas(87, 128, 16, margin=4)  # 9 spare rows: the bottom keeps its 4 px margin
    assert (c.top, c.bottom) == (5, 4)
    assert plan_canvas(341, 512, 16).top == 5  # the grid alone (no margin) splits evenly


def test_the_right_side_keeps_its_own_margin() -> None:
    # long runs at 256 px drew a darker line down the canvas's right edge: with a margin the
    # picture's last column stays RIGHT_MARGIN from it, the canvas a grid step wider if need be
    c = plan_canvas(171, 256, 16, margin=4)
    assert (c.left, c.right) == (10, 22) and c.size == (192, 288)  # the margin alone: 8 / 8, 272
    c = plan_canvas(85, 128, 16, margin=4)
    assert (c.left, c.right) == (10, 22) and c.size == (96, 160)
    c = plan_canvas(341, 500, 16, margin=4)  # 28 spare columns: no wider than the margin alone
    assert c.right >= RIGHT_MARGIN and c.left >= 4 and c.size[1] == 528
    assert plan_canvas(171, 256, 16, margin=4, wider={"right": 4}).right >= RIGHT_MARGIN
    assert plan_canvas(171, 256, 16).right == 0  # the grid alone (--edge-margin 0): as it was
    assert plan_canvas(171, 256, 16, margin=20).right >= 20  # a wider margin still holds


def test_wider_sides_grow_the_canvas_and_keep_the_margin_elsewhere() -> None:
    c = plan_canvas(171, 256, 16, margin=4, wider={"top": 24, "left": 24})
    assert c.top >= 24 and c.left >= 24 and c.bottom >= 4 and c.right >= RIGHT_MARGIN
    assert c.size == (208, 304)  # a grid step taller and wider than without them: 192x288
    assert plan_canvas(85, 128, 16, margin=4, wider={}) == plan_canvas(85, 128, 16, margin=4)
    # no margin (the grid alone, --edge-margin 0): nothing is widened either
    assert plan_canvas(341, 512, 16, wider={"top": 16}) == plan_canvas(341, 512, 16)
    with pytest.raises(ValueError, match="unknown side 'up'"):
        plan_canvas(85, 128, 16, margin=4, wider={"up": 16})


def test_extend_reflects_the_photo_and_crop_gives_it_back() -> None:
    image = torch.rand(1, 3, 21, 30)
    canvas = plan_canvas(21, 30, 16, margin=2)
    big = canvas.extend(image)
    assert big.shape[-2:] == canvas.size
    assert torch.equal(canvas.crop(big), image)
    # the row above the picture is the picture's second row (a reflection, edge not repeated)
    assert torch.equal(big[..., canvas.top - 1, canvas.left : canvas.left + 30], image[..., 1, :])
    mask = torch.rand(1, 1, 21, 30)
    assert canvas.extend(mask).shape[-2:] == canvas.size
    tiny = torch.rand(1, 3, 3, 3)  # too small to reflect 7 px: replicated instead
    assert Canvas(3, 3, 7, 6, 7, 6).extend(tiny).shape[-2:] == (16, 16)


def test_the_grid_follows_the_deepest_layer_and_the_backbone() -> None:
    assert pooling_grid(("conv4_2", "conv1_1", "conv5_1")) == 16
    assert pooling_grid(("conv3_1", "conv1_1")) == 4
    assert pooling_grid(("conv1_1",)) == 1
    assert pooling_grid(("conv4", "conv1"), "alexnet") == 1
    # the default: 4 px of margin (16 on the right), then up to the grid
    assert scale_canvas((85, 128), TransferConfig()).size == (96, 160)
    assert scale_canvas((85, 128), TransferConfig(edge_margin=0)).size == (96, 128)
    # the pixel pyramid keeps the grid alone (its warm-up overshoots with the margin)
    assert scale_canvas((85, 128), TransferConfig(pyramid_levels=4)).size == (96, 128)
    assert not scale_canvas((85, 128), TransferConfig(canvas="exact")).padded
    assert not scale_canvas((85, 128), TransferConfig(), tiled=True).padded
    assert not scale_canvas((85, 128), TransferConfig(canvas="exact", edge_margin=3)).padded


def test_edge_margin_is_checked() -> None:
    from painterly.errors import ConfigError

    with pytest.raises(ConfigError, match="edge_margin"):
        TransferConfig(edge_margin=-1)
    with pytest.raises(ConfigError, match="canvas"):
        TransferConfig(canvas="huge")  # type: ignore[arg-type]


def test_an_odd_sized_picture_is_painted_on_the_grid_and_comes_back_its_own_size(
    tiny_net, monkeypatch
) -> None:
    import painterly.transfer as engine

    photo = Image.effect_noise((50, 37), 40).convert("RGB")  # 50×37: neither side on the grid
    painting = Image.effect_noise((40, 40), 60).convert("RGB")
    mask = Image.new("L", (50, 37), 0)
    mask.paste(255, (0, 0, 25, 37))
    weights = Image.new("F", (50, 37), 1.0)
    seen_extra, previews = [], []

    def extra(image: torch.Tensor) -> dict[str, torch.Tensor]:
        seen_extra.append(tuple(image.shape[-2:]))
        return {"extra": image.mean() * 0}

    from painterly.masks import MaskSpec

    seen: list[tuple[int, int]] = []
    losses = engine.compute_losses

    def recording(network, image, targets, config):
        seen.append(tuple(image.shape[-2:]))
        return losses(network, image, targets, config)

    monkeypatch.setattr(engine, "compute_losses", recording)
    config = TransferConfig(size=50, iterations=3, preview_every=1, style_layers=("conv1_1", "conv5_1"))
    result = stylize(
        photo,
        painting,
        config,
        lambda e: previews.append(tuple(e.image.shape[-2:])),
        network=tiny_net,
        content_map=weights,
        regions=[MaskSpec(mask, None, 1.0)],
        extra_loss=extra,
    )
    assert result.ok and result.image.size == (50, 37) and result.tensor.shape[-2:] == (37, 50)
    assert set(seen) == {(48, 80)}  # the optimised picture: 37×50 grown to 48×80
    assert set(seen_extra) == {(37, 50)}  # the caller's terms see the picture
    assert set(previews) == {(37, 50)}
    seen.clear()
    exact = stylize(photo, painting, config.replace(canvas="exact"), network=tiny_net)
    assert exact.tensor.shape == result.tensor.shape and set(seen) == {(37, 50)}
    assert not torch.equal(exact.tensor, result.tensor)


def test_every_row_of_an_odd_sized_picture_reaches_the_deepest_layer(tiny_net) -> None:
    """The cause of the dark line along the bottom at 512×341: VGG's pooling drops the
    last row of an odd-sized map, so the bottom rows reach conv5_1 only through the
    convolutions' edges. On the grid's canvas they weigh like the interior."""
    h, w = 43, 32  # 43 rows: the 2nd, 3rd and 4th pooling each drop one
    net = tiny_net.with_padding("reflect")  # the default padding

    def row_weights(canvas: Canvas) -> torch.Tensor:
        x = canvas.extend(torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(1)))
        x.requires_grad_(True)
        feats = net(x, ["conv5_1"])["conv5_1"]
        feats.square().sum().backward()
        return canvas.crop(x.grad).abs().mean(dim=(0, 1, 3))

    floor = row_weights(Canvas(h, w))
    grid = row_weights(plan_canvas(h, w, 16))
    assert floor[-1] < 0.2 * floor[h // 2 - 4 : h // 2 + 4].mean()  # dropped: barely reaches conv5_1
    assert grid[-1] > 0.5 * grid[h // 2 - 4 : h // 2 + 4].mean()
