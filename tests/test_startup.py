"""Start-up (issue #16): `import painterly`, `painterly --help`, the light commands and a
whole `painterly fast` run never import torch. Each check runs a fresh interpreter with
``-X importtime``, which lists every module the process imported, so a new command
whose module imports torch (or numpy, onnxruntime) at the top fails here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import painterly
from conftest import ctrl_c_after, make_image
from painterly.cli import COMMAND_MODULES

SRC = Path(painterly.__file__).resolve().parents[1]
#: What the light commands must not import; fast mode may use onnxruntime but not torch.
HEAVY = ("torch", "onnxruntime", "onnx", "cv2", "ray", "matplotlib", "tqdm", "fastapi", "pydantic")


def imported_modules(*args: str, code: str | None = None, cwd: Path | None = None) -> set[str]:
    """Top-level names of every module a fresh `python -X importtime` process imported."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-X", "importtime", *(["-c", code] if code else ["-m", "painterly", *args])]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name != "package":  # the header line
                names.add(name.split(".")[0])
    assert "painterly" in names  # the listing worked
    return names


@pytest.mark.parametrize(
    "args",
    [("--help",), ("fast", "--help"), ("run", "--help"), ("layers",), ("--version",)],
    ids=["help", "fast-help", "run-help", "layers", "version"],
)
def test_light_commands_import_no_heavy_library(args: tuple[str, ...]) -> None:
    heavy = imported_modules(*args) & set(HEAVY)
    assert not heavy, f"`painterly {' '.join(args)}` imported {sorted(heavy)}"


@pytest.mark.parametrize("command", [c for c in COMMAND_MODULES if c not in ("fast", "run")])
def test_every_commands_help_answers_without_torch(command: str) -> None:
    """Each subcommand's --help works (argparse formats help strings: a stray % broke one)
    and imports none of the heavy libraries."""
    heavy = imported_modules(command, "--help") & {"torch", "cv2", "ray", "onnxruntime"}
    assert not heavy, f"`painterly {command} --help` imported {sorted(heavy)}"


def test_listing_the_style_library_needs_no_torch() -> None:
    assert "torch" not in imported_modules("styles", "list")


def test_import_painterly_is_light_and_names_resolve_lazily() -> None:
    code = (
        "import sys, painterly; assert 'torch' not in sys.modules, 'import painterly imported torch';"
        "painterly.FastConfig(); assert 'torch' not in sys.modules;"
        "from painterly import stylize; assert 'torch' in sys.modules and callable(stylize)"
    )
    assert "torch" in imported_modules(code=code)  # only after stylize was asked for
    assert "stylize" in dir(painterly) and set(painterly.__all__) <= set(dir(painterly))
    with pytest.raises(AttributeError, match="no_such_name"):
        painterly.no_such_name  # noqa: B018


def test_a_whole_fast_run_never_imports_torch(tmp_path: Path, painting: Path) -> None:
    pytest.importorskip("onnxruntime")
    photo = make_image(tmp_path / "photo.png", (72, 56), seed=4)
    out = tmp_path / "out.png"
    # A colour option too: fast mode has numpy twins of painterly.color.
    for colours in ("none", "histogram"):
        names = imported_modules(
            "fast", str(photo), str(painting), "-o", str(out), "--overwrite", "--preserve-colors", colours
        )
        assert not names & {"torch", "pydantic"}, f"fast --preserve-colors {colours}: {sorted(names)}"
        # the first run rewrites the Magenta graph with onnx and caches it; later ones read the cache
        assert colours == "none" or "onnx" not in names
        assert out.is_file() and out.with_suffix(".json").is_file()


def test_the_web_app_module_imports_torch_only_when_a_job_runs() -> None:
    pytest.importorskip("fastapi")
    code = "import sys, painterly.web.app, painterly.web.jobs; assert 'torch' not in sys.modules"
    assert "torch" not in imported_modules(code=code)


def test_batch_fast_never_imports_torch(tmp_path: Path, painting: Path) -> None:
    """`batch --fast` chooses its preload from the parsed flags: fast mode never needs torch
    (it used to preload it, 1.6 s), while `batch` without --fast still preloads it."""
    pytest.importorskip("onnxruntime")
    photo = make_image(tmp_path / "photo.png", (64, 48), seed=5)
    out = tmp_path / "out"
    names = imported_modules("batch", str(photo), "-p", str(painting), "-o", str(out), "--fast", "-q")
    assert "torch" not in names, sorted(names)
    assert len(list(out.glob("photo__*.png"))) == 1 and (out / "batch.json").is_file()

    from painterly.cli import build_parser

    parser = build_parser()
    for flags, wanted in (([], ("torch",)), (["--fast"], ())):
        args = parser.parse_args(["batch", str(photo), "-p", str(painting), "-o", str(out), *flags])
        assert args.preload(args) == wanted


@pytest.mark.parametrize("delay", [0.3, 0.9])
def test_ctrl_c_early_in_batch_fast_is_one_line(tmp_path: Path, painting: Path, delay: float) -> None:
    """Without the torch preload, a Ctrl-C during batch --fast's start-up (imports,
    onnxruntime, the first pair) still ends with one "interrupted" line and exit 130 (or the
    batch ends), never a traceback."""
    pytest.importorskip("onnxruntime")
    photos = [make_image(tmp_path / f"photo{i}.png", (64, 48), seed=i) for i in range(3)]
    args = ["batch", *map(str, photos), "-p", str(painting), "-o", str(tmp_path / "out"), "--fast", "-q"]
    returncode, stderr = ctrl_c_after(args, delay)
    assert returncode in (0, 130) and "Traceback" not in stderr and "internal error" not in stderr, stderr
    if returncode == 130:  # batch's own plan line may come first; the stop is one line
        assert stderr.strip().splitlines()[-1].startswith("painterly: interrupted"), stderr
