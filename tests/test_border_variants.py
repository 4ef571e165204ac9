"""bench/border_variants.py plans the canvases its variants name (issue #17).

The README's table of what moves the 256 px right edge rests on these variants; a variant that
silently planned the default canvas would make every paired difference zero."""

from __future__ import annotations

import pytest
import torch

from conftest import loaded_bench
from painterly import canvas as canvas_module
from painterly.canvas import Canvas, plan_canvas


@pytest.fixture(scope="module")
def variants():
    yield from loaded_bench("border_variants")


@pytest.fixture
def engine_state(variants):
    """What apply_variant patches (the bench's PATCHED), as it was before the test; after it,
    however it ends, the bench's restore_engine must put every one of them back."""
    saved = variants.engine_now()
    yield saved
    variants.restore_engine()
    assert variants.engine_now() == saved


def sides(canvas: Canvas) -> tuple[int, int, int, int]:
    return canvas.top, canvas.bottom, canvas.left, canvas.right


@pytest.mark.parametrize(
    ("spec", "height", "width", "expected"),
    [
        ("default", 171, 256, (10, 11, 10, 22)),  # RIGHT_MARGIN: 192x288
        ("min_right=16", 171, 256, (10, 11, 10, 22)),  # what it was measured as: the same
        ("margin=12", 171, 256, (18, 19, 14, 18)),
        ("min_top=16", 171, 256, (16, 5, 10, 22)),
        # the canvas before RIGHT_MARGIN, which the variants below were measured against
        ("right_margin=0", 171, 256, (10, 11, 8, 8)),
        ("right_margin=0,left=4,right=12", 171, 256, (10, 11, 4, 12)),
        ("right_margin=0,left=12,right=4", 171, 256, (10, 11, 12, 4)),
        ("right_margin=0,margin=12", 171, 256, (18, 19, 16, 16)),
        ("right_margin=0,right=12", 121, 181, (11, 12, 4, 7)),  # 11 spare columns: the left keeps 4
        ("right_margin=0,right=12", 85, 128, (7, 4, 4, 12)),
        ("right_margin=0,swap", 121, 181, (11, 12, 6, 5)),
        ("right_margin=0,margin=6", 121, 181, (11, 12, 13, 14)),
        ("right_margin=0,min_top=16,min_right=16", 171, 256, (16, 5, 10, 22)),  # grows: 192x288
        ("right_margin=0,min_left=12", 86, 128, (6, 4, 12, 4)),  # 144 wide either way
    ],
)
def test_variant_canvases(variants, monkeypatch, spec, height, width, expected):
    _, values = variants.parse_variant(spec)
    if "right_margin" in values:  # apply_variant sets it for the whole run (every scale)
        monkeypatch.setattr(canvas_module, "RIGHT_MARGIN", values["right_margin"])
    assert sides(variants.variant_canvas(plan_canvas, values, height, width, 16, 4)) == expected


def test_no_margin_is_left_alone(variants):
    _, values = variants.parse_variant("left=4,right=12")
    assert variants.variant_canvas(plan_canvas, values, 171, 256, 16, 0) == plan_canvas(171, 256, 16, 0)


@pytest.mark.parametrize("spec", ["left=4", "nearer=3", "first:top=5", "left=1,right=2"])
def test_bad_variants_are_refused(variants, spec):
    with pytest.raises(ValueError):
        _, values = variants.parse_variant(spec)
        variants.variant_canvas(plan_canvas, values, 171, 256, 16, 4)


def test_scopes_patch_only_their_scales(variants, engine_state):
    import painterly.transfer as transfer
    from painterly import calm

    plan, grams = engine_state["plan_canvas"], engine_state["_cached_grams"]
    variants.apply_variant("last:right_margin=0,left=4,right=12", (171, 256))
    assert canvas_module.RIGHT_MARGIN == 0
    assert sides(transfer.plan_canvas(171, 256, 16, 4)) == (10, 11, 4, 12)
    assert sides(transfer.plan_canvas(121, 181, 16, 4)) == (11, 12, 5, 6)  # a coarser scale
    variants.apply_variant("coarse:right_margin=0,swap", (171, 256))
    assert sides(transfer.plan_canvas(171, 256, 16, 4)) == (10, 11, 8, 8)
    assert sides(transfer.plan_canvas(121, 181, 16, 4)) == (11, 12, 6, 5)
    variants.apply_variant("top=5", (85, 128))
    assert canvas_module.TOP_MARGIN == 5
    assert sides(transfer.plan_canvas(85, 128, 16, 4)) == (5, 6, 10, 22)
    variants.apply_variant("interior=32,flat_power=1", (85, 128))
    assert transfer._cached_grams is not grams
    assert calm.FLATNESS_POWER == 1  # the flatness map before it was sharpened
    variants.apply_variant("default", (85, 128))
    assert (transfer.plan_canvas(85, 128, 16, 4), transfer._cached_grams) == (plan(85, 128, 16, 4), grams)
    assert (engine_state["TOP_MARGIN"], engine_state["RIGHT_MARGIN"], engine_state["FLATNESS_POWER"]) == (
        canvas_module.TOP_MARGIN,
        canvas_module.RIGHT_MARGIN,
        calm.FLATNESS_POWER,
    )


