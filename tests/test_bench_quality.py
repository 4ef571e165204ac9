"""bench/quality.py's calm-iso mode compares the calm term with calm 0 at the same style
distance (issue #17). If its interpolation were off, the README's "same style" mesh ratios
would be too; these check it on curves whose answer is known."""

from __future__ import annotations

import math

import pytest

from conftest import loaded_bench


@pytest.fixture(scope="module")
def quality():
    yield from loaded_bench("quality")


def test_a_power_law_curve_is_read_exactly_between_its_points(quality):
    curve = [(2.0, 0.25), (1.0, 1.0), (4.0, 1 / 16)]  # mesh = style⁻², given out of order
    mesh, inside = quality.mesh_at_style(curve, 1.5)
    assert mesh == pytest.approx(1.5**-2) and inside
    mesh, inside = quality.mesh_at_style(curve, 3.0)
    assert mesh == pytest.approx(3.0**-2) and inside


def test_a_style_outside_the_curve_takes_the_nearest_end_and_says_so(quality):
    curve = [(1.0, 1.0), (2.0, 0.25), (2.02, 0.5)]  # two ends close in style: no slope through them
    assert quality.mesh_at_style(curve, 0.5) == (1.0, False)
    assert quality.mesh_at_style(curve, 3.0) == (0.5, False)
    assert quality.mesh_at_style(curve, 2.02) == (0.5, True)
    with pytest.raises(ValueError):
        quality.mesh_at_style([(1.0, 1.0)], 1.0)


def row(weight: float, factor: float, style: float, mesh: float) -> dict:
    return {
        "pair": "p",
        "size": 64,
        "calm_weight": weight,
        "style_factor": factor,
        "style_distance": style,
        "mesh": mesh,
    }


def test_the_summary_pairs_the_default_run_with_calm_0_at_its_style_distance(quality):
    # calm 0 trades mesh for style as mesh = style⁻²; the calm run sits at 1.2× the style
    # distance with a tenth of the mesh: at the same style calm 0 would have 1.2⁻² of its mesh.
    rows = [
        row(0.0, 1.0, 1.0, 1.0),
        row(0.0, 0.5, 2.0, 0.25),
        row(3.0, 1.0, 1.2, 0.1),
        row(3.0, 2.0, 0.8, 0.2),
    ]
    (summary,) = quality.iso_summary(rows, 3.0)
    assert summary["mesh_same_weights"] == pytest.approx(0.1)
    assert summary["style_same_weights"] == pytest.approx(0.2)
    assert summary["mesh_same_style"] == pytest.approx(0.1 / 1.2**-2)
    assert summary["calm0_curve_reaches"]
    # the calm curve at calm 0's style distance (1.0): log-log between (0.8, 0.2) and (1.2, 0.1)
    t = math.log(1.0 / 0.8) / math.log(1.2 / 0.8)
    assert summary["mesh_same_style_calm_curve"] == pytest.approx(math.exp(math.log(0.2) + t * math.log(0.5)))
    assert summary["calm_curve_reaches"]
