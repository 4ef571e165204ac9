"""Shared fixtures: tiny images made on the fly, the bundled examples, a tiny random VGG."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from painterly.backbones import VGG19Features, random_vgg19_weights

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def loaded_bench(name: str):
    """bench/<name>.py as a module for a module-scoped fixture (the benchmarks are scripts,
    not a package); it leaves sys.modules when the fixture ends."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def ctrl_c_after(args: list[str], delay: float) -> tuple[int, str]:
    """Start `python -m painterly ARGS` (one torch thread), press Ctrl-C after ``delay``
    seconds and return its exit code and stderr: start-up must stop in one line."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "painterly", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    return proc.returncode, stderr


def paint_recording(monkeypatch, capsys, read, photo: Path, painting: Path, out: Path, *flags: str) -> list:
    """``painterly run photo painting -o out -s 48 -n 2 -q FLAGS`` in this process, with
    ``read(network, targets)`` of every evaluation the run makes: what each step saw. A
    failed run fails the test with the run's own error line."""
    import painterly.transfer as engine
    from painterly.cli import run_command

    seen: list = []
    real = engine.compute_losses

    def recording(network, image, targets, config):
        seen.append(read(network, targets))
        return real(network, image, targets, config)

    monkeypatch.setattr(engine, "compute_losses", recording)
    code = run_command(
        ["run", str(photo), str(painting), "-o", str(out), "-s", "48", "-n", "2", "-q", *flags]
    )
    assert code == 0, capsys.readouterr().err
    return seen


def make_image(path: Path, size: tuple[int, int] = (48, 40), seed: int = 0, mode: str = "RGB") -> Path:
    """A smooth random picture (gradients plus blobs) saved to ``path``."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w] / max(w, h)
    channels = [
        np.sin(xx * rng.uniform(3, 9) + rng.uniform(0, 6)) * np.cos(yy * rng.uniform(3, 9)) for _ in range(3)
    ]
    arr = ((np.stack(channels, -1) * 0.5 + 0.5) * 255).astype(np.uint8)
    Image.fromarray(arr, "RGB").convert(mode).save(path)
    return path


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """Tests use tiny images, where a second thread buys nothing, and on a machine whose cores
    are busy, OpenMP threads that wait for each other make steps many times slower."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session", autouse=True)
def private_user_dirs(tmp_path_factory: pytest.TempPathFactory):
    """No test reads or writes the real user's data or cache folder (imported styles, weights, caches)."""
    import os

    from painterly import paths

    saved = {name: os.environ.get(name) for name in (paths.DATA_ENV, paths.CACHE_ENV)}
    os.environ[paths.DATA_ENV] = str(tmp_path_factory.mktemp("user-data"))
    os.environ[paths.CACHE_ENV] = str(tmp_path_factory.mktemp("user-cache"))
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    return make_image(tmp_path / "photo.png", (48, 40), seed=1)


@pytest.fixture
def painting(tmp_path: Path) -> Path:
    return make_image(tmp_path / "painting.png", (40, 48), seed=2)


@pytest.fixture(scope="session")
def example_content() -> Path:
    return EXAMPLES / "content" / "chelsea.jpg"


@pytest.fixture(scope="session")
def example_style() -> Path:
    return EXAMPLES / "styles" / "starry_night.jpg"


@pytest.fixture
def tiny_net() -> VGG19Features:
    """A small random VGG19 (1/8 of the channels): the shape of the real one, a fraction of its cost."""
    return VGG19Features(random_vgg19_weights(torch.Generator().manual_seed(0)), pooling="avg")
