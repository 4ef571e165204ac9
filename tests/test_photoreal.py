"""Photorealistic mode (issue #13): the matting-Laplacian loss, the smoothing, the
engine hook, the preset and the sweep specs."""

import dataclasses
import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from conftest import EXAMPLES, ROOT
from painterly import photoreal
from painterly.config import TransferConfig
from painterly.errors import ConfigError
from painterly.images import load_image, pil_to_tensor, resize
from painterly.losses import photorealism_loss
from painterly.presets import preset_config
from painterly.transfer import stylize


@pytest.fixture(scope="module")
def rocket() -> torch.Tensor:
    """A 48×32 crop of a real photo (the launch tower: straight lines)."""
    return pil_to_tensor(
        resize(load_image(EXAMPLES / "photos" / "rocket.jpg"), (48, 32)), torch.device("cpu")
    )


def test_building_the_laplacian_keeps_torchs_thread_count():
    """pymatting's numba start-up used to set torch to every core for the rest of the run
    (the first Laplacian of a process: so this test comes first in the file)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.conv2d(torch.rand(1, 8, 8, 8), torch.rand(8, 8, 3, 3))  # torch's OpenMP pool first, as in a run
        photoreal.matting_laplacian(torch.rand(1, 3, 12, 10))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_the_laplacian_compiles_pymattings_one_function_not_its_package():
    """Importing the pymatting package compiles ~30 numba functions (80 s on a fresh
    install here); the Laplacian loads its one file, so a first photo run starts at once."""
    code = (
        "import sys, torch; from painterly import photoreal; "
        "photoreal.matting_laplacian(torch.rand(1, 3, 12, 10)); "
        "assert 'pymatting' not in sys.modules, sorted(m for m in sys.modules if 'pymatting' in m)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def affine_recolour(photo: torch.Tensor) -> torch.Tensor:
    """A sunset-like colour transform of the photo: the same affine map at every pixel."""
    m = torch.tensor([[0.9, 0.3, 0.0], [0.1, 0.6, 0.1], [0.0, 0.1, 0.4]])
    b = torch.tensor([0.1, 0.02, -0.05])
    return (torch.einsum("ij,njhw->nihw", m, photo) + b[None, :, None, None]).clamp(0, 1)


def warp(image: torch.Tensor, pixels: float = 2.0) -> torch.Tensor:
    """A smooth sideways wobble of a few pixels: straight lines bend."""
    _n, _, h, w = image.shape
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    xs = xs + pixels * 2 / w * torch.sin(ys * 6)
    return F.grid_sample(image, torch.stack([xs, ys], -1)[None], align_corners=True, padding_mode="border")


def test_laplacian_term_is_zero_for_an_affine_recolouring_and_positive_for_a_warp(rocket):
    lap = photoreal.matting_laplacian(rocket)
    assert lap.shape == (48 * 32, 48 * 32)
    recoloured = photorealism_loss(affine_recolour(rocket), lap)
    warped = photorealism_loss(warp(affine_recolour(rocket)), lap)
    assert float(photorealism_loss(rocket, lap)) < 1e-3 * float(warped)
    assert float(recoloured) < 1e-2 * float(warped)
    assert float(warped) > 0


def test_laplacian_loss_gradcheck():
    g = torch.Generator().manual_seed(0)
    photo = torch.rand(1, 3, 5, 6, generator=g)
    lap = photoreal.matting_laplacian(photo).to(torch.float64)
    image = torch.rand(1, 3, 5, 6, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: photorealism_loss(x, lap), (image,))
    with pytest.raises(ValueError, match="laplacian"):
        photorealism_loss(torch.rand(1, 3, 4, 4), lap)


def test_matting_smoothing_keeps_an_affine_recolouring_and_straightens_a_warp(rocket):
    target = affine_recolour(rocket)
    assert (photoreal.matting_smooth(target, rocket) - target).abs().mean() < 0.01
    warped = warp(target)
    smoothed = photoreal.smooth(warped, rocket, "matting")
    lap = photoreal.matting_laplacian(rocket)
    assert float(photorealism_loss(smoothed, lap)) < 0.5 * float(photorealism_loss(warped, lap))


def test_guided_smoothing_follows_the_photos_edges(rocket):
    noisy = (
        affine_recolour(rocket) + 0.1 * torch.randn(rocket.shape, generator=torch.Generator().manual_seed(0))
    ).clamp(0, 1)
    smoothed = photoreal.smooth(noisy, rocket, "guided")
    assert smoothed.shape == noisy.shape and float(smoothed.min()) >= 0 and float(smoothed.max()) <= 1
    clean = affine_recolour(rocket)
    assert (smoothed - clean).abs().mean() < 0.7 * (noisy - clean).abs().mean()
    assert photoreal.smooth(noisy, rocket, "none") is noisy


def test_recolor_init_is_an_affine_recolouring_with_the_paintings_colours(rocket):
    """init "recolor" (the photo preset's start): the photo moved to the painting's colour
    mean and covariance, so colour has moved and the photorealism loss is still ~0."""
    from painterly.images import tensor_to_pil
    from painterly.transfer import initial_image

    painting = torch.stack(
        [torch.full((32, 48), 0.8), torch.linspace(0.2, 0.5, 48).expand(32, 48), torch.full((32, 48), 0.1)]
    )[None]
    start = initial_image(TransferConfig(init="recolor"), rocket, tensor_to_pil(painting), torch.Generator())
    assert start.shape == rocket.shape
    means = start.mean(dim=(0, 2, 3))
    assert (means - painting.mean(dim=(0, 2, 3))).abs().max() < 0.05
    assert (means - rocket.mean(dim=(0, 2, 3))).abs().max() > 0.2
    lap = photoreal.matting_laplacian(rocket)
    assert float(photorealism_loss(start, lap)) < 1e-2 * float(photorealism_loss(warp(start), lap))


def test_engine_reports_the_photo_loss_and_smooths(photo, painting, tiny_net):
    cfg = TransferConfig(size=48, iterations=3, photorealistic=True, photo_weight=1e3, smooth="guided")
    result = stylize(photo, painting, cfg, network=tiny_net)
    assert result.ok and result.losses["photo"] > 0 and "smooth" in result.timings
    assert result.losses["total"] >= result.losses["photo"]
    plain = stylize(photo, painting, cfg.replace(photorealistic=False, smooth="none"), network=tiny_net)
    assert "photo" not in plain.losses


@pytest.mark.parametrize("kind", ["mean_std", "mean_cov", "histogram", "mrf"])
def test_engine_runs_every_style_loss(photo, painting, tiny_net, kind):
    cfg = TransferConfig(
        size=32, iterations=3, style_loss=kind, style_layers=("conv1_1", "conv2_1", "conv3_1")
    )
    result = stylize(photo, [painting, painting], cfg, network=tiny_net)
    assert result.ok and result.losses["style"] > 0
    assert result.history[-1]["total"] < result.history[0]["total"]


def test_masks_work_with_photorealistic_mode(photo, painting, tiny_net, tmp_path):
    from PIL import Image

    mask = tmp_path / "mask.png"
    Image.new("L", (48, 40), 0).save(mask)
    img = Image.open(mask)
    img.paste(255, (0, 0, 24, 40))
    img.save(mask)
    cfg = TransferConfig(
        size=48, iterations=2, photorealistic=True, masks=(f"{mask}:{painting}",), photo_weight=1e3
    )
    result = stylize(photo, painting, cfg, network=tiny_net)
    assert result.ok and result.losses["photo"] > 0


def test_config_checks():
    with pytest.raises(ConfigError, match="photo_weight"):
        TransferConfig(photo_weight=-1)
    with pytest.raises(ConfigError, match="style_loss"):
        TransferConfig(style_loss="nope")
    with pytest.raises(ConfigError, match="smooth"):
        TransferConfig(smooth="blur")
    with pytest.raises(ConfigError, match="masks"):
        TransferConfig(masks=("a.png:b.png",), style_loss="mean_std")


def test_photo_preset():
    """--preset photo: the whole method by default (bench/photoreal.py chose these values):
    start from the recoloured photo, the photo loss at its weight, the guided filter."""
    from painterly.presets import PHOTO_PRESET_WEIGHT

    cfg = preset_config("photo", size=256)
    assert cfg.photorealistic and cfg.multiscale and cfg.preset == "photo"
    assert cfg.init == "recolor" and cfg.smooth == "guided" and cfg.photo_weight == PHOTO_PRESET_WEIGHT
    assert len(cfg.scale_iterations) == len(cfg.scale_sizes())
    # what the user sets wins over the preset
    mine = preset_config("photo", size=256, smooth="matting", init="content", photo_weight=1e5)
    assert (mine.smooth, mine.init, mine.photo_weight) == ("matting", "content", 1e5)


def test_photo_preset_runs_end_to_end(photo, painting, tiny_net):
    cfg = preset_config("photo", size=48, iterations=2)
    result = stylize(photo, painting, cfg, network=tiny_net)
    assert result.ok and result.image.size == (48, 40)
    assert result.losses["photo"] > 0 and "smooth" in result.timings


@pytest.mark.parametrize("name", ["photorealistic", "style_losses"])
def test_sweep_specs_run(name, tmp_path):
    from painterly.lab.specs import combine, load_spec, plan_runs
    from painterly.lab.sweep import run_sweep
    from test_lab_sweep import TinyNets

    spec = combine(load_spec(EXAMPLES / "sweeps" / f"{name}.toml"), overrides={"size": 32, "iterations": 1})
    runs = plan_runs(spec)  # every run's config is built and validated
    assert len(runs) >= 5
    # Run the grid with each axis but the last cut to its first value (16 runs would be slow).
    axes = tuple(
        a if i == len(spec.axes) - 1 else dataclasses.replace(a, values=a.values[:1], labels=a.labels[:1])
        for i, a in enumerate(spec.axes)
    )
    spec = dataclasses.replace(spec, axes=axes)
    runs = plan_runs(spec)
    outcome = run_sweep(spec, tmp_path / name, network_factory=TinyNets())
    assert outcome.ran == len(runs)


def test_cli_photorealistic_run_end_to_end(capsys, photo, painting, tmp_path):
    """The real VGG19 through the CLI: the flags exist, the manifest keeps them, the
    photo loss is reported by name."""
    import json

    from painterly.cli import run_command

    out = tmp_path / "out.png"
    args = ["run", photo, painting, "-o", out, "-s", "32", "-n", "2", "--photorealistic"]
    args += ["--photo-weight", "1e5", "--smooth", "matting", "--style-loss", "mean_std"]
    assert run_command([str(a) for a in args]) == 0
    manifest = json.loads(out.with_suffix(".json").read_text())
    assert manifest["config"]["photorealistic"] and manifest["config"]["smooth"] == "matting"
    assert manifest["final_losses"]["photo"] > 0
    assert run_command(["run", str(photo), str(painting), "-o", str(out), "--smooth", "blur"]) == 2
    assert "smooth" in capsys.readouterr().err


def test_web_studio_offers_the_new_fields_and_preset():
    from painterly.web.app import describe_fields, preset_names

    fields = {d["name"]: d for d in describe_fields(TransferConfig)}
    assert fields["photorealistic"]["kind"] == "bool" and fields["photo_weight"]["kind"] == "float"
    assert fields["smooth"]["choices"] == ["none", "guided", "matting"]
    assert "mrf" in fields["style_loss"]["choices"] and "photo" in preset_names()
