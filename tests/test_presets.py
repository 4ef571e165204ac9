"""Presets: what each sets, that the user's flags win, and the single place init is chosen."""

from __future__ import annotations

import pytest

from painterly import presets
from painterly.config import TransferConfig
from painterly.errors import ConfigError
from painterly.presets import PRESET_NAMES, preset_config, preset_values, steps_for


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_each_preset_is_a_valid_coarse_to_fine_config(name: str) -> None:
    for size in (256, 512, 1024):
        config = preset_config(name, size=size)
        assert config.preset == name and config.multiscale
        sizes, steps = config.scale_sizes(), config.steps_per_scale()
        assert sizes[0] == 128 and sizes[-1] == size and len(steps) == len(sizes)
        # issue #16: the work (steps × pixels) grows towards the finest scale, whose loss is
        # the picture's; quality's steps themselves now grow too (measured, presets.py).
        work = [n * s * s for n, s in zip(steps, sizes, strict=True)]
        assert work == sorted(work)


def test_presets_are_ordered_by_effort() -> None:
    def work(name: str) -> float:  # steps weighted by pixels: a proxy for time
        config = preset_config(name, size=512)
        return sum(n * s * s for n, s in zip(config.steps_per_scale(), config.scale_sizes()))

    assert work("draft") < work("balanced") < work("quality")


def test_user_settings_override_the_preset() -> None:
    config = preset_config("balanced", size=256, optimizer="adam", scales=(128,), scale_iterations=(9, 3))
    assert config.optimizer == "adam"
    assert config.scale_sizes() == (128, 256) and config.steps_per_scale() == (9, 3)
    # given scales without steps: the preset computes steps for those scales
    assert len(preset_config("draft", size=512, scales=(256,)).steps_per_scale()) == 2
    # given iterations: the same number at every scale
    assert set(preset_config("draft", size=256, iterations=7).steps_per_scale()) == {7}


def test_no_preset_and_unknown_preset() -> None:
    assert preset_values("none") == {}
    with pytest.raises(ConfigError, match="preset"):
        preset_values("fastest")


def test_steps_for_interpolates() -> None:
    p = presets.Preset({}, final_steps=10, coarse_steps=50)
    assert steps_for(1, p) == (50,)
    assert steps_for(5, p) == (50, 40, 30, 20, 10)
    # issue #16: a retuned multi-scale schedule leaves single-scale (small) pictures alone
    assert steps_for(1, presets.Preset({}, final_steps=150, coarse_steps=100, single_steps=300)) == (300,)
    assert steps_for(3, presets.Preset({}, final_steps=150, coarse_steps=100, single_steps=300)) == (
        100,
        125,
        150,
    )


def test_small_pictures_keep_their_steps() -> None:
    """The #16 retune moved steps to the fine scales; a one-scale picture (128 px) runs the
    steps it always ran."""
    assert preset_config("draft", size=128).steps_per_scale() == (80,)
    assert preset_config("quality", size=128).steps_per_scale() == (300,)
    assert preset_config("balanced", size=128).steps_per_scale() == (60,)


def test_balanced_init_is_chosen_in_one_place(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(presets, "USE_FAST_INIT", False)
    assert preset_values("balanced")["init"] == "content"
    monkeypatch.setattr(presets, "USE_FAST_INIT", True)
    monkeypatch.setattr(presets, "fast_init_available", lambda: False)
    assert preset_values("balanced")["init"] == "content"
    monkeypatch.setattr(presets, "fast_init_available", lambda: True)
    assert preset_values("balanced")["init"] == "fast"


def test_cli_layers_manifest_preset_and_flags(tmp_path, example_content, example_style) -> None:
    from painterly.cli import Parser
    from painterly.cli import run as run_cli

    parser = Parser(prog="painterly")
    run_cli.register(parser.add_subparsers(dest="command"))
    out = tmp_path / "out.png"
    args = parser.parse_args(
        [
            "run",
            str(example_content),
            str(example_style),
            "-o",
            str(out),
            "--preset",
            "draft",
            "--size",
            "256",
            "--optimizer",
            "adam",
        ]
    )
    job = run_cli.plan_run(args)
    assert job.config.preset == "draft" and job.config.multiscale
    assert job.config.optimizer == "adam"  # the flag beats the preset
    assert job.config.scale_sizes()[-1] == 256
    assert job.config.steps_per_scale() == preset_config("draft", size=256).steps_per_scale()
    plain = run_cli.plan_run(
        parser.parse_args(["run", str(example_content), str(example_style), "-o", str(out)])
    )
    assert plain.config == TransferConfig()
