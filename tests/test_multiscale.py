"""Coarse-to-fine: the scale schedule, its validation, progress per scale, resuming."""

from __future__ import annotations

import argparse

import pytest
import torch

from painterly import TransferConfig, stylize
from painterly.cli.progress import ProgressBar
from painterly.errors import ConfigError
from painterly.events import Progress
from painterly.transfer import prepare_scale, remaining_schedule


def test_schedule_from_flags() -> None:
    assert TransferConfig().scale_sizes() == (512,)
    assert TransferConfig(multiscale=True).scale_sizes() == (128, 181, 256, 362, 512)
    assert TransferConfig(size=384, multiscale=True).scale_sizes() == (128, 181, 256, 384)
    assert TransferConfig(scales=(128, 256, 512)).scale_sizes() == (128, 256, 512)
    assert TransferConfig(scales=(256, 128)).scale_sizes() == (128, 256, 512)
    config = TransferConfig(scales=(128, 256), scale_iterations=(30, 20, 10))
    assert config.steps_per_scale() == (30, 20, 10)
    assert TransferConfig(scales=(128,), iterations=7).steps_per_scale() == (7, 7)


@pytest.mark.parametrize(
    "settings",
    [
        {"scales": (1024,)},
        {"scales": (8,)},
        {"scales": (128, 256), "scale_iterations": (10, 10)},
        {"scale_iterations": (-1,)},
        {"style_size": 4},
    ],
)
def test_bad_schedules_are_refused(settings: dict) -> None:
    with pytest.raises(ConfigError):
        TransferConfig(**settings)


def test_coarse_to_fine_run_reports_each_scale(example_content, example_style, tiny_net) -> None:
    events: list[Progress] = []
    config = TransferConfig(size=64, scales=(32, 48), scale_iterations=(4, 3, 2), preview_every=1)
    result = stylize(example_content, example_style, config, events.append, network=tiny_net)
    assert result.status == "finished" and result.steps == 9
    assert [e.scale for e in events] == [0] * 4 + [1] * 3 + [2] * 2
    assert {e.scale_count for e in events} == {3}
    assert [e.step for e in events] == list(range(1, 10))
    assert {e.total_steps for e in events} == {9}
    assert [max(e.image.shape[-2:]) for e in events] == [32] * 4 + [48] * 3 + [64] * 2
    elapsed = [row["elapsed"] for row in result.history]
    assert elapsed == sorted(elapsed)  # time runs on across scales
    assert max(result.image.size) == 64


def test_style_size_follows_scales_unless_fixed(example_content, example_style) -> None:
    from PIL import Image

    content, style = Image.open(example_content), Image.open(example_style)
    cpu = torch.device("cpu")
    for longest in (32, 64):
        follows = prepare_scale(content, [style], [], [], None, longest, TransferConfig(size=64), cpu)
        fixed = prepare_scale(
            content, [style], [], [], None, longest, TransferConfig(size=64, style_size=40), cpu
        )
        assert max(follows.styles[0].shape[-2:]) == longest
        assert max(fixed.styles[0].shape[-2:]) == 40


def test_remaining_schedule_carries_on_where_a_run_stopped() -> None:
    config = TransferConfig(scales=(128, 256), scale_iterations=(30, 20, 10))
    rest = remaining_schedule(config, 35)
    assert rest.scale_sizes() == (256, 512) and rest.steps_per_scale() == (15, 10)
    last = remaining_schedule(config, 55)
    assert last.scale_sizes() == (512,) and last.steps_per_scale() == (5,)
    assert remaining_schedule(config, 60).steps_per_scale() == (0,)
    assert remaining_schedule(TransferConfig(iterations=100), 40).iterations == 60


def test_progress_bar_shows_the_scale() -> None:
    with ProgressBar(10, enabled=True) as bar:
        bar.update(Progress(3, 10, {"total": 1.0}, 0.1, scale=1, scale_count=3))
        assert bar.bar.postfix.startswith("scale=2/3")


def test_cli_derives_the_flags() -> None:
    from painterly.cli import Parser
    from painterly.cli import run as run_cli

    parser = Parser(prog="painterly")
    run_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "run",
            "a.jpg",
            "b.jpg",
            "-o",
            "x.png",
            "--scales",
            "128,256",
            "--scale-iterations",
            "5,4,3",
            "--style-size",
            "300",
        ]
    )
    values = run_cli.given_values(args)
    assert values["scales"] == (128, 256) and values["scale_iterations"] == (5, 4, 3)
    assert values["style_size"] == 300
    assert isinstance(args, argparse.Namespace)
