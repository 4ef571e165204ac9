"""Sweep specs: grids from flags and TOML, every config checked before any run."""

from pathlib import Path

import pytest

from painterly.errors import ConfigError, InputError
from painterly.lab.specs import SweepSpec, combine, load_spec, parse_grid_option, plan_runs

SHIPPED = sorted((Path(__file__).resolve().parents[1] / "examples" / "sweeps").glob("*.toml"))


def write(tmp_path, text):
    path = tmp_path / "spec.toml"
    path.write_text(text)
    return path


def test_grid_option_parses_by_field_type():
    assert parse_grid_option("style_weight=1e4,1e5").values == (1e4, 1e5)
    assert parse_grid_option("pooling=max,avg").values == ("max", "avg")
    assert parse_grid_option("iterations=10,20").values == (10, 20)
    axis = parse_grid_option("style_layer_weights=0.8,0.2|0.2,0.8|")
    assert axis.values == ((0.8, 0.2), (0.2, 0.8), ())
    assert [axis.label(i) for i in range(3)] == ["0.8,0.2", "0.2,0.8", "default"]
    assert parse_grid_option("learning-rate=none,0.1").values == (None, 0.1)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("stlye_weight=1,2", "did you mean style_weight"),
        ("style_weight=1,abc", "'abc' is not a valid float"),
        ("pooling=max,median", "pooling must be one of"),
        ("iterations=1.5", "whole number"),
        ("style_weight", "key=value"),
        ("style_weight=", "at least one value"),
    ],
)
def test_bad_grid_options(text, fragment):
    with pytest.raises(ConfigError, match=fragment):
        parse_grid_option(text)


def test_toml_spec_resolves_images_and_keeps_axis_order(tmp_path):
    path = write(
        tmp_path,
        'title = "t"\ncontent = "c.png"\nstyles = ["s.png"]\n'
        "[settings]\nsize = 64\nstyle_weight = 1e3\n"
        '[grid]\npooling = ["max", "avg"]\ncontent_layers = [["conv4_2"], ["conv5_2"]]\n'
        '[labels]\ncontent_layers = ["deep", "deeper"]\n',
    )
    spec = load_spec(path)
    assert spec.content == str(tmp_path / "c.png") and spec.styles == (str(tmp_path / "s.png"),)
    assert [a.key for a in spec.axes] == ["pooling", "content_layers"]
    runs = plan_runs(spec)
    assert len(runs) == 4 and runs[1].labels == {"pooling": "max", "content_layers": "deeper"}
    assert runs[1].config.content_layers == ("conv5_2",) and runs[1].config.style_weight == 1e3
    assert runs[3].name.startswith("4_pooling-avg")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("colour = 1\n", "unknown key(s) colour"),
        ("[settings]\nstyle_wieght = 1.0\n", "did you mean style_weight"),
        ("[settings]\nstyle_weight = true\n", "must be a number"),
        ('[grid]\npooling = "max"\n', "non-empty list"),
        ('[grid]\npooling = ["max"]\n[labels]\npooling = ["a", "b"]\n', "one label per value"),
        ('[labels]\npooling = ["a"]\n', "not a grid axis"),
        ("[grid\n", "not valid TOML"),
    ],
)
def test_bad_spec_files(tmp_path, text, fragment):
    with pytest.raises((ConfigError, InputError)) as info:
        load_spec(write(tmp_path, text))
    assert fragment in str(info.value) and "spec.toml" in str(info.value)


def test_every_config_is_validated_before_running():
    spec = SweepSpec(axes=(parse_grid_option("size=64,8"),))
    with pytest.raises(ConfigError, match=r"run 2 \(size=8\): size must be between"):
        plan_runs(spec)
    spec = combine(SweepSpec(), axes=(parse_grid_option("pooling=max,avg"),), overrides={"pooling": "avg"})
    with pytest.raises(ConfigError, match="both swept and fixed"):
        plan_runs(spec)
    with pytest.raises(ConfigError, match="at most"):
        plan_runs(
            SweepSpec(
                axes=tuple(
                    parse_grid_option(f"{k}=1,2,3,4,5,6,7,8") for k in ("seed", "iterations", "max_restarts")
                )
            )
        )


def test_missing_spec_file(tmp_path):
    with pytest.raises(InputError, match="no such spec file"):
        load_spec(tmp_path / "nope.toml")


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_specs_plan(path):
    spec = combine(load_spec(path), overrides={"size": 64, "iterations": 2})
    runs = plan_runs(spec)
    assert len(runs) >= 2 and Path(spec.content).is_file() and all(Path(s).is_file() for s in spec.styles)
    assert all(r.config.size == 64 for r in runs)


def test_grid_shape_puts_the_last_axis_on_columns():
    from painterly.lab.sweep import grid_shape

    spec = SweepSpec(
        axes=tuple(parse_grid_option(g) for g in ("pooling=max,avg", "seed=1,2,3", "tv_weight=0,1"))
    )
    rows, cols, place = grid_shape(spec)
    assert cols == ["0", "1"] and len(rows) == 6 and rows[4] == "pooling=avg\nseed=2"
    runs = plan_runs(spec)
    assert sorted(place(r.position) for r in runs) == [(r, c) for r in range(6) for c in range(2)]
    assert place(runs[9].position) == (4, 1)


def test_contact_sheet_labels_and_empty_cells():
    from PIL import Image

    from painterly.lab.sheets import contact_sheet, wrap

    cell = Image.new("RGB", (40, 30), (200, 0, 0))
    sheet = contact_sheet([[cell, None]], ["row"], ["a ×0.8", "b"], [["x", ""]], title="t", notes=["n"])
    assert sheet.width >= 2 * 80 and sheet.getpixel((sheet.width - 20, sheet.height - 30)) != (200, 0, 0)
    from painterly.lab.sheets import font

    assert wrap("relu1_1 ×0.8", font(14), 500) == ["relu1_1 x0.8"]
    assert all(len(line) < 20 for line in wrap("conv1_1,conv2_1,conv3_1,conv4_1", font(14), 80))
