"""The estimate before the work and the time left while it runs (issues #12, #18)."""

from __future__ import annotations

from pathlib import Path

import pytest

import painterly.cli as cli
from conftest import make_image
from painterly import estimate
from painterly.config import TransferConfig
from painterly.events import Progress
from painterly.transfer import stylize


def test_memory_model_grows_with_pixels_and_steps_and_tiles_cap_it() -> None:
    config = TransferConfig(size=2048)
    small = estimate.scale_peak_bytes(config, (512, 341), [(512, 400)], 512, 30, 0)
    large = estimate.scale_peak_bytes(config, (2048, 1365), [(512, 400)], 2048, 30, 0)
    # fewer steps than L-BFGS's history holds: fewer pairs are kept
    shorter = estimate.scale_peak_bytes(config, (2048, 1365), [(512, 400)], 2048, 10, 0)
    tiled = estimate.scale_peak_bytes(config, (2048, 1365), [(512, 400)], 2048, 30, 512)
    assert shorter < large and small < large and tiled < large / 3
    # Within the measured points it was fitted to (peak RSS, 2 steps): 512×341 px ~1003 MiB.
    assert estimate.scale_peak_bytes(config, (512, 341), [(512, 400)], 512, 2, 0) / 2**20 == pytest.approx(
        1003, rel=0.1
    )


def test_estimate_refuses_what_cannot_fit_even_in_tiles(photo: Path, painting: Path) -> None:
    config = TransferConfig(size=4096, max_memory=0.5, iterations=3)
    result = estimate.estimate_run(photo, painting, config, calibrate_time=False)
    assert not result.fits and "smaller --size" in result.refusal
    with pytest.raises(estimate.MemoryError_):
        result.check()
    assert estimate.estimate_run(photo, painting, TransferConfig(size=64), calibrate_time=False).fits


def test_cli_refuses_an_impossible_size_with_exit_2(
    tmp_path: Path, photo: Path, painting: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.png"
    code = cli.main(
        ["run", str(photo), str(painting), "-o", str(out), "-s", "4096", "--max-memory", "0.5", "-q"]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and not out.exists()
    assert len(err) == 1 and "--size" in err[0] and "GiB" in err[0]


def test_cli_refuses_a_tile_too_large_for_the_budget(
    tmp_path: Path, photo: Path, painting: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["run", str(photo), str(painting), "-o", str(tmp_path / "o.png"), "-s", "4096", "--tile", "4096"]
    assert cli.main([*args, "--max-memory", "2", "-q"]) == 2
    assert "smaller --tile" in capsys.readouterr().err


def test_cli_estimate_prints_and_exits_0(
    tmp_path: Path, photo: Path, painting: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.png"
    code = cli.main(["run", str(photo), str(painting), "-o", str(out), "-s", "64", "-n", "5", "--estimate"])
    printed = capsys.readouterr().out
    assert code == 0 and not out.exists()
    assert printed.startswith("estimate: peak memory ~") and "GiB" in printed and "time ~" in printed
    assert "uncalibrated" not in printed


def test_schedule_clock_prices_later_scales_by_their_pixels() -> None:
    # Two scales of 10 steps: 1e4 px then 4e4 px; no fixed cost. Half of the first done in 5 s:
    # 1 s a step there, so 4 s a step at four times the pixels, and the second scale's start
    # costs SCALE_START_STEPS of a step more.
    clock = estimate.ScheduleClock([(1e4, 10), (4e4, 10)], overhead_px=0)
    start = estimate.SCALE_START_STEPS
    assert clock.seconds_left(0, 0.5, 5.0) == pytest.approx(5 * 1 + (10 + start) * 4)
    # The mean step so far would have said 15 steps × 1 s.
    event = Progress(step=5, total_steps=20, losses={}, elapsed=5.0)
    assert event.seconds_left == pytest.approx(15.0)
    assert Progress(step=5, total_steps=20, losses={}, elapsed=5.0, eta=45.0).seconds_left == 45.0
    # With two scales measured, the fixed cost per step is fitted: t = 1 + 1e-4·px.
    clock = estimate.ScheduleClock([(1e4, 10), (2e4, 10), (4e4, 10)])
    clock.seconds_left(0, 1.0, 10 * 2.0)
    assert clock.seconds_left(1, 0.5, 5 * 3.0) == pytest.approx(5 * 3 + (10 + start) * 5)


def test_engine_gives_the_time_left_from_the_schedule(tmp_path: Path, tiny_net) -> None:
    photo = make_image(tmp_path / "p.png", (96, 64))
    painting = make_image(tmp_path / "s.png", (64, 64), seed=2)
    events: list[Progress] = []
    config = TransferConfig(size=96, scales=(48,), scale_iterations=(3, 3), cache=False)
    stylize(photo, painting, config, events.append, network=tiny_net)
    assert all(e.eta is not None for e in events)
    assert events[-1].seconds_left == 0
    assert [round(e.scale_done, 2) for e in events] == [0.33, 0.67, 1.0, 0.33, 0.67, 1.0]


def test_a_long_run_announces_its_estimate_first(
    tmp_path: Path,
    photo: Path,
    painting: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from painterly.cli import estimate_io

    monkeypatch.setattr(estimate_io, "LONG_RUN_SECONDS", 0.0)  # every run counts as long here
    out = tmp_path / "out.png"
    assert cli.main(["run", str(photo), str(painting), "-o", str(out), "-s", "48", "-n", "2"]) == 0
    err = capsys.readouterr().err
    assert "painterly: estimate: peak memory ~" in err and out.exists()
