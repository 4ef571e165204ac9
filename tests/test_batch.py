"""`painterly batch` (issue #12): pairs, names, resume and skip, failures, exit codes, Ctrl-C.

The Ray backend has its own module (tests/test_batch_ray.py) with one shared cluster.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

import painterly.transfer as engine
from conftest import make_image
from painterly.batch import expand_images, read_pairs
from painterly.batch.jobs import label, output_names, task_key
from painterly.cli import run_command

ROOT = Path(__file__).resolve().parents[1]
TINY = ["-s", "32", "-n", "4", "-q", "--content-layers", "conv2_1", "--style-layers", "conv1_1,conv2_1"]


def batch(capsys, *args) -> tuple[int, str, str]:
    code = run_command(["batch", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def images(tmp_path) -> dict[str, Path]:
    """Two photos in a folder and two paintings in another."""
    (tmp_path / "photos").mkdir()
    (tmp_path / "paintings").mkdir()
    return {
        "a": make_image(tmp_path / "photos" / "a.png", (40, 32), seed=1),
        "b": make_image(tmp_path / "photos" / "b.jpg", (32, 40), seed=2),
        "x": make_image(tmp_path / "paintings" / "x.png", (36, 36), seed=3),
        "y": make_image(tmp_path / "paintings" / "y.png", (40, 36), seed=4),
    }


def rows(out: Path) -> list[dict[str, str]]:
    with open(out / "batch.csv", newline="") as handle:
        return list(csv.DictReader(handle))


# --- pairs and names -----------------------------------------------------------------------------


def test_folders_globs_and_library_names_expand_in_order(images, tmp_path) -> None:
    photos = expand_images([str(tmp_path / "photos"), str(images["a"])], "photo")
    assert photos == [str(images["a"]), str(images["b"]), str(images["a"])]
    assert expand_images([str(tmp_path / "paintings" / "*.png"), "movement:fauvism"], "painting") == [
        str(images["x"]),
        str(images["y"]),
        "movement:fauvism",
    ]
    with pytest.raises(Exception, match="nope"):
        expand_images([str(tmp_path / "nope")], "photo")


def test_output_names_are_predictable_and_never_collide(tmp_path) -> None:
    pairs = [
        ("p/a.png", "x.jpg", ""),
        ("q/a.png", "x.jpg", ""),
        ("a.png", "artist:van_gogh", ""),
        ("a", "b", "mine.jpg"),
    ]
    names = [n.name for n in output_names(pairs, tmp_path, "png")]
    assert names == ["a__x.png", "a__x-2.png", "a__artist-van_gogh.png", "mine.jpg"]
    assert label("movement:fauvism") == "movement-fauvism"


def test_csv_pairs_resolve_relative_to_the_csv(images, tmp_path) -> None:
    sheet = tmp_path / "pairs.csv"
    sheet.write_text(
        "photo,painting,output\nphotos/a.png,paintings/x.png,first.png\nphotos/b.jpg,movement:fauvism\n"
    )
    assert read_pairs(str(sheet)) == [
        (str(tmp_path / "photos/a.png"), str(tmp_path / "paintings/x.png"), "first.png"),
        (str(tmp_path / "photos/b.jpg"), "movement:fauvism", ""),
    ]


# --- end to end ------------------------------------------------------------------------------------


def test_a_batch_paints_every_pair_then_skips_them(capsys, images, tmp_path, monkeypatch) -> None:
    out = tmp_path / "out"
    real_build, built = engine.build_network, []
    monkeypatch.setattr(engine, "build_network", lambda *a, **k: built.append(1) or real_build(*a, **k))
    code, stdout, err = batch(capsys, tmp_path / "photos", "-p", tmp_path / "paintings", "-o", out, *TINY)
    assert code == 0, err
    names = sorted(p.name for p in out.glob("*__*.png") if ".losses" not in p.name)
    assert names == ["a__x.png", "a__y.png", "b__x.png", "b__y.png"]
    summary = json.loads((out / "batch.json").read_text())
    assert summary["ok"] and summary["counts"] == {"finished": 4}
    manifest = json.loads((out / "a__y.json").read_text())
    assert manifest["status"] == "finished" and manifest["batch"]["key"]
    assert Image.open(out / "contact_sheet.png").size[0] > 100
    assert [r["status"] for r in rows(out)] == ["finished"] * 4
    assert len(built) == 1  # one VGG19 for the worker's four pairs
    before = {p: p.stat().st_mtime_ns for p in out.glob("*__*.png")}

    # Same settings and inputs: nothing is painted again.
    code, stdout, _ = batch(capsys, tmp_path / "photos", "-p", tmp_path / "paintings", "-o", out, *TINY)
    assert code == 0 and "4 skipped" in stdout
    assert before == {p: p.stat().st_mtime_ns for p in out.glob("*__*.png")}

    # A changed painting: its pairs are made again (another setting: see the key's test).
    make_image(images["y"], (40, 36), seed=9)
    code, stdout, _ = batch(capsys, tmp_path / "photos", "-p", tmp_path / "paintings", "-o", out, *TINY)
    assert code == 0 and "2 finished" in stdout and "2 skipped" in stdout


def test_the_key_covers_settings_and_inputs_but_not_threads(images) -> None:
    from painterly.config import TransferConfig

    config = TransferConfig(size=32).to_dict()
    key = task_key("optimise", config, str(images["a"]), [str(images["x"])])
    assert key == task_key("optimise", {**config, "threads": 3}, str(images["a"]), [str(images["x"])])
    assert key != task_key("optimise", {**config, "style_weight": 1.0}, str(images["a"]), [str(images["x"])])
    assert key != task_key("optimise", config, str(images["a"]), [str(images["y"])])
    assert key != task_key("fast", config, str(images["a"]), [str(images["x"])])


def test_a_failing_pair_is_recorded_and_the_batch_goes_on(capsys, images, tmp_path) -> None:
    (tmp_path / "photos" / "broken.png").write_bytes(b"not a picture")
    make_image(tmp_path / "photos" / "tiny.png", (320, 3), seed=5)  # fails in the engine: 32×1 px at -s 32
    out = tmp_path / "out"
    code, stdout, _ = batch(capsys, tmp_path / "photos", "-p", images["x"], "-o", out, *TINY)
    assert code == 1
    by_name = {Path(r["output"]).name: r for r in rows(out)}
    assert by_name["a__x.png"]["status"] == by_name["b__x.png"]["status"] == "finished"
    assert (
        by_name["broken__x.png"]["status"] == "failed" and "broken.png" in by_name["broken__x.png"]["reason"]
    )
    assert by_name["tiny__x.png"]["status"] == "failed" and by_name["tiny__x.png"]["reason"]
    assert (out / "a__x.png").is_file() and (out / "b__x.png").is_file()
    assert "2 failed" in stdout and json.loads((out / "batch.json").read_text())["ok"] is False


def test_csv_pairs_and_library_names(capsys, images, tmp_path) -> None:
    sheet = tmp_path / "pairs.csv"
    sheet.write_text("photos/a.png,movement:fauvism\nphotos/b.jpg,paintings/y.png,b-in-y.png\n")
    out = tmp_path / "out"
    code, _, err = batch(capsys, "--pairs", sheet, "-o", out, *TINY)
    assert code == 0, err
    assert (out / "a__movement-fauvism.png").is_file() and (out / "b-in-y.png").is_file()
    manifest = json.loads((out / "a__movement-fauvism.json").read_text())
    assert manifest["library"][0]["query"] == "movement:fauvism"
    assert (
        all("fauvism" in s["path"] or "matisse" in s["path"].lower() for s in manifest["inputs"]["styles"])
        or manifest["inputs"]["styles"]
    )


@pytest.mark.parametrize(
    "args",
    [
        ["PHOTOS", "-o", "OUT"],  # no paintings
        ["PHOTOS", "-p", "PAINTING", "--pairs", "x.csv", "-o", "OUT"],
        ["PHOTOS", "-p", "PAINTING", "-o", "OUT", "--strength", "0.5"],  # fast only
        ["PHOTOS", "-p", "PAINTING", "-o", "OUT", "--fast", "--iterations", "3"],  # optimiser only
        ["PHOTOS", "-p", "nowhere.png", "-o", "OUT"],
        ["PHOTOS", "-p", "PAINTING", "-o", "OUT", "--workers", "-1"],
    ],
)
def test_bad_usage_exits_2_with_one_line(capsys, images, tmp_path, args) -> None:
    swap = {"PHOTOS": tmp_path / "photos", "PAINTING": images["x"], "OUT": tmp_path / "out"}
    code, _, err = batch(capsys, *[swap.get(a, a) for a in args])
    assert code == 2 and err.strip().count("\n") == 0 and "error" in err


def test_an_interrupted_batch_keeps_finished_pairs_and_resumes_only_the_rest(
    capsys, images, tmp_path, monkeypatch
) -> None:
    out = tmp_path / "out"
    real = engine.compute_losses
    calls = {"n": 0}

    def ctrl_c_in_the_second_pair(*args, **kwargs):
        if (out / "a__x.png").exists():  # the first pair is done: Ctrl-C at the second's 5th loss
            calls["n"] += 1
            if calls["n"] == 5:
                raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "compute_losses", ctrl_c_in_the_second_pair)
    args = [
        images["a"],
        images["b"],
        "-p",
        images["x"],
        "-o",
        out,
        *TINY,
        "-n",
        "6",
        "--checkpoint-every",
        "2",
    ]
    code, _, err = batch(capsys, *args)
    assert code == 130, err
    status = {Path(r["output"]).name: r["status"] for r in rows(out)}
    assert status == {"a__x.png": "finished", "b__x.png": "interrupted"}
    assert (out / "a__x.png").is_file() and (out / "b__x.partial.png").is_file()
    kept = (out / "a__x.png").stat().st_mtime_ns

    monkeypatch.setattr(engine, "compute_losses", real)
    code, _, err = batch(capsys, *args)
    assert code == 0, err
    assert "1 to paint (1 resumed), 1 already done" in err
    summary = json.loads((out / "batch.json").read_text())
    by_name = {Path(r["output"]).name: r for r in summary["results"]}
    assert by_name["a__x.png"]["status"] == "skipped" and (out / "a__x.png").stat().st_mtime_ns == kept
    assert by_name["b__x.png"]["status"] == "finished" and by_name["b__x.png"]["resumed_from_step"] >= 2
    manifest = json.loads((out / "b__x.json").read_text())
    assert manifest["steps_done"] == 6 and manifest["resumed_from"]
    assert not (out / "b__x.partial.png").exists()


def test_ctrl_c_to_a_real_batch_process(images, tmp_path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "painterly",
        "batch",
        str(images["a"]),
        str(images["b"]),
        "-p",
        str(images["x"]),
    ]
    proc = subprocess.Popen(
        [*cmd, "-o", str(out), *TINY, "-n", "100000", "--checkpoint-every", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 90
    while not (out / "a__x.partial.png").exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    status = {Path(r["output"]).name: r["status"] for r in rows(out)}
    assert status == {"a__x.png": "interrupted", "b__x.png": "not run"}
    manifest = json.loads((out / "a__x.json").read_text())
    assert manifest["status"] == "interrupted" and (out / "a__x.partial.png").is_file()


def test_fast_mode_batch(capsys, images, tmp_path) -> None:
    pytest.importorskip("onnxruntime")
    out = tmp_path / "out"
    code, stdout, err = batch(
        capsys, images["a"], "-p", images["x"], images["y"], "-o", out, "--fast", "-s", "64", "-q"
    )
    assert code == 0, err
    assert json.loads((out / "a__y.json").read_text())["kind"] == "fast"
    assert [r["status"] for r in rows(out)] == ["finished", "finished"]
    code, stdout, _ = batch(
        capsys, images["a"], "-p", images["x"], images["y"], "-o", out, "--fast", "-s", "64", "-q"
    )
    assert code == 0 and "2 skipped" in stdout
