"""Reconstructions, histograms and progression videos: each command makes its figure."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

import painterly.lab.reconstruct as reconstruct_module
from painterly.backbones import VGG19Features, random_vgg19_weights
from painterly.cli import run_command
from painterly.config import TransferConfig
from painterly.lab.histograms import histograms
from painterly.lab.progression import build_frames, find_run, write_video
from painterly.lab.reconstruct import reconstruct, reconstruction_configs, reconstruction_figure
from painterly.records import RunPaths, build_manifest, write_history_csv, write_manifest


def tiny(pooling, activation, last_tap, device):
    return VGG19Features(
        random_vgg19_weights(torch.Generator().manual_seed(0)), pooling, activation, last_tap
    )


def cli(capsys, *args):
    code = run_command([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_reconstruction_configs_switch_half_the_loss_off():
    plans = reconstruction_configs(TransferConfig(size=64))
    assert [p[1] for p in plans][:5] == [("conv1_2",), ("conv2_2",), ("conv3_2",), ("conv4_2",), ("conv5_2",)]
    assert [len(p[1]) for p in plans][5:] == [1, 2, 3, 4, 5]
    content, style = plans[0][2], plans[-1][2]
    assert content.style_weight == 0 and content.style_layers == () and content.init == "noise"
    assert style.content_weight == 0 and style.style_layers[-1] == "conv5_1" and style.init == "noise"


def test_reconstruct_makes_ten_images_and_a_labelled_figure(photo):
    original = Image.open(photo).convert("RGB")
    results = reconstruct(original, TransferConfig(size=32, iterations=2), network_factory=tiny)
    assert [r.name for r in results][::4] == ["content_conv1_2", "content_conv5_2", "style_conv1_1-conv4_1"]
    assert all(r.image.size == (32, 27) and r.status == "finished" for r in results)
    # from noise, the conv1_2 reconstruction is pulled towards the photo (not left as noise)
    noise = torch.rand(1, 3, 27, 32, generator=torch.Generator().manual_seed(0))
    target = torch.from_numpy(np.asarray(original.resize((32, 27)), dtype=np.float32) / 255).permute(2, 0, 1)
    got = torch.from_numpy(np.asarray(results[0].image, dtype=np.float32) / 255).permute(2, 0, 1)
    assert (got - target).abs().mean() < (noise[0] - target).abs().mean()
    figure = reconstruction_figure(original, results, cell=64)
    assert figure.width > 6 * 32 and figure.height > 2 * 27


def test_cli_reconstruct(capsys, photo, tmp_path, monkeypatch):
    monkeypatch.setattr(reconstruct_module, "load_network", tiny)
    code, _, err = cli(capsys, "reconstruct", photo, "-o", tmp_path / "rec", "-s", "32", "-n", "1", "-q")
    assert code == 0, err
    names = sorted(p.name for p in (tmp_path / "rec").iterdir())
    assert "figure.png" in names and "content_conv3_2.png" in names and "style_conv1_1-conv5_1.png" in names
    manifest = json.loads((tmp_path / "rec" / "reconstruct.json").read_text())
    assert manifest["kind"] == "reconstruct" and len(manifest["final_losses"]) == 10
    # a second run with the same image and settings reuses the reconstructions
    calls = []
    monkeypatch.setattr(reconstruct_module, "load_network", lambda *a: calls.append(a) or tiny(*a))
    code, _, err = cli(capsys, "reconstruct", photo, "-o", tmp_path / "rec", "-s", "32", "-n", "1", "-q")
    assert code == 0 and calls == [], err
    code, _, err = cli(capsys, "reconstruct", photo, "-o", tmp_path / "rec", "-s", "32", "-n", "2", "-q")
    assert code == 0 and len(calls) == 1, err
    code, _, err = cli(capsys, "reconstruct", tmp_path / "nope.png", "-o", tmp_path / "rec")
    assert code == 2 and "nope.png" in err


def test_histograms_are_normalised():
    img = Image.new("RGB", (10, 10), (255, 0, 0))
    hist = histograms(img, bins=16)
    assert set(hist) == {"luminance", "red", "green", "blue"}
    assert all(abs(h.sum() - 1) < 1e-9 for h in hist.values())
    assert hist["red"][-1] == 1 and hist["green"][0] == 1 and hist["luminance"][int(0.299 * 255 / 16)] == 1


def test_cli_histogram_from_images_and_a_manifest(capsys, photo, painting, tmp_path):
    out = tmp_path / "out.png"
    Image.open(photo).save(out)
    write_manifest(
        RunPaths(out).manifest,
        build_manifest(
            kind="transfer",
            config={},
            inputs={"content": str(photo), "styles": [str(painting)]},
            output=out,
            status="finished",
            steps=1,
            device="cpu",
            timings={},
            losses={},
        ),
    )
    code, _, err = cli(capsys, "histogram", RunPaths(out).manifest, "-o", tmp_path / "h.png")
    assert code == 0, err
    assert Image.open(tmp_path / "h.png").size[0] >= 800
    code, _, err = cli(capsys, "histogram", photo, painting, "--labels", "a", "-o", tmp_path / "h2.png")
    assert code == 2 and "2 images" in err
    code, _, err = cli(capsys, "histogram", photo, "-o", tmp_path / "h.png")
    assert code == 2 and "already exists" in err
    code, _, err = cli(capsys, "histogram", photo, "-o", photo, "--overwrite")
    assert code == 2 and "is an input" in err


@pytest.fixture
def run_with_steps(tmp_path, photo):
    """A run as `painterly run --save-every 2 -n 6` leaves it."""
    paths = RunPaths(tmp_path / "out.png")
    paths.steps_dir.mkdir()
    base = Image.open(photo).convert("RGB")
    for step in (2, 4, 6):
        base.point(lambda v, s=step: min(255, v + 20 * s)).save(paths.step_image(step))
    base.save(paths.output)
    write_history_csv(
        paths.history_csv,
        [
            {"step": s, "scale": 0, "content": 1.0 / s, "style": 2.0 / s, "total": 3.0 / s}
            for s in range(1, 7)
        ],
    )
    write_manifest(
        paths.manifest,
        build_manifest(
            kind="transfer",
            config={},
            inputs={"content": str(photo)},
            output=paths.output,
            status="finished",
            steps=6,
            device="cpu",
            timings={},
            losses={},
        ),
    )
    return paths


def test_find_run_accepts_output_steps_folder_or_manifest(run_with_steps):
    paths = run_with_steps
    for given in (paths.output, paths.steps_dir, paths.manifest):
        run = find_run(given)
        assert [s for s, _ in run.frames] == [2, 4, 6] and run.total_steps == 6
        assert run.final == paths.output and run.history[4]["total"] == 0.75
    frames = build_frames(find_run(paths.output))
    assert len(frames) == 3 and len({f.size for f in frames}) == 1
    assert all(v % 2 == 0 for v in frames[0].size) and frames[0].width >= 384


def test_cli_progression_gif_and_mp4(capsys, run_with_steps, tmp_path):
    code, _, err = cli(capsys, "progression", run_with_steps.output, "-o", tmp_path / "p.gif", "--fps", "4")
    assert code == 0, err
    gif = Image.open(tmp_path / "p.gif")
    assert gif.n_frames == 3
    av = pytest.importorskip("av", reason="MP4 needs the [video] extra")
    code, _, err = cli(capsys, "progression", run_with_steps.steps_dir, "-o", tmp_path / "p.mp4")
    assert code == 0, err
    with av.open(str(tmp_path / "p.mp4")) as clip:
        decoded = [frame.to_image() for frame in clip.decode(video=0)]
    assert decoded[0].size == Image.open(tmp_path / "p.gif").size and len(decoded) == 3 + 12


def test_progression_errors(capsys, run_with_steps, tmp_path, photo):
    code, _, err = cli(capsys, "progression", photo, "-o", tmp_path / "p.gif")
    assert code == 2 and "save-every" in err
    code, _, err = cli(capsys, "progression", run_with_steps.output, "-o", tmp_path / "p.avi")
    assert code == 2 and "unknown video format" in err and ".gif, .mp4" in err
    code, _, err = cli(capsys, "progression", tmp_path / "nothing", "-o", tmp_path / "p.gif")
    assert code == 2 and "not found" in err
    with pytest.raises(Exception, match="no frames"):
        write_video([], tmp_path / "x.gif")
