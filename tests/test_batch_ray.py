"""The Ray backend of `painterly batch` (issue #12), on one local cluster shared by the module
(``ray.init(num_cpus=2)``): same outputs as a local run, and a killed worker's pair retried."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from PIL import Image

from conftest import make_image
from painterly.cli import run_command

ray = pytest.importorskip("ray")  # the [cluster] extra (part of [all], which CI installs)

ROOT = Path(__file__).resolve().parents[1]
TINY = ["-s", "32", "-n", "4", "-q", "--content-layers", "conv2_1", "--style-layers", "conv1_1,conv2_1"]


@pytest.fixture(scope="module")
def cluster():
    """One local Ray cluster for the module; its workers import this checkout's painterly."""
    env = {
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",
    }
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def pairs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("ray-batch")
    (folder / "photos").mkdir()
    make_image(folder / "photos" / "a.png", (40, 32), seed=1)
    make_image(folder / "photos" / "b.png", (32, 40), seed=2)
    return {"photos": folder / "photos", "x": make_image(folder / "x.png", (36, 36), seed=3), "root": folder}


def pictures(out: Path) -> dict[str, bytes]:
    """Each picture's pixels (not the file's bytes: the sRGB profile written with it carries
    its creation time)."""
    return {
        p.name: Image.open(p).convert("RGB").tobytes()
        for p in sorted(out.glob("*__*.png"))
        if "." not in p.stem
    }


def test_ray_and_local_give_identical_outputs_manifests_and_summary(cluster, pairs, capsys) -> None:
    root = pairs["root"]
    args = ["batch", str(pairs["photos"]), "-p", str(pairs["x"]), *TINY, "--threads", "1"]
    assert run_command([*args, "-o", str(root / "local")]) == 0
    assert run_command([*args, "-o", str(root / "ray"), "--ray", "--workers", "2"]) == 0
    capsys.readouterr()
    local, on_ray = pictures(root / "local"), pictures(root / "ray")
    assert list(local) == ["a__x.png", "b__x.png"] and local == on_ray
    summary = json.loads((root / "ray" / "batch.json").read_text())
    assert summary["backend"].startswith("ray") and summary["counts"] == {"finished": 2}
    assert {r["worker"].startswith("ray-actor") for r in summary["results"]} == {True}
    a_local = json.loads((root / "local" / "a__x.json").read_text())
    a_ray = json.loads((root / "ray" / "a__x.json").read_text())
    assert a_ray["status"] == "finished" and a_ray["batch"]["key"] == a_local["batch"]["key"]
    losses = [{k: v for k, v in m["final_losses"].items() if k != "elapsed"} for m in (a_ray, a_local)]
    assert losses[0] == losses[1]
    # The Ray run's outputs count as done for a local re-run (same settings, same inputs).
    code = run_command([*args, "-o", str(root / "ray")])
    assert code == 0 and "2 skipped" in capsys.readouterr().out


def test_a_killed_worker_s_pair_is_retried_and_the_batch_finishes(cluster, pairs, tmp_path) -> None:
    from painterly.batch import plan_batch
    from painterly.batch.cluster import run_ray
    from painterly.config import TransferConfig

    config = TransferConfig(
        size=32, iterations=4, content_layers=("conv2_1",), style_layers=("conv1_1", "conv2_1")
    )
    photos = sorted(str(p) for p in pairs["photos"].iterdir())
    plan = plan_batch([(p, str(pairs["x"]), "") for p in photos], tmp_path / "out", "optimise", config)
    killed: list[int] = []

    def kill_the_first(index: int, pid: int) -> None:
        if not killed:  # the actor's process dies while it runs its first pair
            killed.append(pid)
            os.kill(pid, signal.SIGKILL)

    records = run_ray(
        plan.to_run, 1, 1, lambda *a: None, lambda r: None, retries=2, on_started=kill_the_first
    )
    assert killed
    assert sorted(r["status"] for r in records) == ["finished", "finished"]
    assert max(r["attempts"] for r in records) == 2
    assert all(Path(r["output"]).is_file() for r in records)
