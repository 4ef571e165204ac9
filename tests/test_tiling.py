"""Tiling (issue #12): tiles cover the picture, feathered pasting leaves no seam, a tiled
run agrees with an untiled one, the whole painting's Grams accumulate over tiles, and fast
mode tiles large pictures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import make_image
from painterly import tiling
from painterly.config import TransferConfig
from painterly.errors import ConfigError
from painterly.losses import gram_matrix
from painterly.transfer import stylize


def gradient(height: int, width: int) -> torch.Tensor:
    """A smooth diagonal colour gradient, 1×3×H×W in 0–1."""
    y = torch.linspace(0, 1, height)[:, None].expand(height, width)
    x = torch.linspace(0, 1, width)[None, :].expand(height, width)
    return torch.stack([x, y, (x + y) / 2])[None].contiguous()


def save(tensor: torch.Tensor, path: Path) -> Path:
    from painterly.images import tensor_to_pil

    tensor_to_pil(tensor).save(path)
    return path


@pytest.mark.parametrize("size", [(300, 700), (256, 256), (513, 1030)])
def test_tiles_cover_the_picture_with_overlap(size: tuple[int, int]) -> None:
    h, w = size
    boxes = tiling.tile_boxes(h, w, 256)
    covered = np.zeros((h, w), bool)
    for top, left, bottom, right in boxes:
        assert bottom - top <= 256 and right - left <= 256
        covered[top:bottom, left:right] = True
    assert covered.all()
    starts = sorted({b[1] for b in boxes})
    ends = sorted({b[3] for b in boxes})
    for s, e in zip(starts[1:], ends[:-1]):  # neighbours share at least the overlap
        assert e - s >= tiling.overlap_for(256)


def test_feathered_paste_of_a_smooth_gradient_leaves_no_seam() -> None:
    """Pasting tiles of a gradient back one after the other must give the gradient again,
    with the gradient across the tile borders the same as inside (no step, no dip)."""
    picture = gradient(300, 640)
    canvas = torch.zeros_like(picture) + 0.5  # what was there before: a flat grey
    boxes = tiling.tile_boxes(300, 640, 256)
    overlap = tiling.overlap_for(256)
    for box in boxes:
        top, left, bottom, right = box
        tiling.paste(
            canvas, picture[..., top:bottom, left:right], box, tiling.feather(box, 300, 640, overlap)
        )
    assert float((canvas - picture).abs().max()) < 1e-5
    ratio = tiling.seam_ratio(canvas[0].permute(1, 2, 0).numpy(), boxes, overlap)
    assert abs(ratio - 1) < 0.1


def test_blended_tiles_that_disagree_fade_instead_of_stepping() -> None:
    """Fast mode's tiles are painted independently; give each a different tint: the blend
    must ramp over the overlap, never jump by the full difference between two pixels."""
    h, w, overlap = 200, 600, 64
    boxes = tiling.tile_boxes(h, w, 256, overlap)
    base = gradient(h, w)[0].permute(1, 2, 0).numpy()
    pieces = [base[t:b, left:r] + 0.05 * (i % 2) for i, (t, left, b, r) in enumerate(boxes)]
    out = tiling.blend_tiles(pieces, boxes, (h, w), overlap)
    assert np.abs(np.diff(out, axis=1)).max() < 0.05 / 8  # a 0.05 tint spread over the overlap
    assert tiling.seam_ratio(out, boxes, overlap) < 1.5  # a tint is a (small) seam: measured, bounded
    plain = tiling.blend_tiles([base[t:b, left:r] for t, left, b, r in boxes], boxes, (h, w), overlap)
    assert np.abs(plain - base).max() < 1e-5


def test_whole_image_grams_accumulate_over_tiles(tiny_net) -> None:
    image = torch.rand(1, 3, 160, 224, generator=torch.Generator().manual_seed(1))
    layers = ["conv1_1", "conv3_1", "conv5_1"]
    whole = tiny_net(image, layers)
    tiled = tiling.tiled_grams(tiny_net, image, layers, tile=128, margin=32)
    for layer in layers:
        exact = gram_matrix(whole[layer])
        error = float((tiled[layer] - exact).abs().max() / exact.abs().max())
        assert error < (1e-4 if layer == "conv1_1" else 0.15), (layer, error)


def test_tiled_run_agrees_with_untiled_and_has_no_seam(tmp_path: Path, tiny_net) -> None:
    photo = save(gradient(150, 320), tmp_path / "gradient.png")
    style = make_image(tmp_path / "style.png", (96, 80), seed=3)
    base = TransferConfig(size=320, scales=(160,), scale_iterations=(4, 4), seed=1, tv_weight=0, cache=False)
    untiled = stylize(photo, style, base, network=tiny_net)
    tiled = stylize(photo, style, base.replace(tile=256), network=tiny_net)
    assert tiled.timings["tile"] == 256 and "tile" not in untiled.timings
    assert tiled.steps == untiled.steps == 8
    a, b = untiled.tensor, tiled.tensor
    assert float((a - b).abs().mean()) < 0.03  # the same picture, up to the tiles' own optimisation
    boxes = tiling.tile_boxes(150, 320, 256)
    band = tiling.overlap_for(256)
    ratio = tiling.seam_ratio(b[0].permute(1, 2, 0).numpy(), boxes, band)
    reference = tiling.seam_ratio(a[0].permute(1, 2, 0).numpy(), boxes, band)  # the same bands, untiled
    assert abs(ratio - reference) < 0.1 * reference + 0.05


def test_tiling_reports_whole_passes_as_steps(tmp_path: Path, tiny_net) -> None:
    photo = save(gradient(150, 320), tmp_path / "gradient.png")
    style = make_image(tmp_path / "style.png", (96, 80), seed=3)
    events = []
    config = TransferConfig(size=320, iterations=5, tile=256, preview_every=5, cache=False)
    result = stylize(photo, style, config, events.append, network=tiny_net)
    assert [e.step for e in events] == [1, 2, 3, 4, 5]
    assert events[-1].image is not None and events[-1].image.shape[-2:] == (150, 320)
    assert [round(e.scale_done, 2) for e in events][-1] == 1.0
    assert len(result.history) == 5


def test_automatic_tiling_follows_the_memory_budget() -> None:
    big = TransferConfig(size=2048, multiscale=True, iterations=30)
    assert not any(tiling.plan_tiles(big.replace(max_memory=64.0), (3000, 2000), [(800, 600)]))
    plan = tiling.plan_tiles(big.replace(max_memory=2.0), (3000, 2000), [(800, 600)])
    assert plan[0] == 0 and 256 <= plan[-1] < 2048
    with pytest.raises(ConfigError, match="masks"):
        tiling.plan_tiles(
            big.replace(tile=512), (3000, 2000), [(800, 600)], unsupported="masks/portrait regions"
        )


def test_fast_mode_paints_large_pictures_in_tiles(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from painterly.fast import FastStylizer, stylizer

    painter = FastStylizer(threads=1)
    style = make_image(tmp_path / "style.png", (96, 80), seed=3)
    from PIL import Image

    vector = painter.style_vector(Image.open(style).convert("RGB"))
    photo = gradient(192, 384)[0].permute(1, 2, 0).numpy().astype(np.float32)
    whole = painter.paint(photo, vector)
    monkeypatch.setattr(stylizer, "FAST_TILE", 224)
    monkeypatch.setattr(stylizer, "FAST_OVERLAP", 64)
    tiled = painter.paint(photo, vector)
    assert tiled.shape == whole.shape
    assert float(np.abs(tiled - whole).mean()) < 0.08
    boxes = tiling.tile_boxes(192, 384, 224, 64)
    assert len(boxes) == 2
    assert tiling.seam_ratio(tiled, boxes, 64) < 1.1 * tiling.seam_ratio(whole, boxes, 64)
