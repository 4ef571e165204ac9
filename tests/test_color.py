"""Colour controls: YIQ, colour-statistics matching, luminance-only transfer, colour loss."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from painterly import TransferConfig, stylize
from painterly.color import (
    chroma_distance,
    combine_luminance,
    luminance,
    match_color_statistics,
    match_luminance,
    pixel_gram,
    rgb_to_yiq,
    yiq_to_rgb,
)
from painterly.errors import ConfigError
from painterly.images import load_tensor
from painterly.transfer import prepare_scale


def _random(seed: int, lo: float = 0.0, hi: float = 1.0, size: int = 16) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return lo + (hi - lo) * torch.rand(1, 3, size, size, generator=g)


def test_yiq_round_trip() -> None:
    x = _random(0)
    assert torch.allclose(yiq_to_rgb(rgb_to_yiq(x)), x, atol=1e-5)
    grey = torch.full((1, 3, 4, 4), 0.5)
    assert torch.allclose(rgb_to_yiq(grey)[:, 1:], torch.zeros(1, 2, 4, 4), atol=1e-6)


def test_combine_luminance_keeps_chroma_and_takes_brightness() -> None:
    photo, other = _random(1, 0.3, 0.7), _random(2, 0.3, 0.7)
    out = combine_luminance(other, photo)
    assert chroma_distance(out, photo) < 1e-3
    assert torch.allclose(luminance(out), luminance(other), atol=1e-3)


def test_match_luminance_takes_the_content_mean_and_std() -> None:
    style, content = _random(3, 0.0, 0.4), _random(4, 0.4, 0.8)
    matched = match_luminance(style, content)
    assert matched.mean() == pytest.approx(float(luminance(content).mean()), abs=1e-3)
    assert matched.std() == pytest.approx(float(luminance(content).std()), rel=0.05)


def test_match_color_statistics_takes_mean_and_covariance() -> None:
    g = torch.Generator().manual_seed(5)
    mix = torch.tensor([[0.2, 0.05, 0.0], [0.0, 0.1, 0.03], [0.02, 0.0, 0.15]])
    source = (0.5 + torch.einsum("ij,njhw->nihw", mix, torch.randn(1, 3, 32, 32, generator=g))).clamp(0, 1)
    reference = (0.4 + 0.1 * torch.randn(1, 3, 32, 32, generator=g)).clamp(0, 1)
    out = match_color_statistics(source, reference)

    def stats(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        p = t.reshape(3, -1)
        return p.mean(1), torch.cov(p, correction=0)

    (mo, co), (mr, cr) = stats(out), stats(reference)
    assert torch.allclose(mo, mr, atol=0.01)
    assert torch.allclose(co, cr, atol=0.002)


def test_pixel_gram_shape_and_value() -> None:
    x = torch.full((1, 3, 5, 7), 0.5)
    assert pixel_gram(x).shape == (1, 3, 3)
    assert torch.allclose(pixel_gram(x), torch.full((1, 3, 3), 0.25))


def test_luminance_mode_keeps_the_photos_chroma(example_content, example_style, tiny_net) -> None:
    """The measure the issue asks for: with luminance mode the output's chroma stays
    close to the photo's; without it the painting's colours come in."""
    base = TransferConfig(size=64, iterations=15, style_weight=1e4)
    photo = load_tensor(example_content, 64)
    plain = stylize(example_content, example_style, base, network=tiny_net)
    lum = stylize(example_content, example_style, base.replace(preserve_colors="luminance"), network=tiny_net)
    assert lum.status == plain.status == "finished"
    assert chroma_distance(lum.tensor, photo) < 0.01
    assert chroma_distance(plain.tensor, photo) > 2 * chroma_distance(lum.tensor, photo)
    # ... and the transfer did happen: the brightness changed
    assert float((luminance(lum.tensor) - luminance(photo)).abs().mean()) > 0.01


def test_luminance_mode_previews_are_in_colour(example_content, example_style, tiny_net) -> None:
    seen = []
    config = TransferConfig(size=48, iterations=2, preserve_colors="luminance", preview_every=1)
    stylize(example_content, example_style, config, seen.append, network=tiny_net)
    photo = load_tensor(example_content, 48)
    assert all(e.image is not None for e in seen)
    assert chroma_distance(seen[-1].image, photo) < 0.01


def test_histogram_mode_recolours_the_painting_to_the_photo(example_content, example_style) -> None:
    content_img, style_img = Image.open(example_content), Image.open(example_style)
    config = TransferConfig(size=64, preserve_colors="histogram")
    scale = prepare_scale(content_img, [style_img], [], [], None, 64, config, torch.device("cpu"))
    photo_mean = scale.content.reshape(3, -1).mean(1)
    before = load_tensor(example_style, 64).reshape(3, -1).mean(1)
    after = scale.styles[0].reshape(3, -1).mean(1)
    assert (after - photo_mean).abs().max() < 0.02 < (before - photo_mean).abs().max()


def test_color_loss_pulls_towards_the_reference(example_content, example_style, tiny_net, tmp_path) -> None:
    red = tmp_path / "red.png"
    Image.new("RGB", (32, 32), (220, 30, 30)).save(red)
    # colour alone (the calm term too would outweigh the colour loss on this tiny network)
    base = TransferConfig(size=48, iterations=15, style_weight=0.0, tv_weight=0.0, calm_weight=0.0)
    target = pixel_gram(load_tensor(red, 32))
    plain = stylize(example_content, example_style, base, network=tiny_net)
    pulled = stylize(
        example_content,
        example_style,
        base.replace(color_weight=1e3, color_reference=str(red)),
        network=tiny_net,
    )
    assert "color" in pulled.losses
    gap = lambda r: float((pixel_gram(r.tensor) - target).abs().mean())  # noqa: E731
    assert gap(pulled) < 0.5 * gap(plain)


def test_color_weight_with_luminance_mode_is_refused(example_content, example_style, tiny_net) -> None:
    config = TransferConfig(size=48, iterations=1, preserve_colors="luminance", color_weight=1.0)
    with pytest.raises(ConfigError, match="color_weight"):
        stylize(example_content, example_style, config, network=tiny_net)


def test_bad_colour_settings_are_refused() -> None:
    with pytest.raises(ConfigError):
        TransferConfig(preserve_colors="sepia")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        TransferConfig(color_weight=-1.0)
