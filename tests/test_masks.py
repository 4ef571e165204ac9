"""Spatial control: mask specs, guided Gram matrices, one style per region."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from painterly import TransferConfig, stylize
from painterly.errors import ConfigError, InputError
from painterly.images import load_tensor
from painterly.losses import gram_matrix
from painterly.masks import MaskSpec, guided_gram, load_mask, parse_mask_spec, remainder


def half_mask(path: Path, size: tuple[int, int], right: bool) -> Path:
    """White on the right (or left) half."""
    img = Image.new("L", size, 0)
    w, h = size
    img.paste(255, (w // 2, 0, w, h) if right else (0, 0, w // 2, h))
    img.save(path)
    return path


def test_parse_mask_spec() -> None:
    assert parse_mask_spec("m.png:s.jpg") == MaskSpec("m.png", "s.jpg", 1.0)
    assert parse_mask_spec("m.png:s.jpg:2.5") == MaskSpec("m.png", "s.jpg", 2.5)
    assert parse_mask_spec("m.png:none") == MaskSpec("m.png", None, 1.0)
    assert parse_mask_spec("m.png:NONE:0") == MaskSpec("m.png", None, 0.0)
    for bad in ("m.png", ":s.jpg", "m.png:", "m.png:s.jpg:-1"):
        with pytest.raises(ConfigError, match="mask"):
            parse_mask_spec(bad)
    with pytest.raises(ConfigError, match="mask"):
        TransferConfig(masks=("nocolon",))


def test_guided_gram_with_a_full_mask_is_the_gram() -> None:
    f = torch.randn(1, 8, 6, 5, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(guided_gram(f, torch.ones(1, 1, 6, 5)), gram_matrix(f), atol=1e-6)


def test_guided_gram_sees_only_its_region() -> None:
    g = torch.Generator().manual_seed(1)
    left, right = torch.randn(1, 4, 6, 3, generator=g), torch.randn(1, 4, 6, 3, generator=g)
    mask = torch.zeros(1, 1, 6, 6)
    mask[..., :3] = 1
    together = torch.cat([left, right], dim=-1)
    assert torch.allclose(guided_gram(together, mask), gram_matrix(left), atol=1e-6)


def test_load_mask_and_remainder(tmp_path: Path) -> None:
    m = load_mask(half_mask(tmp_path / "m.png", (20, 10), right=True), (40, 20), "cpu")
    assert m.shape == (1, 1, 20, 40) and float(m.min()) == 0.0 and float(m.max()) == 1.0
    rest = remainder([m])
    assert torch.allclose(rest + m, torch.ones_like(m))
    Image.new("L", (8, 8), 0).save(tmp_path / "black.png")
    with pytest.raises(InputError, match="black"):
        load_mask(tmp_path / "black.png", (8, 8), "cpu")


def test_each_region_takes_its_own_style(example_content, example_style, tiny_net, tmp_path) -> None:
    """Right half: the painting; left half: 'none' (content only). The right half must
    change far more than the left."""
    size = Image.open(example_content).size
    right = half_mask(tmp_path / "right.png", size, right=True)
    left = half_mask(tmp_path / "left.png", size, right=False)
    # calm_weight 0: on the tiny random network the calm term outweighs the style losses
    config = TransferConfig(
        size=64,
        iterations=20,
        style_weight=1e4,
        calm_weight=0.0,
        masks=(f"{left}:none", f"{right}:{example_style}"),
    )
    result = stylize(example_content, example_style, config, network=tiny_net)
    assert result.status == "finished"
    photo = load_tensor(example_content, 64)
    change = (result.tensor - photo).abs().mean(dim=(0, 1, 2))
    w = change.shape[0]
    left_change, right_change = float(change[: w // 2 - 4].mean()), float(change[w // 2 + 4 :].mean())
    assert right_change > 3 * left_change


def test_unmasked_area_takes_the_main_style(example_content, example_style, tiny_net, tmp_path) -> None:
    size = Image.open(example_content).size
    left = half_mask(tmp_path / "left.png", size, right=False)
    config = TransferConfig(
        size=64, iterations=20, style_weight=1e4, calm_weight=0.0, masks=(f"{left}:none",)
    )
    result = stylize(example_content, example_style, config, network=tiny_net)
    photo = load_tensor(example_content, 64)
    change = (result.tensor - photo).abs().mean(dim=(0, 1, 2))
    w = change.shape[0]
    assert float(change[w // 2 + 4 :].mean()) > 3 * float(change[: w // 2 - 4].mean())


def test_missing_mask_file_fails_before_any_work(example_content, example_style, tmp_path) -> None:
    config = TransferConfig(size=64, masks=(f"{tmp_path / 'nope.png'}:none",))
    with pytest.raises(InputError, match=r"nope\.png"):
        stylize(example_content, example_style, config, network=None)


def test_cli_checks_mask_files_before_the_run(tmp_path, example_content, example_style) -> None:
    from painterly.cli import Parser
    from painterly.cli import run as run_cli

    parser = Parser(prog="painterly")
    run_cli.register(parser.add_subparsers(dest="command"))
    out = str(tmp_path / "o.png")
    args = parser.parse_args(
        ["run", str(example_content), str(example_style), "-o", out, "--mask", "nope.png:none"]
    )
    with pytest.raises(InputError, match=r"nope\.png"):
        run_cli.plan_run(args)


def test_cli_repeated_mask_flag() -> None:
    from painterly.cli import Parser
    from painterly.cli import run as run_cli

    parser = Parser(prog="painterly")
    run_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["run", "a.jpg", "b.jpg", "-o", "x.png", "--mask", "p.png:s.jpg:2", "--mask", "q.png:none"]
    )
    assert run_cli.given_values(args)["masks"] == ("p.png:s.jpg:2", "q.png:none")
