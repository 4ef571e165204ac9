"""End-to-end runs with the real VGG19 weights on small real photos."""

import numpy as np
import pytest
from PIL import Image

from painterly import TransferConfig, stylize
from painterly.cli import run_command

pytestmark = pytest.mark.slow


def test_style_loss_falls_tenfold_and_output_differs(example_content, example_style):
    result = stylize(example_content, example_style, TransferConfig(size=80, iterations=40))
    first, last = result.history[0], result.losses
    assert result.status == "finished"
    assert last["style"] * 10 <= first["style"], (first["style"], last["style"])
    content = np.asarray(
        Image.open(example_content).convert("RGB").resize(result.image.size, Image.LANCZOS), float
    )
    assert np.abs(np.asarray(result.image, float) - content).mean() > 10  # visibly repainted


def test_from_manifest_reproduces_the_picture(capsys, example_content, example_style, tmp_path):
    first = tmp_path / "first.png"
    args = [
        "run",
        str(example_content),
        str(example_style),
        "-o",
        str(first),
        "-s",
        "64",
        "-n",
        "15",
        "-q",
        "--init",
        "noise",
        "--seed",
        "11",
        "--style-layer-weights",
        "1,1,4,1,1",
    ]
    assert run_command(args) == 0
    again = tmp_path / "again.png"
    assert (
        run_command(["run", "--from-manifest", str(first.with_suffix(".json")), "-o", str(again), "-q"]) == 0
    )
    assert np.array_equal(np.asarray(Image.open(first)), np.asarray(Image.open(again)))
    capsys.readouterr()
