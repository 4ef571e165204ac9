"""Sweeps: every combination runs once, shares networks, resumes, and fails early."""

import json

import pytest
import torch
from PIL import Image

import painterly.lab.sweep as sweep_module
from painterly.backbones import VGG19Features, random_vgg19_weights
from painterly.cli import run_command
from painterly.errors import ConfigError
from painterly.events import Stop
from painterly.lab.specs import SweepSpec, parse_grid_option
from painterly.lab.sweep import run_sweep
from painterly.records import read_manifest

FIXED = {"size": 32, "iterations": 2}


class TinyNets:
    """A network factory that builds small random VGGs and counts its calls."""

    def __init__(self):
        self.calls = []

    def __call__(self, pooling, activation, last_tap, device):
        self.calls.append((pooling, activation, last_tap))
        weights = random_vgg19_weights(torch.Generator().manual_seed(0))
        return VGG19Features(weights, pooling, activation, last_tap).to(device)


def spec_for(photo, painting, *grids, **settings):
    return SweepSpec(
        content=str(photo),
        styles=(str(painting),),
        settings={**FIXED, **settings},
        axes=tuple(parse_grid_option(g) for g in grids),
        title="test sweep",
    )


def test_grid_runs_every_combination_and_writes_summaries(photo, painting, tmp_path):
    nets = TinyNets()
    spec = spec_for(photo, painting, "style_weight=1,100", "pooling=max,avg")
    outcome = run_sweep(spec, tmp_path / "sw", network_factory=nets)
    assert outcome.complete and outcome.ran == 4 and outcome.skipped == 0
    # one network per pooling, as deep as the deepest layer any run needs
    assert sorted(nets.calls) == [("avg", "relu", "conv5_1"), ("max", "relu", "conv5_1")]
    runs = sorted((tmp_path / "sw" / "runs").glob("*.png"))
    assert len(runs) == 4
    manifest = read_manifest(runs[0].with_suffix(".json"))
    assert manifest["status"] == "finished" and manifest["config"]["style_weight"] == 1.0
    assert manifest["sweep"]["values"] == {"style_weight": "1", "pooling": "max"}
    assert runs[0].with_name(runs[0].stem + ".losses.csv").is_file()
    sheet = Image.open(tmp_path / "sw" / "sheet.png")
    assert sheet.width > 2 * 32 and sheet.height > 2 * 27
    assert Image.open(tmp_path / "sw" / "losses.png").size[0] > 500
    report = (tmp_path / "sw" / "report.md").read_text()
    assert "| style_weight | pooling |" in report and report.count("| finished |") == 4
    summary = json.loads((tmp_path / "sw" / "sweep.json").read_text())
    assert [r["values"] for r in summary["runs"]][1] == {"style_weight": "1", "pooling": "avg"}


def test_one_network_is_shared_when_settings_allow(photo, painting, tmp_path):
    nets = TinyNets()
    spec = spec_for(photo, painting, "content_layers=conv2_2|conv4_2", style_layers=("conv1_1", "conv2_1"))
    run_sweep(spec, tmp_path / "sw", network_factory=nets)
    assert nets.calls == [("avg", "relu", "conv4_2")]


def test_interrupted_sweep_resumes_skipping_finished_runs(photo, painting, tmp_path):
    spec = spec_for(photo, painting, "style_weight=1,10,100")
    seen = []

    def stop_in_second_run(event):
        seen.append((event.number, event.state))
        if event.number == 2 and event.state == "running" and event.progress.step == 1:
            raise Stop

    first = run_sweep(spec, tmp_path / "sw", stop_in_second_run, network_factory=TinyNets())
    assert not first.complete and [r.status for r in first.records] == ["finished", "stopped", "pending"]
    assert (tmp_path / "sw" / "sheet.png").is_file()  # a partial sheet is still written
    assert "stopped before its end" in (tmp_path / "sw" / "report.md").read_text()
    done = sorted(p.name for p in (tmp_path / "sw" / "runs").glob("*.png"))
    assert done == ["1_style-weight-1.png", "2_style-weight-10.partial.png"]
    before = (tmp_path / "sw" / "runs" / "1_style-weight-1.png").stat().st_mtime_ns

    events = []
    second = run_sweep(spec, tmp_path / "sw", events.append, network_factory=TinyNets())
    assert second.complete and second.skipped == 1 and second.ran == 2
    assert (events[0].number, events[0].state) == (1, "skipped")
    assert (tmp_path / "sw" / "runs" / "1_style-weight-1.png").stat().st_mtime_ns == before
    assert not (tmp_path / "sw" / "runs" / "2_style-weight-10.partial.png").exists()
    assert "(earlier run)" in (tmp_path / "sw" / "report.md").read_text()
    assert second.records[0].history  # curves of skipped runs come back from their CSV

    # a changed setting is not "finished": that run is made again
    changed = spec_for(photo, painting, "style_weight=1", seed=1)
    assert run_sweep(changed, tmp_path / "sw", network_factory=TinyNets()).skipped == 0


