"""Sweeps over library names (#10): the style axis, movement:*, manifests that name the works."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from painterly.errors import ConfigError
from painterly.lab.specs import SweepSpec, load_spec, parse_grid_option, plan_runs
from painterly.lab.sweep import run_sweep
from painterly.library import Library
from test_lab_sweep import TinyNets

ROOT = Path(__file__).resolve().parents[1]


def test_the_movements_spec_plans_one_run_per_movement():
    spec = load_spec(ROOT / "examples" / "sweeps" / "movements.toml")
    runs = plan_runs(spec)
    movements = list(Library.load().movements())
    assert [r.labels["style"] for r in runs] == movements * 2 and len(runs) == 28
    assert [r.config.style_group for r in runs[13:15]] == ["blend", "representative"]
    fauvism = runs[movements.index("fauvism")]
    assert len(fauvism.styles) == 4 and fauvism.library[0]["query"] == "movement:fauvism"
    assert fauvism.config.style_blend_weights == (0.25,) * 4


def test_typos_in_a_style_axis_fail_before_anything_runs(photo):
    spec = SweepSpec(content=str(photo), axes=(parse_grid_option("style=movement:cubism,movement:fauvisme"),))
    with pytest.raises(ConfigError, match="did you mean fauvism"):
        plan_runs(spec)
    both = SweepSpec(
        content=str(photo), styles=("x.png",), axes=(parse_grid_option("style=movement:cubism"),)
    )
    with pytest.raises(ConfigError, match="not both"):
        plan_runs(both)


def test_a_sweep_over_library_names_and_group_modes(photo, tmp_path):
    spec = SweepSpec(
        content=str(photo),
        settings={"size": 32, "iterations": 2},
        axes=(
            parse_grid_option("style_group=blend,representative"),
            parse_grid_option("style=movement:cubism,hokusai-the_great_wave_off_kanagawa-1831"),
        ),
        title="library sweep",
    )
    outcome = run_sweep(spec, tmp_path / "sw", network_factory=TinyNets())
    assert outcome.complete and outcome.ran == 4
    manifests = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "sw" / "runs").glob("*.json")}
    blend = next(m for n, m in manifests.items() if "cubism" in n and "blend" in n)
    rep = next(m for n, m in manifests.items() if "cubism" in n and "representative" in n)
    assert len(blend["inputs"]["styles"]) == 3 and blend["library"][0]["mode"] == "blend"
    assert len(rep["inputs"]["styles"]) == 1 and rep["library"][0]["works"][0]["id"] == "picabia-udnie-1913"
    assert (tmp_path / "sw" / "sheet.png").is_file()
    # a second run skips what is done (the resolved configs compare equal)
    assert run_sweep(spec, tmp_path / "sw", network_factory=TinyNets()).skipped == 4