def test_interior_grams_cut_the_reflection_back(variants):
    """A painting's interior Grams come from maps of the painting's own size at every layer."""

    seen = {}

    def network(image, layers):
        seen["size"] = tuple(image.shape[-2:])
        return {"conv1_1": torch.ones(1, 2, *image.shape[-2:]), "conv3_1": torch.ones(1, 2, 12, 14)}

    grams = variants.interior_grams(8)(network, torch.zeros(1, 3, 32, 40), ("conv1_1", "conv3_1"), None)
    assert seen["size"] == (48, 56)
    assert grams["conv1_1"].shape == (1, 2, 2) and torch.allclose(
        grams["conv1_1"], torch.full((1, 2, 2), 0.5)
    )
    assert torch.allclose(grams["conv3_1"], torch.full((1, 2, 2), 0.5))


def band_row(seed: int, variant: str, band: float, preset: str = "quality", size: int = 256) -> dict:
    """A bench row of The Scream whose four sides all read ``band``."""
    sides = dict.fromkeys(("top", "bottom", "left", "right"), band)
    cell = {"pair": "texture × The Scream", "preset": preset, "size": size}
    return {**cell, "seed": seed, "canvas_variant": variant, "band": band, **sides}


def test_compare_pairs_each_run_with_the_same_photos_default(variants, capsys):
    base = [band_row(900, "default", -0.04), band_row(901, "default", -0.02), band_row(900, "right=7", 0.5)]
    rows = [
        band_row(900, "interior=32", -0.01),
        band_row(901, "interior=32", 0.0),
        band_row(902, "interior=32", 0.9),
    ]
    rows += [band_row(900, "interior=32", 0.3, size=128), band_row(901, "default", 0.7)]
    cells = variants.paired_cells(base, rows)
    assert list(cells) == [("The Scream", "quality", 256, "interior=32")]  # no default for 902 or 128 px
    assert [(b["seed"], r["band"]) for b, r in cells[("The Scream", "quality", 256, "interior=32")]] == [
        (900, -0.01),
        (901, 0.0),
    ]
    variants.compare(base, rows)
    out = capsys.readouterr().out
    assert "2 photos  default -3.0 ± 1.0  variant -0.5 ± 0.5  paired +2.5 ± 0.5" in out
    # the cell: the default's whole cell (here the same two photos) plus the paired shift
    assert "cell -0.5 ± 1.1 (default -3.0 ± 1.0, 2 photos)" in out
    assert "2 variant runs have no default run of the same photo" in out  # 902, and 128 px


def test_compare_reads_the_variant_against_the_defaults_whole_cell(variants, capsys):
    """A variant run on some photos is judged on the default cell's mean over all of them."""

    base = [band_row(900 + k, "default", 0.01 * k) for k in range(4)]  # the default's cell: +1.5 %
    rows = [band_row(900, "min_right=16", 0.02), band_row(901, "min_right=16", 0.03)]  # +2 points each
    variants.compare(base, rows)
    assert "paired +2.0 ± 0.0  cell +3.5 ± 0.6 (default +1.5 ± 0.6, 4 photos)" in capsys.readouterr().out


def test_compare_can_pair_against_another_variant(variants, capsys):
    """--base-variant: what a change moved on a canvas that is not the default's (flat_power=2
    against the min_right=16 runs it was painted beside); the default's runs stay out of it."""
    base = [
        band_row(900, "min_right=16", 0.01),
        band_row(901, "min_right=16", 0.03),
        band_row(900, "default", 0.5),
    ]
    rows = [
        band_row(900, "min_right=16,flat_power=2", 0.02),
        band_row(901, "min_right=16,flat_power=2", 0.02),
    ]
    cells = variants.paired_cells(base, rows, "min_right=16")
    assert [
        (b["band"], r["band"]) for b, r in cells[("The Scream", "quality", 256, "min_right=16,flat_power=2")]
    ] == [
        (0.01, 0.02),
        (0.03, 0.02),
    ]
    variants.compare(base, rows, "min_right=16")
    out = capsys.readouterr().out
    assert "min_right=16 +2.0 ± 1.0  variant +2.0 ± 0.0  paired +0.0 ± 1.0" in out
    assert "cell +2.0 ± 1.4 (min_right=16 +2.0 ± 1.0, 2 photos)" in out


