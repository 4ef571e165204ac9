"""The command line and the library under faults and bad input (issue #15, items 7–12):
a full disk costs side files, never the picture; --resume never writes over a stranger's
file; SIGTERM stops like Ctrl-C and the loss history survives a crash; Ctrl-C during
start-up is one line; hand-edited manifests and bad settings name the field; the Python
API takes arrays and tensors and refuses the rest with a message that says what it got."""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import painterly.records
import painterly.transfer as engine
from conftest import ctrl_c_after
from painterly import TransferConfig, stylize
from painterly.cli import run_command
from painterly.errors import ConfigError
from painterly.records import read_manifest

ROOT = Path(__file__).resolve().parents[1]
FAST = ["-s", "32", "-q", "--content-layers", "conv2_1", "--style-layers", "conv1_1,conv2_1"]


def cli(capsys, *args):
    code = run_command([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def steps_in_csv(path: Path) -> list[int]:
    with open(path, newline="") as handle:
        return [int(float(row["step"])) for row in csv.DictReader(handle)]


# --- 7. the picture before any side file; side files failing never cost it ------------------


def test_a_full_disk_for_side_files_keeps_the_picture(capsys, photo, painting, tmp_path, monkeypatch):
    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    # Manifest, loss CSV and loss plot all go through these; the picture does not.
    monkeypatch.setattr(painterly.records, "atomic_write_bytes", no_space)
    monkeypatch.setattr(painterly.records, "atomic_write_text", no_space)
    out = tmp_path / "out.png"
    code, stdout, err = cli(capsys, "run", photo, painting, "-o", out, "-n", "3", *FAST)
    assert code == 0, err
    assert Image.open(out).size == (32, 27)
    assert "wrote" in stdout
    assert err.count("No space left on device") == 3  # manifest, CSV, plot: one warning each
    assert not out.with_suffix(".json").exists() and not (tmp_path / "out.losses.png").exists()


def test_a_full_disk_for_checkpoints_does_not_end_the_run(capsys, photo, painting, tmp_path, monkeypatch):
    import painterly.runner as run_module  # the job (and its checkpoints) moved there, issue #12

    real_save = run_module.save_image

    def save_image(image, path, *args, **kwargs):
        if ".partial" in Path(path).name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(image, path, *args, **kwargs)

    monkeypatch.setattr(run_module, "save_image", save_image)
    out = tmp_path / "out.png"
    code, _, err = cli(capsys, "run", photo, painting, "-o", out, "-n", "6", "--checkpoint-every", "2", *FAST)
    assert code == 0 and out.is_file()
    assert err.count("could not write the checkpoint") == 1  # warned once, not every time
    assert read_manifest(out.with_suffix(".json"))["status"] == "finished"


# --- 8. --resume with a hand-edited manifest never replaces a stranger's file ----------------


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory) -> Path:
    """A run stopped after step 4 of 8 (checkpoint every 2), made once: its manifest path."""
    from conftest import make_image

    folder = tmp_path_factory.mktemp("stopped")
    photo = make_image(folder / "photo.png", (48, 40), seed=1)
    painting = make_image(folder / "painting.png", (40, 48), seed=2)
    calls = {"n": 0}
    real = engine.compute_losses

    def interrupt_at_five(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    out = folder / "run" / "out.png"
    out.parent.mkdir()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(io.StringIO()):
        patch.setattr(engine, "compute_losses", interrupt_at_five)
        code = run_command(
            [*map(str, ("run", photo, painting, "-o", out)), "-n", "8", "--checkpoint-every", "2", *FAST]
        )
    assert code == 130
    return out.with_suffix(".json")


@pytest.fixture
def interrupted_run(stopped_run: Path):
    """The stopped run's folder as it was, for one test (restored afterwards)."""
    folder = stopped_run.parent
    snapshot = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    yield stopped_run
    for path in folder.iterdir():
        if path.is_file():
            path.unlink()
    for name, data in snapshot.items():
        (folder / name).write_bytes(data)


def edit(manifest_path: Path, change) -> None:
    data = json.loads(manifest_path.read_text())
    change(data)
    manifest_path.write_text(json.dumps(data))


def test_resume_does_not_replace_an_unrelated_file(capsys, interrupted_run, tmp_path):
    victim = tmp_path / "holiday.png"
    Image.new("RGB", (20, 20), (1, 2, 3)).save(victim)
    before = victim.read_bytes()
    Image.new("RGB", (32, 27)).save(tmp_path / "holiday.partial.png")  # all it took
    edit(interrupted_run, lambda m: m.update(output=str(victim)))
    code, _, err = cli(capsys, "run", "--resume", interrupted_run)
    assert code == 2 and "output" in one_line(err) and "-o OUT" in err
    assert victim.read_bytes() == before


def test_resume_does_not_replace_an_existing_output_without_overwrite(capsys, interrupted_run):
    out = interrupted_run.with_suffix(".png")
    Image.new("RGB", (20, 20), (1, 2, 3)).save(out)  # the run never wrote it: someone else did
    before = out.read_bytes()
    code, _, err = cli(capsys, "run", "--resume", interrupted_run)
    assert code == 2 and "already exists" in one_line(err) and out.read_bytes() == before
    code, _, err = cli(capsys, "run", "--resume", interrupted_run, "--overwrite")
    assert code == 0, err
    assert Image.open(out).size == (32, 27)


# --- 9. SIGTERM stops cleanly; the loss history survives a crash and --resume -----------------


def test_sigterm_stops_like_ctrl_c_and_resume_keeps_the_loss_history(
    capsys, photo, painting, tmp_path, monkeypatch
):
    calls = {"n": 0}
    real = engine.compute_losses

    def sigterm_at_seven(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 7:
            os.kill(os.getpid(), signal.SIGTERM)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "compute_losses", sigterm_at_seven)
    terms: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: terms.append(signum))
    try:
        out = tmp_path / "o.png"
        code, stdout, err = cli(
            capsys, "run", photo, painting, "-o", out, "-n", "20", "--checkpoint-every", "5", *FAST
        )
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert not terms, "the CLI must install its own SIGTERM handler"
    assert code == 130 and "latest image saved" in stdout, err
    manifest = read_manifest(out.with_suffix(".json"))
    assert manifest["status"] == "interrupted" and manifest["steps_done"] == 6  # not the checkpoint's 5
    assert (tmp_path / "o.partial.png").is_file()
    assert steps_in_csv(tmp_path / "o.losses.csv") == list(range(1, 7))

    monkeypatch.setattr(engine, "compute_losses", real)
    code, _, err = cli(capsys, "run", "--resume", out.with_suffix(".json"), "-n", "9", "-q")
    assert code == 0, err
    assert steps_in_csv(tmp_path / "o.losses.csv") == list(range(1, 10))


class Crash(BaseException):
    """Stands in for SIGKILL or a power cut: nothing after it runs."""


def test_after_a_crash_resume_keeps_the_steps_before_it(capsys, photo, painting, tmp_path, monkeypatch):
    calls = {"n": 0}
    real = engine.compute_losses

    def crash_at_eight(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 8:
            raise Crash
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "compute_losses", crash_at_eight)
    out = tmp_path / "o.png"
    with pytest.raises(Crash):
        cli(capsys, "run", photo, painting, "-o", out, "-n", "9", "--checkpoint-every", "3", *FAST)
    manifest = read_manifest(out.with_suffix(".json"))
    assert manifest["status"] == "running" and manifest["steps_done"] == 6
    monkeypatch.setattr(engine, "compute_losses", real)
    code, _, err = cli(capsys, "run", "--resume", out.with_suffix(".json"), "-q")
    assert code == 0, err
    assert steps_in_csv(tmp_path / "o.losses.csv") == list(range(1, 10))


def test_sigterm_to_a_real_process(photo, painting, tmp_path):
    out = tmp_path / "o.png"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    args = [sys.executable, "-m", "painterly", "run", str(photo), str(painting), "-o", str(out)]
    proc = subprocess.Popen(
        [*args, "-n", "100000", "--checkpoint-every", "3", *FAST],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not out.with_suffix(".json").exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "latest image saved" in stdout
    manifest = read_manifest(out.with_suffix(".json"))
    assert manifest["status"] == "interrupted" and manifest["steps_done"] >= 3
    assert steps_in_csv(tmp_path / "o.losses.csv") == list(range(1, manifest["steps_done"] + 1))


# --- 10. Ctrl-C during start-up: one line, no traceback ---------------------------------------

STARTUP_CTRL_C = textwrap.dedent(
    """
    import sys

    class CtrlCWhileTorchImports:
        def find_spec(self, name, path=None, target=None):
            if name == "torch":
                raise KeyboardInterrupt
            return None

    sys.meta_path.insert(0, CtrlCWhileTorchImports())
    from painterly.cli import main
    main()
    """
)


def test_ctrl_c_during_start_up_is_one_line(photo, painting, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    args = ["run", str(photo), str(painting), "-o", str(tmp_path / "o.png")]
    proc = subprocess.run(
        [sys.executable, "-c", STARTUP_CTRL_C, *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 130
    assert proc.stderr.strip() == "painterly: interrupted", proc.stderr


@pytest.mark.parametrize("delay", [0.5, 1.0, 1.6, 2.5])
def test_a_real_ctrl_c_early_in_start_up(photo, painting, tmp_path, delay):
    """Wherever a Ctrl-C lands (imports, torch's import, weights, the optimiser's first
    construction, the first steps): one line and exit 130. A Ctrl-C inside torch's import
    once made `python -m` die by SIGINT after printing the line (CPython's flag)."""
    args = ["run", str(photo), str(painting), "-o", str(tmp_path / "o.png"), "-n", "100000", *FAST]
    returncode, stderr = ctrl_c_after(args, delay)
    assert returncode == 130 and "Traceback" not in stderr and len(stderr.strip().splitlines()) <= 1, stderr


def test_importing_the_cli_does_not_import_torch():
    code = "import sys, painterly.cli, painterly; print('torch' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr


# --- 11. one validation layer: bad manifests and settings name the field, exit 2 --------------

BAD_MANIFESTS = [
    (lambda m: m["config"].update(init=3), "config.init"),
    (lambda m: m.update(inputs={}), "inputs.content: missing"),
    (lambda m: m["inputs"].update(styles=[]), "inputs.styles: must not be empty"),
    (lambda m: m.update(config="fast please"), "config: expected an object"),
    (lambda m: m.update(seed="abc"), "seed: expected a number"),
    (lambda m: m["config"].update(seed="abc"), "config.seed: expected a number"),
    (lambda m: m["config"].update(iterations=1.5), "config.iterations: expected a whole number"),
    (lambda m: m.update(steps_done="abc"), "steps_done: expected a number"),
    (lambda m: m["config"].update(size="abc"), "config.size: expected a number"),
    (lambda m: m["inputs"]["styles"][0].update(path="/nonexistent/deleted.png"), "deleted.png: no such file"),
    (lambda m: m.update(output=None), "output: missing"),
]


@pytest.mark.parametrize(("change", "words"), BAD_MANIFESTS)
def test_bad_manifests_name_the_field(capsys, interrupted_run, change, words):
    edit(interrupted_run, change)
    code, _, err = cli(capsys, "run", "--resume", interrupted_run)
    line = one_line(err)
    assert code == 2 and words in line, line


def test_a_deleted_latest_image_and_a_manifest_without_output(capsys, interrupted_run, tmp_path):
    interrupted_run.with_name("out.partial.png").unlink()
    code, _, err = cli(capsys, "run", "--resume", interrupted_run)
    assert code == 2 and "latest image" in one_line(err)
    edit(interrupted_run, lambda m: m.pop("output"))
    code, _, err = cli(capsys, "progression", interrupted_run, "-o", tmp_path / "v.gif")
    assert code == 2 and "output: missing" in one_line(err)


def test_a_seed_over_64_bits_names_the_seed(capsys, photo, painting, tmp_path):
    code, _, err = cli(
        capsys, "run", photo, painting, "-o", tmp_path / "o.png", "--seed", "100000000000000000000000"
    )
    assert code == 2 and "seed" in one_line(err)


# --- 12. the Python API: what users pass is taken, the rest refused with what it got ----------


@pytest.fixture
def quick(tiny_net):
    config = TransferConfig(size=32, iterations=1, content_layers=("conv2_1",), style_layers=("conv1_1",))
    return lambda content, style, cfg=config: stylize(content, style, cfg, network=tiny_net)


def test_the_api_takes_paths_images_arrays_and_tensors(quick, photo, painting):
    expected = np.asarray(quick(photo, painting).image)
    pil = Image.open(photo).convert("RGB")
    u8 = np.asarray(pil)
    f32 = u8.astype(np.float32) / 255
    chw = torch.from_numpy(f32).permute(2, 0, 1)
    for source in (pil, u8, f32, f32.astype(np.float64), chw, chw[None]):
        got = np.asarray(quick(source, painting).image)
        assert np.abs(got.astype(int) - expected).max() <= 1, type(source)
    assert quick(u8, [np.asarray(Image.open(painting).convert("RGB"))]).status == "finished"
    as_dict = quick(
        photo,
        painting,
        {"size": 32, "iterations": 1, "content_layers": ["conv2_1"], "style_layers": ["conv1_1"]},
    )
    assert np.array_equal(np.asarray(as_dict.image), expected)


@pytest.mark.parametrize(
    ("content", "error", "words"),
    [
        (None, TypeError, "got NoneType"),
        (42, TypeError, "got int"),
        (np.zeros((0, 0, 3), np.uint8), ValueError, "empty"),
        (Image.new("RGB", (0, 0)), ValueError, "empty"),
        (np.full((32, 32, 3), np.nan, np.float32), ValueError, "NaN"),
        (Image.fromarray(np.full((32, 32), np.nan, np.float32), "F"), ValueError, "NaN"),
        (np.full((32, 32, 3), 200.0), ValueError, "expected 0-1"),
        (np.zeros((32, 32, 3), np.int64), TypeError, "dtype int64"),
        (np.zeros((3, 32, 32), np.uint8), ValueError, "channels last"),
        (torch.zeros(2, 3, 32, 32), ValueError, "pass one"),
        (torch.zeros(3, 32, 32, dtype=torch.uint8), TypeError, "float tensor"),
    ],
)
def test_the_api_refuses_the_rest_saying_what_it_got(quick, painting, content, error, words):
    with pytest.raises(error, match=words) as info:
        quick(content, painting)
    assert "content" in str(info.value)


def test_the_api_refuses_bad_configs_and_styles(quick, photo, painting):
    with pytest.raises(TypeError, match="config: expected a TransferConfig"):
        quick(photo, painting, [1])
    with pytest.raises(TypeError, match="styles"):
        quick(photo, None)
    with pytest.raises(ConfigError, match="iterations: expected a whole number"):
        TransferConfig(iterations=2.5)
    with pytest.raises(ConfigError, match="seed must fit in 64 bits"):
        TransferConfig(seed=2**70)
    with pytest.raises(ConfigError, match="seed"):
        TransferConfig(seed="7")
    assert TransferConfig(seed=2**64 - 1).seed == 2**64 - 1


def test_ctrl_c_wrapped_by_a_library_still_reads_as_interrupted():
    """pydantic building a schema when Ctrl-C lands re-raises it as SchemaError."""
    from painterly.cli.signals import caused_by_interrupt

    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as inner:
            raise RuntimeError("Error building validator") from inner
    except RuntimeError as outer:
        assert caused_by_interrupt(outer)
    assert not caused_by_interrupt(ValueError("plain bug"))


def test_ctrl_c_inside_an_optional_import_is_a_stop_not_a_missing_package(monkeypatch):
    """onnxruntime's import turns a Ctrl-C into an ImportError; fast mode once reported it
    as "fast mode needs onnxruntime" and the batch went on to the next pair."""
    import importlib

    from painterly.errors import MissingDependencyError, import_optional

    def interrupted(name):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as inner:
            raise ImportError(f"{name}: DLL load failed") from inner

    monkeypatch.setattr(importlib, "import_module", interrupted)
    with pytest.raises(KeyboardInterrupt):
        import_optional("onnxruntime", "fast mode needs onnxruntime")
    monkeypatch.setattr(importlib, "import_module", lambda name: (_ for _ in ()).throw(ImportError(name)))
    with pytest.raises(MissingDependencyError, match="fast mode needs onnxruntime"):
        import_optional("onnxruntime", "fast mode needs onnxruntime")
