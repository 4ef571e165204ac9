import pytest
import torch

import painterly.transfer as engine
from painterly import ConfigError, Stop, TransferConfig, stylize

FAST = {"size": 32, "iterations": 6, "style_weight": 1e2}


def run(photo, painting, tiny_net, callback=None, **changes):
    return stylize(photo, painting, TransferConfig(**{**FAST, **changes}), callback, network=tiny_net)


def test_same_seed_same_picture_and_other_seed_differs(photo, painting, tiny_net):
    a = run(photo, painting, tiny_net, init="noise", seed=3)
    b = run(photo, painting, tiny_net, init="noise", seed=3)
    c = run(photo, painting, tiny_net, init="noise", seed=4)
    assert torch.equal(a.tensor, b.tensor)
    assert not torch.equal(a.tensor, c.tensor)


def test_result_shape_losses_and_history(photo, painting, tiny_net):
    result = run(photo, painting, tiny_net, tv_weight=1.0)
    assert result.status == "finished" and result.ok and result.steps == 6
    assert result.image.size == (32, 27)  # photo is 48x40, longest side 32
    assert {"content", "style", "tv", "total", "content/conv4_2", "style/conv3_1"} <= set(result.losses)
    assert len(result.history) == 6 and [r["step"] for r in result.history] == list(range(1, 7))
    assert result.timings["per_step"] > 0


@pytest.mark.parametrize("changes", [{"optimizer": "adam"}, {"loss": "l1"}, {"init": "style"}])
def test_options_lower_the_loss(photo, painting, tiny_net, changes):
    result = run(photo, painting, tiny_net, **{**changes, "iterations": 15})
    assert result.history[-1]["total"] < result.history[0]["total"]
    assert result.tensor.min() >= 0 and result.tensor.max() <= 1


def test_init_from_file_and_blend_of_two_styles(photo, painting, tiny_net, tmp_path):
    one = run(photo, painting, tiny_net)
    two = stylize(
        photo, [painting, photo], TransferConfig(**FAST, style_blend_weights=(0.5, 0.5)), network=tiny_net
    )
    assert not torch.equal(one.tensor, two.tensor)
    from_file = run(photo, painting, tiny_net, init=str(painting), iterations=0)
    assert from_file.image.size == one.image.size
    with pytest.raises(ConfigError, match="2 values for 1 style"):
        run(photo, painting, tiny_net, style_blend_weights=(1.0, 2.0))


def test_callback_sees_every_step_and_previews(photo, painting, tiny_net):
    events = []
    run(photo, painting, tiny_net, events.append, preview_every=2)
    assert [e.step for e in events] == list(range(1, 7))
    assert [e.image is not None for e in events] == [False, True, False, True, False, True]
    assert events[-1].total_steps == 6 and events[1].image.shape[1] == 3


def test_stop_keeps_the_latest_image(photo, painting, tiny_net):
    def stop_at_three(event):
        if event.step == 3:
            raise Stop

    result = run(photo, painting, tiny_net, stop_at_three)
    assert result.status == "stopped" and result.steps == 3 and torch.isfinite(result.tensor).all()


def test_keyboard_interrupt_in_the_callback_keeps_that_step(photo, painting, tiny_net):
    """A signal held through a checkpoint lands in the callback, after the step's update
    and loss row: the step counts, as the checkpoint's manifest already said."""

    def interrupt(event):
        if event.step == 4:
            raise KeyboardInterrupt

    result = run(photo, painting, tiny_net, interrupt)
    assert result.status == "interrupted" and result.steps == 4
    assert [r["step"] for r in result.history] == [1, 2, 3, 4]
    assert "interrupted after step 4" in result.message


def test_keyboard_interrupt_mid_step_drops_that_step(photo, painting, tiny_net, monkeypatch):
    real, calls = engine.compute_losses, {"n": 0}

    def interrupted_on_the_fifth_evaluation(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "compute_losses", interrupted_on_the_fifth_evaluation)
    result = run(photo, painting, tiny_net, optimizer="adam")  # one evaluation per step
    assert result.status == "interrupted" and result.steps == 4
    assert [r["step"] for r in result.history] == [1, 2, 3, 4] and torch.isfinite(result.tensor).all()


def test_nan_never_reaches_the_image(photo, painting, tiny_net, monkeypatch):
    calls = {"n": 0}
    real = engine.compute_losses

    def poisoned(*args, **kwargs):
        calls["n"] += 1
        parts = real(*args, **kwargs)
        if calls["n"] > 2:
            parts = {k: v * float("nan") for k, v in parts.items()}
        return parts

    monkeypatch.setattr(engine, "compute_losses", poisoned)
    result = run(photo, painting, tiny_net, max_restarts=2, iterations=10)
    assert result.status == "diverged" and "diverg" in result.message
    assert torch.isfinite(result.tensor).all()


def test_guard_recovers_from_a_spike(photo, painting, tiny_net, monkeypatch):
    """One evaluation blows up a million-fold: the guard restarts and the run still finishes lower."""
    calls = {"n": 0}
    real = engine.compute_losses

    def spiky(*args, **kwargs):
        calls["n"] += 1
        parts = real(*args, **kwargs)
        return {k: v * 1e6 for k, v in parts.items()} if calls["n"] == 4 else parts

    monkeypatch.setattr(engine, "compute_losses", spiky)
    result = run(photo, painting, tiny_net, iterations=12)
    assert result.status == "finished"
    assert any(row.get("restart") for row in result.history)
    assert result.losses["total"] < result.history[0]["total"]


def test_image_too_small_for_layers(tmp_path, tiny_net):
    from PIL import Image

    Image.new("RGB", (200, 10)).save(tmp_path / "strip.png")
    with pytest.raises(ConfigError, match="too small for layer conv5_1"):
        stylize(tmp_path / "strip.png", tmp_path / "strip.png", TransferConfig(size=64), network=tiny_net)
