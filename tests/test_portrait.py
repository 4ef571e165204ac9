"""Portrait mode (issue #9): detection on a real portrait, the maps, the engine's content
weight map, the pipeline on both paths, the CLI flags and the missing-extra error.

The detector tests run the real MediaPipe models (they are small and shipped); the
optimising runs use the tiny random VGG where the network is not the point.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import EXAMPLES
from painterly import TransferConfig, stylize
from painterly.cli import run_command
from painterly.errors import ConfigError, MissingDependencyError
from painterly.images import pil_to_tensor, resize
from painterly.losses import content_loss, weighted_content_loss
from painterly.portrait import Detector, build_maps, fast_portrait, stylize_portrait
from painterly.portrait.detect import ssd_anchors
from painterly.portrait.maps import to_image
from painterly.portrait.pipeline import without_portrait
from painterly.presets import preset_config

ASTRONAUT = EXAMPLES / "content" / "astronaut.jpg"
NO_FACE = EXAMPLES / "portraits" / "morisot_woman_at_her_toilette.jpg"
STYLE = EXAMPLES / "styles" / "starry_night.jpg"


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector.load()


@pytest.fixture(scope="module")
def vgg():
    """The real VGG19: what conv4_2 keeps of a face is the point of these tests (the tiny
    random network's deep features hold almost nothing of the pixels)."""
    from painterly.transfer import build_network

    return build_network(TransferConfig(), torch.device("cpu"))


@pytest.fixture(scope="module")
def astronaut() -> Image.Image:
    return Image.open(ASTRONAUT).convert("RGB")


def test_anchors_are_blazefaces_896() -> None:
    anchors = ssd_anchors()
    assert anchors.shape == (896, 2)
    assert anchors.min() > 0 and anchors.max() < 1
    assert np.allclose(anchors[0], [0.5 / 16, 0.5 / 16]) and np.allclose(anchors[512], [0.5 / 8, 0.5 / 8])


def test_masks_are_right_on_the_bundled_portrait(detector: Detector, astronaut: Image.Image) -> None:
    found = detector.analyse(astronaut)
    assert len(found.faces) == 1
    face = found.faces[0]
    x0, y0, x1, y1 = (round(v) for v in face.box)
    # The astronaut's face is in the upper middle-left of the picture.
    assert 120 < (x0 + x1) / 2 < 240 and 40 < (y0 + y1) / 2 < 160
    # person mask covers the face box; background (sky with the shuttle, top right) stays background
    assert found.person[y0:y1, x0:x1].mean() > 0.9
    assert found.person[0:80, 420:512].mean() < 0.1
    # Face Mesh: 468 landmarks inside the box (with a margin), eyes level, right eye on the left
    assert face.landmarks is not None and face.landmarks.shape == (468, 3)
    xy = face.landmarks[:, :2]
    pad = 0.3 * (x1 - x0)
    assert (xy[:, 0] > x0 - pad).all() and (xy[:, 0] < x1 + pad).all()
    right, left = face.eye_centres()
    assert right[0] < left[0] and abs(right[1] - left[1]) < 0.2 * face.interocular()
    assert 20 < face.interocular() < 80


def test_face_map_is_highest_on_the_features(detector: Detector, astronaut: Image.Image) -> None:
    found = detector.analyse(astronaut)
    maps = build_maps(astronaut, found)
    face = found.faces[0]
    right, _ = face.eye_centres()
    eye = maps.face[round(right[1]), round(right[0])]
    x0, y0, x1, y1 = face.box
    cheek = maps.face[round(y0 + 0.7 * (y1 - y0)), round(x0 + 0.12 * (x1 - x0))]
    shoulder = maps.face[450, 60]
    assert eye > 0.8 > cheek > shoulder > 0 and maps.face[20, 500] == 0
    assert maps.content_weights(1.0, 40.0).max() == pytest.approx(41.0, abs=0.1)
    assert maps.skin[round(right[1]) + 15, round(right[0])] > 0.5 and maps.skin[20, 500] < 0.05


def test_several_people_are_all_found(detector: Detector, astronaut: Image.Image) -> None:
    head = astronaut.crop((80, 0, 330, 250))
    pair = Image.new("RGB", (500, 250))
    pair.paste(head, (0, 0))
    pair.paste(head.transpose(Image.FLIP_LEFT_RIGHT), (250, 0))
    faces = detector.analyse(pair).faces
    assert len(faces) == 2
    maps = build_maps(pair, detector.analyse(pair))
    assert maps.face[:, :250].max() > 0.9 and maps.face[:, 250:].max() > 0.9


def test_weighted_content_loss_with_ones_is_the_plain_loss() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(1, 4, 6, 5, generator=g), torch.rand(1, 4, 6, 5, generator=g)
    for kind in ("l2", "l1"):
        assert torch.allclose(
            weighted_content_loss(a, b, torch.ones(1, 1, 6, 5), kind), content_loss(a, b, kind)
        )
    w = torch.zeros(1, 1, 6, 5)
    assert float(weighted_content_loss(a, b, w)) == 0.0


@pytest.mark.slow
def test_content_weight_map_keeps_its_region_closer_to_the_photo(vgg, astronaut) -> None:
    """Engine level (face-agnostic): a high weight on the left half changes it less."""
    photo = resize(astronaut, (64, 64))
    weights = np.ones((64, 64), np.float32)
    weights[:, :32] = 50.0
    config = TransferConfig(size=64, iterations=15)
    plain = stylize(photo, STYLE, config, network=vgg).tensor
    held = stylize(photo, STYLE, config, network=vgg, content_map=to_image(weights)).tensor
    source = pil_to_tensor(photo)

    def change(t: torch.Tensor, cols: slice) -> float:
        return float((t - source)[..., cols].abs().mean())

    assert change(held, slice(0, 32)) < 0.6 * change(plain, slice(0, 32))
    assert change(held, slice(0, 32)) < change(held, slice(32, 64))


@pytest.mark.slow
def test_portrait_run_changes_the_face_less_than_the_background(vgg, detector, astronaut) -> None:
    photo = resize(astronaut, (96, 96))
    config = TransferConfig(size=96, iterations=12, portrait=True, face_strength=1.0)
    plain = stylize(photo, STYLE, without_portrait(config), network=vgg).tensor
    result = stylize_portrait(photo, STYLE, config, network=vgg, detector=detector)
    assert not result.warnings and len(result.maps.faces) == 1
    source = pil_to_tensor(photo)
    feat = torch.from_numpy(result.maps.face > 0.8)
    back = torch.from_numpy(result.maps.background > 0.9)

    def change(t: torch.Tensor, where: torch.Tensor) -> float:
        return float((t - source).abs().mean(1)[0][where].mean())

    assert change(result.result.tensor, feat) < 0.7 * change(plain, feat)
    assert change(result.result.tensor, feat) < change(result.result.tensor, back)
    assert result.result.timings["portrait_analysis"] > 0


def test_background_style_and_keep_skin(tiny_net, detector, astronaut, tmp_path) -> None:
    photo = resize(astronaut, (96, 96))
    config = TransferConfig(
        size=96, iterations=6, style_weight=1e4, portrait=True, keep_skin=True,
        background_style=str(EXAMPLES / "styles" / "the_scream.jpg"), background_strength=2.0,
    )  # fmt: skip
    result = stylize_portrait(photo, STYLE, config, network=tiny_net, detector=detector)
    from painterly.color import rgb_to_yiq

    out, src = rgb_to_yiq(result.result.tensor), rgb_to_yiq(pil_to_tensor(photo))
    skin = torch.from_numpy(result.maps.skin > 0.95)
    assert skin.sum() > 20
    assert torch.allclose(out[0, 1:, skin], src[0, 1:, skin], atol=0.03)  # the photo's chroma on the skin


def test_no_face_gives_a_warning_and_an_ordinary_run(tiny_net, detector) -> None:
    photo = resize(Image.open(NO_FACE).convert("RGB"), (64, 48))
    notices = []
    config = TransferConfig(size=64, iterations=3, portrait=True)
    result = stylize_portrait(
        photo, STYLE, config, network=tiny_net, detector=detector, notice=notices.append
    )
    assert result.result.ok and result.maps.faces == []
    assert len(notices) == 1 and "no face" in notices[0].message and notices[0].level == "warning"


def test_fast_portrait_keeps_the_face_closer_to_the_photo(detector, astronaut) -> None:
    pytest.importorskip("onnxruntime")
    from painterly import FastConfig, fast_stylize

    photo = resize(astronaut, (128, 128))
    plain = fast_stylize(photo, STYLE, FastConfig(size=128)).tensor
    result = fast_portrait(
        photo, STYLE, FastConfig(size=128, portrait=True, face_strength=1.0), detector=detector
    )
    source = pil_to_tensor(photo)
    feat = torch.from_numpy(result.maps.face > 0.8)

    def change(t: torch.Tensor) -> float:
        return float((t - source).abs().mean(1)[0][feat].mean())

    assert change(result.result.tensor) < 0.8 * change(plain)
    assert result.image.size == (128, 128)


def test_config_validation() -> None:
    with pytest.raises(ConfigError, match="face_strength"):
        TransferConfig(portrait=True, face_strength=1.5)
    with pytest.raises(ConfigError, match="portrait mode"):
        TransferConfig(background_style="x.jpg")
    with pytest.raises(ConfigError, match="background_strength"):
        TransferConfig(portrait=True, background_strength=-1)
    config = preset_config("portrait", size=256)
    assert config.portrait and config.preset == "portrait" and len(config.scale_sizes()) > 1


def test_cli_run_portrait_with_show_masks(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out.png"
    code = run_command(
        [
            "run", str(ASTRONAUT), str(STYLE), "-o", str(out), "--portrait", "--face-strength", "0.8",
            "--keep-skin", "--show-masks", "--size", "64", "--iterations", "2", "-q",
        ]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    for suffix in ("masks", "person", "face"):
        assert (tmp_path / f"out.{suffix}.png").is_file()
    assert Image.open(out).size == (64, 64)
    import json

    manifest = json.loads(out.with_suffix(".json").read_text())
    assert manifest["config"]["portrait"] is True and manifest["config"]["face_strength"] == 0.8


def test_cli_no_face_warns_and_runs(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out.png"
    code = run_command(
        ["run", str(NO_FACE), str(STYLE), "-o", str(out), "--portrait", "--size", "48", "-n", "1", "-q"]
    )
    err = capsys.readouterr().err
    assert code == 0 and out.is_file()
    assert "warning" in err and "no face" in err


def test_cli_user_person_mask(tmp_path: Path, capsys) -> None:
    pytest.importorskip("onnxruntime")
    mask = tmp_path / "mask.png"
    arr = np.zeros((64, 64), np.uint8)
    arr[:, :20] = 255
    Image.fromarray(arr).save(mask)
    out = tmp_path / "fast.png"
    code = run_command(
        ["fast", str(ASTRONAUT), str(STYLE), "-o", str(out), "--portrait", "--mask-person", str(mask),
         "--show-masks", "--size", "64"]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    person = np.asarray(Image.open(tmp_path / "fast.person.png").convert("L"), np.float32) / 255
    assert person[:, :12].mean() > 0.9 and person[:, 30:].mean() < 0.05


def test_cli_bad_portrait_file_fails_before_work(tmp_path: Path, capsys) -> None:
    code = run_command(
        ["run", str(ASTRONAUT), str(STYLE), "-o", str(tmp_path / "o.png"), "--portrait",
         "--background-style", str(tmp_path / "missing.jpg")]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "missing.jpg" in err and err.count("\n") == 1


def test_missing_extra_gives_one_line_with_the_install_hint(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)  # `import` now fails
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'painterly\[portrait\]'"):
        Detector.load()
    code = run_command(["run", str(ASTRONAUT), str(STYLE), "-o", str(tmp_path / "o.png"), "--portrait"])
    err = capsys.readouterr().err
    assert code == 2 and "painterly[portrait]" in err and err.count("\n") == 1
