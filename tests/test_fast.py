"""Fast mode with the real Magenta networks, on small images (the whole file takes seconds)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import painterly
import painterly.cli as cli
from conftest import make_image
from painterly.color import chroma_distance
from painterly.config import FastConfig, TransferConfig
from painterly.errors import ConfigError, MissingDependencyError
from painterly.fast import FastStylizer, fast_stylize
from painterly.fast.models import dynamic_transform_graph, find_models
from painterly.images import pil_to_tensor

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def stylizer() -> FastStylizer:
    return FastStylizer()


@pytest.fixture
def second_painting(tmp_path: Path) -> Path:
    return make_image(tmp_path / "second.png", (56, 44), seed=7)


def mean_abs(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().mean())


def test_transform_graph_gets_symbolic_height_and_width() -> None:
    import onnx

    model = onnx.load_from_string(dynamic_transform_graph(find_models().transform))
    dims = [[d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in model.graph.output]
    assert dims == [[1, "height", "width", 3]]
    assert len(model.graph.value_info) == 0


@pytest.mark.parametrize(("size", "style_scale"), [((97, 131), 1.0), ((131, 97), 0.6), ((21, 17), 1.0)])
def test_output_has_the_photos_own_odd_size(
    tmp_path: Path, painting: Path, stylizer: FastStylizer, size: tuple[int, int], style_scale: float
) -> None:
    photo = make_image(tmp_path / "odd.png", size, seed=3)
    result = fast_stylize(photo, painting, FastConfig(style_scale=style_scale), stylizer=stylizer)
    assert result.image.size == size
    assert result.tensor.shape == (1, 3, size[1], size[0])
    assert result.work_size == (size if style_scale == 1 else tuple(round(s * 0.6) for s in size))
    assert result.config.style_scale == style_scale


def test_size_caps_the_longest_side(tmp_path: Path, painting: Path, stylizer: FastStylizer) -> None:
    photo = make_image(tmp_path / "big.png", (160, 120), seed=4)
    result = fast_stylize(photo, painting, FastConfig(size=64), stylizer=stylizer)
    assert result.image.size == (64, 48)
    assert set(result.timings) >= {"style", "paint", "total"}


def test_strength_zero_gives_the_photos_own_stylization(
    photo: Path, painting: Path, stylizer: FastStylizer
) -> None:
    own = fast_stylize(photo, photo, stylizer=stylizer).tensor
    zero = fast_stylize(photo, painting, FastConfig(strength=0.0), stylizer=stylizer).tensor
    full = fast_stylize(photo, painting, stylizer=stylizer).tensor
    half = fast_stylize(photo, painting, FastConfig(strength=0.5), stylizer=stylizer).tensor
    assert mean_abs(zero, own) < 0.01
    assert mean_abs(full, own) > 0.03
    assert 0.005 < mean_abs(half, full) < mean_abs(zero, full)


def test_blend_of_two_paintings_differs_from_each(
    photo: Path, painting: Path, second_painting: Path, stylizer: FastStylizer
) -> None:
    a = fast_stylize(photo, painting, stylizer=stylizer)
    b = fast_stylize(photo, second_painting, stylizer=stylizer)
    both = fast_stylize(photo, [painting, second_painting], stylizer=stylizer)
    assert mean_abs(both.tensor, a.tensor) > 0.01 and mean_abs(both.tensor, b.tensor) > 0.01
    np.testing.assert_allclose(both.style_vector, (a.style_vector + b.style_vector) / 2, atol=1e-5)
    only_a = fast_stylize(
        photo, [painting, second_painting], FastConfig(style_weights=(1, 0)), stylizer=stylizer
    )
    assert mean_abs(only_a.tensor, a.tensor) < 1e-6
    with pytest.raises(ConfigError, match="style_weights"):
        fast_stylize(
            photo, [painting, second_painting], FastConfig(style_weights=(1, 2, 3)), stylizer=stylizer
        )


def test_preserve_colors_keeps_the_photos_chroma(photo: Path, painting: Path, stylizer: FastStylizer) -> None:
    original = pil_to_tensor(Image.open(photo))
    plain = fast_stylize(photo, painting, stylizer=stylizer).tensor
    luminance = fast_stylize(photo, painting, FastConfig(preserve_colors="luminance"), stylizer=stylizer)
    assert chroma_distance(luminance.tensor, original) < 0.5 * chroma_distance(plain, original)
    # histogram recolours the painting before the network sees it: the mean colour follows the photo
    histogram = fast_stylize(photo, painting, FastConfig(preserve_colors="histogram"), stylizer=stylizer)

    def colour_gap(image: torch.Tensor) -> float:
        return float((image.mean(dim=(2, 3)) - original.mean(dim=(2, 3))).abs().sum())

    assert colour_gap(histogram.tensor) < 0.7 * colour_gap(plain)


def test_stylizer_reuses_its_sessions_and_style_vectors(photo: Path, painting: Path) -> None:
    stylizer = FastStylizer(threads=1)
    assert stylizer.threads == 1
    first = fast_stylize(photo, painting, stylizer=stylizer)
    second = fast_stylize(photo, painting, stylizer=stylizer)
    cached = stylizer._vector_of_crop.cache_info()  # issue #18: functools.lru_cache
    assert (cached.currsize, cached.hits) == (1, 1) and "load_models" not in first.timings
    assert torch.equal(first.tensor, second.tensor)


def test_missing_models_give_an_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(MissingDependencyError, match=r"painterly\[fast\]"):
        FastStylizer(model_dir=tmp_path)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'painterly\[fast\]'"):
        find_models()


def test_missing_onnxruntime_gives_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail
    with pytest.raises(MissingDependencyError, match=r"onnxruntime.*painterly\[fast\]"):
        FastStylizer()


def test_config_is_validated() -> None:
    for bad in (
        {"strength": 1.5},
        {"style_scale": 0},
        {"size": 8},
        {"style_weights": (0, 0)},
        {"threads": -1},
    ):
        with pytest.raises(ConfigError):
            FastConfig(**bad)
    assert FastConfig.from_dict(FastConfig(strength=0.3).to_dict()).strength == 0.3


def test_public_api_exports_fast_mode() -> None:
    assert painterly.fast_stylize is fast_stylize and painterly.FastConfig is FastConfig


def run_cli(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    # Only this subcommand's module is loaded, so the test does not depend on the others.
    assert "fast" in cli.COMMAND_MODULES
    monkeypatch.setattr(cli, "COMMAND_MODULES", ["fast"])
    return cli.run_command(argv)


def test_cli_paints_one_photo_with_a_manifest(
    tmp_path: Path,
    photo: Path,
    painting: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    out = tmp_path / "out.png"
    assert run_cli(["fast", str(photo), str(painting), "-o", str(out), "--strength", "0.8"], monkeypatch) == 0
    assert Image.open(out).size == Image.open(photo).size
    manifest = json.loads(out.with_suffix(".json").read_text())
    assert manifest["kind"] == "fast" and manifest["config"]["strength"] == 0.8
    assert run_cli(["fast", str(photo), str(painting), "-o", str(out)], monkeypatch) == 2
    assert "already exists" in capsys.readouterr().err
    assert run_cli(["fast", str(photo), str(painting), "-o", str(out), "--strength", "2"], monkeypatch) == 2
    assert "strength" in capsys.readouterr().err


def test_cli_folder_mode_skips_a_corrupt_file(
    tmp_path: Path, painting: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    make_image(photos / "a.png", (40, 32), seed=5)
    make_image(photos / "b.jpg", (33, 45), seed=6)
    (photos / "broken.jpg").write_bytes(b"not a jpeg")
    (photos / "notes.txt").write_text("ignored")
    out = tmp_path / "painted"
    code = run_cli(["fast", str(photos), str(painting), "-o", str(out), "-q", "--format", "jpg"], monkeypatch)
    assert code == 1
    assert sorted(p.name for p in out.glob("*.jpg")) == ["a.jpg", "b.jpg"]
    assert Image.open(out / "b.jpg").size == (33, 45)
    err = capsys.readouterr().err
    assert "broken.jpg" in err and "warning" in err and "Traceback" not in err


def test_init_fast_starts_the_optimiser_from_the_fast_painting(
    photo: Path, painting: Path, tiny_net: torch.nn.Module
) -> None:
    assert "fast" in painterly.config.INIT_KEYWORDS
    fast = fast_stylize(photo, painting, FastConfig(size=48))
    result = painterly.stylize(
        photo, painting, TransferConfig(init="fast", iterations=0, size=48), network=tiny_net
    )
    assert result.tensor.shape == fast.tensor.shape
    assert mean_abs(result.tensor, fast.tensor) < 0.01
