"""bench/engine.py's helpers stay callable for every preset's scales (issue #16).

The benchmark is not a timed test; this only checks that ``--preset`` can plan its canvases:
a refactor once passed a multi-scale preset's whole schedule to a single smaller size, and
``--preset`` stopped with a config error before its first step."""

from __future__ import annotations

import pytest

from conftest import loaded_bench
from painterly.presets import preset_config


@pytest.fixture(scope="module")
def engine():
    yield from loaded_bench("engine")


@pytest.mark.parametrize("name", ["draft", "balanced", "quality", "portrait", "photo"])
@pytest.mark.parametrize("size", [256, 512])
def test_content_canvas_plans_every_scale_of_a_preset(engine, name: str, size: int) -> None:
    config = preset_config(name, size=size)
    planned = [engine.content_canvas(longest, config) for longest in config.scale_sizes()]
    for (width, height), canvas in planned:
        assert max(width, height) <= max(canvas.size)
        assert canvas.size[0] >= height and canvas.size[1] >= width
    assert max(planned[-1][0]) == size
