"""Fast mode at any size (issue #16): --style-scale auto paints at the network's natural
scale and carries the result up with the photo's detail; numpy colour twins of
painterly.color; the flag on the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

import painterly.cli as cli
from conftest import make_image
from painterly import color
from painterly.config import FastConfig
from painterly.errors import ConfigError
from painterly.fast import FastStylizer, colors, fast_stylize
from painterly.fast.upsample import NATURAL_SIDE, auto_work_size, box_mean, guided_upsample

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def stylizer() -> FastStylizer:
    return FastStylizer(threads=1)


def detailed_photo(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """Smooth colours plus fine high-contrast texture: what a small size cannot hold."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w] / max(w, h)
    base = np.stack([np.sin(xx * 5 + c) * np.cos(yy * 4 - c) for c in range(3)], -1) * 0.3 + 0.5
    texture = (rng.random((h, w)) > 0.5)[..., None] * 0.3 - 0.15
    return Image.fromarray((np.clip(base + texture, 0, 1) * 255).astype(np.uint8), "RGB")


def test_box_mean_matches_a_brute_force_window_mean() -> None:
    x = np.random.default_rng(1).random((13, 9, 3)).astype(np.float32)
    r = 2
    brute = np.stack(
        [
            np.stack([x[max(0, i - r) : i + r + 1, max(0, j - r) : j + r + 1].mean((0, 1)) for j in range(9)])
            for i in range(13)
        ]
    )
    assert np.abs(box_mean(x, r) - brute).max() < 1e-5
    assert np.abs(box_mean(x[..., 0], r) - brute[..., 0]).max() < 1e-5


def test_auto_work_size_keeps_small_outputs_and_caps_large_ones() -> None:
    assert auto_work_size((300, 200)) == (300, 200)
    assert auto_work_size((2048, 1024)) == (NATURAL_SIDE, NATURAL_SIDE // 2)
    assert auto_work_size((1000, 3000)) == (128, NATURAL_SIDE)


def test_guided_upsampling_restores_the_detail_the_small_size_lost() -> None:
    # If the "painting" is the small photo itself, the result must come back close to the
    # full photo, much closer than a plain upsampling of the small picture.
    photo = detailed_photo((256, 192)).convert("L").convert("RGB")
    small = photo.resize((64, 48), Image.Resampling.LANCZOS)
    plain = np.asarray(small.resize(photo.size, Image.Resampling.BICUBIC), dtype=np.float32)
    guided = np.asarray(guided_upsample(small, small, photo), dtype=np.float32)
    truth = np.asarray(photo, dtype=np.float32)
    assert guided.shape == truth.shape
    assert np.abs(guided - truth).mean() < 0.5 * np.abs(plain - truth).mean()


def test_guided_upsampling_adds_nothing_where_the_painting_ignores_the_photo() -> None:
    photo = detailed_photo((128, 96))
    flat = Image.new("RGB", (32, 24), (200, 40, 90))  # a painting with no structure at all
    out = np.asarray(guided_upsample(flat, photo.resize((32, 24)), photo), dtype=np.float32)
    assert np.abs(out - np.array([200, 40, 90])).max() <= 1


def high_frequency(img: Image.Image) -> float:
    grey = img.convert("L")
    return float(
        np.abs(np.asarray(grey, np.float32) - np.asarray(grey.filter(ImageFilter.BoxBlur(1)))).mean()
    )


def lined_photo(size: tuple[int, int]) -> Image.Image:
    """Smooth colours crossed by thin dark lines, 1 px wide: detail a half-size picture loses."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([np.sin(xx / w * 5 + c) * np.cos(yy / h * 4 - c) for c in range(3)], -1) * 0.25 + 0.6
    lines = ((xx % 9 == 0) | (yy % 11 == 0) | ((xx + yy) % 23 == 0))[..., None]
    return Image.fromarray((np.where(lines, 0.05, base) * 255).astype(np.uint8), "RGB")


def test_auto_strokes_follow_the_output_size_and_stay_sharp(stylizer: FastStylizer, painting: Path) -> None:
    photo = lined_photo((2 * NATURAL_SIDE, 3 * NATURAL_SIDE // 2))  # 768×576
    auto = fast_stylize(photo, painting, FastConfig(size=768), stylizer=stylizer)
    assert auto.work_size == (NATURAL_SIDE, 288) and auto.image.size == (768, 576)
    assert auto.config.style_scale == "auto"
    # the same small painting, plainly resized: the photo's thin lines are lost
    small = fast_stylize(
        photo.resize(auto.work_size), painting, FastConfig(size=NATURAL_SIDE), stylizer=stylizer
    )
    plain = small.image.resize(auto.image.size, Image.Resampling.LANCZOS)
    assert high_frequency(auto.image) > 1.2 * high_frequency(plain)
    # A small output is painted directly, as before.
    tiny = fast_stylize(photo, painting, FastConfig(size=96), stylizer=stylizer)
    assert tiny.work_size == tiny.image.size == (96, 72)


def test_numpy_colour_twins_match_painterly_color() -> None:
    a = np.asarray(detailed_photo((40, 30), seed=1), np.float32) / 255
    b = np.asarray(detailed_photo((40, 30), seed=2), np.float32) / 255
    ta = torch.from_numpy(a).permute(2, 0, 1)[None]
    tb = torch.from_numpy(b).permute(2, 0, 1)[None]
    lum = color.combine_luminance(ta, tb)[0].permute(1, 2, 0).numpy()
    assert np.abs(colors.combine_luminance(a, b) - lum).max() < 1e-5
    moved = color.match_color_statistics(ta, tb)[0].permute(1, 2, 0).numpy()
    assert np.abs(colors.match_color_statistics(a, b) - moved).max() < 1e-5


def test_style_scale_flag_takes_auto_or_a_number(
    tmp_path: Path, painting: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr(cli, "COMMAND_MODULES", ["fast"])
    photo = make_image(tmp_path / "p.png", (40, 32), seed=3)
    for value in ("auto", "0.5"):
        out = tmp_path / f"{value}.png"
        assert (
            cli.run_command(["fast", str(photo), str(painting), "-o", str(out), "--style-scale", value]) == 0
        )
    assert cli.run_command(["fast", str(photo), str(painting), "-o", str(out), "--style-scale", "big"]) == 2
    assert "style-scale" in capsys.readouterr().err
    for bad in ("Auto", 0, 5, True, float("nan")):
        with pytest.raises(ConfigError, match="style_scale"):
            FastConfig(style_scale=bad)
