"""The command line: every error path gives one line and exit code 2; nothing is lost."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import painterly.transfer as engine
from painterly.cli import run_command
from painterly.records import read_manifest

QUICK = ["-s", "32", "-n", "3", "-q"]


def _truncated_jpeg() -> bytes:
    import io

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 200, 30)).save(buffer, "JPEG")
    return buffer.getvalue()[:300]


TRUNCATED_JPEG = _truncated_jpeg()


def cli(capsys, *args):
    code = run_command([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *fragments):
    assert code == 2
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1, err
    assert lines[0].startswith("painterly") and "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


def test_run_writes_output_manifest_and_history(capsys, photo, painting, tmp_path):
    out = tmp_path / "out.png"
    code, stdout, _ = cli(
        capsys, "run", photo, painting, "-o", out, "-s", "32", "-n", "4", "--save-every", "2"
    )
    assert code == 0 and "wrote" in stdout
    assert Image.open(out).size == (32, 27)
    manifest = json.loads(out.with_suffix(".json").read_text())
    assert manifest["status"] == "finished" and manifest["steps_done"] == 4
    assert manifest["config"]["size"] == 32 and manifest["seed"] == 0
    assert manifest["inputs"]["content"]["sha256"] and manifest["versions"]["torch"]
    assert {"optimise", "total", "load_network"} <= set(manifest["timings"])
    assert "total" in manifest["final_losses"]
    assert (tmp_path / "out.losses.csv").read_text().startswith("step,scale,elapsed")
    assert (tmp_path / "out.losses.png").is_file()
    assert sorted(p.name for p in (tmp_path / "out.steps").iterdir()) == ["step_00002.png", "step_00004.png"]
    assert not (tmp_path / "out.partial.png").exists()


def test_progress_bar_shows_losses(capsys, photo, painting, tmp_path):
    code, _, err = cli(capsys, "run", photo, painting, "-o", tmp_path / "o.png", "-s", "32", "-n", "2")
    assert code == 0 and "painting" in err and "style=" in err and "total=" in err


@pytest.mark.parametrize(
    "make, fragment",
    [
        (lambda p: None, "no such file"),
        (lambda p: p.write_bytes(b""), "file is empty"),
        (lambda p: p.write_bytes(TRUNCATED_JPEG), "corrupt"),
        (lambda p: p.write_text("plain text"), "not an image"),
    ],
)
def test_bad_input_files(capsys, painting, tmp_path, make, fragment):
    bad = tmp_path / "bad.gif"
    make(bad)
    code, _, err = cli(capsys, "run", bad, painting, "-o", tmp_path / "o.png", *QUICK)
    assert_one_line_error(code, err, "bad.gif", fragment)
    code, _, err = cli(capsys, "run", painting, bad, "-o", tmp_path / "o.png", *QUICK)
    assert_one_line_error(code, err, "bad.gif")


@pytest.mark.parametrize("mode", ["CMYK", "L", "P", "RGBA", "LA", "I;16"])
def test_unusual_image_modes_are_accepted(capsys, painting, tmp_path, mode):
    src = tmp_path / ("in.tif" if mode == "CMYK" else "in.png")
    if mode == "I;16":
        Image.fromarray((np.arange(40 * 48).reshape(40, 48) * 20).astype(np.uint16)).save(src)
    else:
        Image.open(painting).convert(mode).save(src)
    code, _, err = cli(capsys, "run", src, painting, "-o", tmp_path / "o.png", *QUICK)
    assert code == 0, err


@pytest.mark.parametrize(
    "flags, fragment",
    [
        (["--content-layers", "conv9_9"], "unknown layer 'conv9_9'"),
        (["--style-layers", "relu1_1,pool7"], "unknown layer 'pool7'"),
        (["--size", "0"], "size must be between"),
        (["--size", "100000"], "size must be between"),
        (["--style-weight", "nan"], "not a finite number"),
        (["--iterations", "-5"], "iterations"),
        (["--lr", "abc"], "not a valid float"),
        (["--style-layer-weights", "1,x"], "not a comma list"),
        (["--style-layer-weights", "1,2"], "2 weights for 5 layers"),
        (["--activation", "gelu"], "unknown activation"),
        (["--pooling", "median"], "invalid choice"),
        (["--save-every", "-1"], "must be ≥ 0"),
    ],
)
def test_bad_settings(capsys, photo, painting, tmp_path, flags, fragment):
    code, _, err = cli(capsys, "run", photo, painting, "-o", tmp_path / "o.png", *QUICK, *flags)
    assert_one_line_error(code, err, fragment)
    assert not (tmp_path / "o.png").exists()


def test_outputs_never_overwrite(capsys, photo, painting, tmp_path):
    out = tmp_path / "o.png"
    out.write_bytes(b"keep me")
    code, _, err = cli(capsys, "run", photo, painting, "-o", out, *QUICK)
    assert_one_line_error(code, err, "already exists", "--overwrite")
    assert out.read_bytes() == b"keep me"
    before = photo.read_bytes()
    code, _, err = cli(capsys, "run", photo, painting, "-o", photo, "--overwrite", *QUICK)
    assert_one_line_error(code, err, "is an input")
    assert photo.read_bytes() == before
    code, _, err = cli(capsys, "run", photo, painting, "-o", tmp_path / "o.xyz", *QUICK)
    assert_one_line_error(code, err, "unknown image format")
    code, _, err = cli(capsys, "run", photo, painting, "-o", tmp_path / "no" / "o.png", *QUICK)
    assert_one_line_error(code, err, "does not exist")
    assert cli(capsys, "run", photo, painting, "-o", out, "--overwrite", *QUICK)[0] == 0


def test_missing_arguments(capsys, photo, tmp_path):
    assert_one_line_error(
        *cli(capsys, "run", photo, "-o", tmp_path / "o.png")[::2], "content image and at least one style"
    )
    assert_one_line_error(*cli(capsys, "run", photo, photo)[::2], "-o OUT")


def test_ctrl_c_keeps_latest_image_and_resume_finishes(capsys, photo, painting, tmp_path, monkeypatch):
    calls = {"n": 0}
    real = engine.compute_losses

    def interrupt_at_six(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "compute_losses", interrupt_at_six)
    out = tmp_path / "o.png"
    code, stdout, _ = cli(
        capsys, "run", photo, painting, "-o", out, "-s", "32", "-n", "10", "-q", "--checkpoint-every", "2"
    )
    assert code == 130
    assert "latest image saved" in stdout and "--resume" in stdout
    partial = tmp_path / "o.partial.png"
    assert partial.is_file() and not out.exists()
    manifest = read_manifest(out.with_suffix(".json"))
    assert manifest["status"] == "interrupted" and manifest["steps_done"] == 5

    monkeypatch.setattr(engine, "compute_losses", real)
    code, stdout, _ = cli(capsys, "run", "--resume", out.with_suffix(".json"), "-q")
    assert code == 0, stdout
    assert out.is_file() and not partial.exists()
    manifest = read_manifest(out.with_suffix(".json"))
    assert manifest["status"] == "finished" and manifest["steps_done"] == 10
    assert manifest["config"]["iterations"] == 10 and manifest["config"]["init"] == "content"
    rows = (tmp_path / "o.losses.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 10
    code, _, err = cli(capsys, "run", "--resume", out.with_suffix(".json"))
    assert_one_line_error(code, err, "already finished")


def test_nan_loss_writes_last_good_image_and_fails(capsys, photo, painting, tmp_path, monkeypatch):
    real = engine.compute_losses
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        calls["n"] += 1
        parts = real(*args, **kwargs)
        return {k: v * float("nan") for k, v in parts.items()} if calls["n"] > 3 else parts

    monkeypatch.setattr(engine, "compute_losses", poisoned)
    out = tmp_path / "o.png"
    code, stdout, _ = cli(
        capsys, "run", photo, painting, "-o", out, "-s", "32", "-n", "20", "-q", "--max-restarts", "2"
    )
    assert code == 1 and "diverg" in stdout
    arr = np.asarray(Image.open(tmp_path / "o.partial.png"))
    assert arr.shape == (27, 32, 3) and not out.exists()


def test_layers_lists_taps(capsys):
    code, out, _ = cli(capsys, "layers")
    assert code == 0 and "conv4_2" in out and "relu5_4" in out and "pool5" in out


def test_help_explains_every_knob(capsys):
    code, out, _ = cli(capsys, "run", "--help")
    assert code == 0
    for flag in [
        "--content-layers",
        "--style-layer-weights",
        "--pooling",
        "--activation",
        "--loss",
        "--optimizer",
        "--lr",
        "--iterations",
        "--init",
        "--seed",
        "--size",
        "--style-scale",
        "--style-blend-weights",
        "--tv-weight",
        "--device",
        "--save-every",
        "--from-manifest",
    ]:
        assert flag in out


def test_real_process_exit_code_and_no_traceback(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "painterly",
            "run",
            str(tmp_path / "none.jpg"),
            str(tmp_path / "x.jpg"),
            "-o",
            str(tmp_path / "o.png"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"painterly: error: {tmp_path / 'none.jpg'}: no such file"