def test_picture_variant_cuts_each_map_to_the_picture(variants):
    """``picture``: the style loss sees the picture's own positions of a canvas's maps."""
    seen = []
    canvas = plan_canvas(171, 256, 16, 4)  # 192 × 288: 10/11 rows, 10/22 columns of margin
    loss = variants.picture_only(lambda f, g, kind: seen.append(tuple(f.shape[-2:])), {canvas.size: canvas})
    for stride in (1, 4, 16):
        loss(torch.zeros(1, 2, 192 // stride, 288 // stride), None)
    loss(torch.zeros(1, 2, 50, 60), None)  # no canvas of that size: left whole
    assert seen == [(171, 256), (43, 64), (10, 16), (50, 60)]  # 171 rows: 42.75 at 4 px, 10.7 at 16


def test_weighted_picture_variant_weighs_positions_by_their_share_of_the_picture(variants):
    """``picture=2``: no cut; each position counts by the share of its cell inside the picture,
    so the Gram is F·diag(w)·Fᵀ / Σw (the plain loss's own normalisation undone)."""
    canvas = plan_canvas(171, 256, 16, 4)
    seen = []
    loss = variants.picture_only(lambda f, g, kind: seen.append(f), {canvas.size: canvas}, weighted=True)
    features = torch.rand(1, 3, 12, 18, dtype=torch.float64)  # the 16 px stride's map
    loss(features, None)
    rows = variants.cell_shares(12, canvas.top, canvas.height, 16, features)
    cols = variants.cell_shares(18, canvas.left, canvas.width, 16, features)
    assert rows[0] == (16 - canvas.top) / 16 and rows[1:-1].eq(1).all() and 0 < rows[-1] < 1
    w = (rows[:, None] * cols[None]).reshape(-1)
    f = features.reshape(3, -1)
    seen_f = seen[0].reshape(3, -1)
    expected = (f * w) @ f.T / w.sum()
    assert torch.allclose(seen_f @ seen_f.T / seen_f.shape[1], expected)


def test_both_and_circular_run_the_products_own_modes(variants, engine_state):
    """``both`` / ``circular``: the presets the runs are painted with carry
    ``style_edges="both"`` / ``padding="circular"``; any other variant leaves them as they are."""
    import border_margin

    variants.apply_variant("both", (85, 128))
    assert border_margin.preset_config("draft", size=64).style_edges == "both"
    assert border_margin.preset_config("draft", size=64, style_edges="whole").style_edges == "whole"
    variants.apply_variant("both,circular", (85, 128))
    both_circular = border_margin.preset_config("draft", size=64)
    assert (both_circular.style_edges, both_circular.padding) == ("both", "circular")
    variants.apply_variant("circular", (85, 128))
    circular = border_margin.preset_config("draft", size=64)
    assert (circular.style_edges, circular.padding) == ("whole", "circular")
    variants.apply_variant("default", (85, 128))
    plain = border_margin.preset_config("draft", size=64)
    assert (plain.style_edges, plain.padding) == ("whole", "reflect")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("900-903", [900, 901, 902, 903]), ("900,902", [900, 902]), ("905, 900-901,900", [905, 900, 901])],
)
def test_seeds_read_as_ranges_and_lists(variants, spec, expected):
    assert variants.parse_seeds(spec) == expected


@pytest.mark.parametrize("spec", ["900,x", "903-900", "", "900-"])
def test_bad_seeds_are_refused(variants, spec):
    with pytest.raises(ValueError, match="--seeds"):
        variants.parse_seeds(spec)


def test_insets_read_a_picture_against_its_own_photo(variants, tmp_path, capsys):
    """--insets finds each saved picture's photo from its file name: a "run" that gave back
    the photo itself reads 0 at every inset, and one darkened along its top edge reads its
    top band at inset 0 and nothing from 8 px in."""
    import border_margin as bm
    from painterly.images import pil_to_tensor, tensor_to_pil

    photo = pil_to_tensor(bm.photo_image(bm.TEXTURE, 128, 903))  # 128×85
    darker = photo.clone()
    darker[..., :2, :] *= 0.5
    tensor_to_pil(photo).save(tmp_path / "The_Scream_quality_128_903_default.png")
    tensor_to_pil(darker).save(tmp_path / "The_Scream_quality_128_903_top=7.png")
    (tmp_path / "notes.png").write_bytes(b"")  # not a bench picture: skipped
    variants.insets([tmp_path])
    out = capsys.readouterr().out
    default, dark = out.split("The Scream quality 128 px top=7: 1 pictures")
    assert default.count("band +0.0 ± 0.0  top +0.0%  bottom +0.0%  left +0.0%  right +0.0%") == len(
        variants.INSETS
    )
    first = dark.splitlines()[1]
    assert "inset  0 px" in first and float(first.split("top ")[1].split("%")[0]) < -5
    assert "inset  8 px  band +0.0 ± 0.0  top +0.0%" in dark