def test_bad_value_fails_before_any_run(photo, painting, tmp_path):
    nets = TinyNets()
    spec = spec_for(photo, painting, "style_weight=1,-1")
    with pytest.raises(ConfigError, match=r"run 2 \(style_weight=-1\): style_weight must be"):
        run_sweep(spec, tmp_path / "sw", network_factory=nets)
    assert nets.calls == [] and not (tmp_path / "sw").exists()


def cli(capsys, *args):
    code = run_command([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_sweep_with_spec_and_overrides(capsys, photo, painting, tmp_path, monkeypatch):
    monkeypatch.setattr(sweep_module, "load_network", TinyNets())
    spec = tmp_path / "spec.toml"
    spec.write_text(
        f'content = "{photo.name}"\nstyles = ["{painting.name}"]\n[settings]\nsize = 256\n'
        '[grid]\npooling = ["max", "avg"]\n'
    )
    args = [
        "sweep",
        "--spec",
        spec,
        "--grid",
        "tv_weight=0,1",
        "-s",
        "32",
        "-n",
        "2",
        "-o",
        tmp_path / "o",
        "-q",
    ]
    code, out, err = cli(capsys, *args)
    assert code == 0, err
    assert "4 run(s) done" in out
    assert Image.open(next((tmp_path / "o" / "runs").glob("1_*.png"))).size == (32, 27)
    code, out, _ = cli(capsys, *args)
    assert code == 0 and "0 run(s) done, 4 already finished" in out


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--grid", "pooling=max,median"], "pooling must be one of max, avg"),
        (["--grid", "stlye_weight=1"], "did you mean style_weight"),
        (["--grid", "size=32,8"], "run 2 (size=8)"),
        (["--grid", "pooling=max", "--pooling", "avg"], "both swept and fixed"),
    ],
)
def test_cli_bad_grid_is_one_line_before_running(
    capsys, photo, painting, tmp_path, monkeypatch, extra, fragment
):
    nets = TinyNets()
    monkeypatch.setattr(sweep_module, "load_network", nets)
    code, _, err = cli(capsys, "sweep", photo, painting, "-o", tmp_path / "o", "-q", *extra)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and fragment in lines[0], err
    assert nets.calls == [] and not (tmp_path / "o").exists()


def test_cli_missing_images_and_bad_spec(capsys, tmp_path, photo):
    code, _, err = cli(capsys, "sweep", "--grid", "pooling=max,avg", "-o", tmp_path / "o")
    assert code == 2 and "give a content image" in err
    code, _, err = cli(capsys, "sweep", photo, tmp_path / "missing.png", "-o", tmp_path / "o")
    assert code == 2 and "missing.png" in err
    bad = tmp_path / "bad.toml"
    bad.write_text('[grid]\nactivation = ["relu", "swish"]\n')
    code, _, err = cli(capsys, "sweep", "--spec", bad, "-o", tmp_path / "o")
    assert code == 2 and "bad.toml" in err and "unknown activation 'swish'" in err
    code, out, _ = cli(
        capsys, "sweep", photo, photo, "--grid", "pooling=max,avg", "-o", tmp_path / "o", "--dry-run"
    )
    assert code == 0 and "2 run(s); all settings valid" in out and not (tmp_path / "o").exists()
