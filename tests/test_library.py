"""The style library (#10): catalogue, name resolution, representatives, imports, CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import make_image
from painterly.cli import run_command
from painterly.errors import ConfigError, InputError
from painterly.images import open_image, resolve_styles
from painterly.library import Library, resolve_query
from painterly.library.catalog import bundled_dir, user_library_dir
from painterly.library.imports import import_dataset
from painterly.library.representative import (
    bundled_choices,
    distance_matrix,
    medoid,
    members_key,
    representative,
)
from painterly.library.resolve import MAX_BLEND, is_query, resolve_run_styles, spread
from painterly.masks import parse_mask_spec


def cli(capsys, *args):
    code = run_command([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


# --- the bundled catalogue ---


def test_every_catalogue_row_is_a_readable_image():
    with open(bundled_dir() / "catalog.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    works = Library.load().works
    assert len(rows) == len(works) == 69
    for work in works:
        img = open_image(work.path)
        assert max(img.size) <= 640 and min(img.size) >= 200, work.id
        assert resolve_query(work.id).works == (work,)
    assert len(Library.load().movements()) == 14
    assert (bundled_dir() / "CREDITS.md").read_text().startswith("# Public-domain style library")


def test_precomputed_representatives_match_the_bundled_groups():
    """representatives.json must be remade when the bundled groups change (bench/library.py --write)."""
    library = Library.load()
    choices = bundled_choices()
    groups = {f"movement:{k}": v for k, v in library.movements().items()}
    groups.update({f"artist:{k}": v for k, v in library.artists().items() if len(v) > 1})
    for name, works in groups.items():
        if len(works) > 1:
            assert choices[name]["members"] == members_key(works), name
            assert choices[name]["id"] in {w.id for w in works}


# --- resolution ---


def test_movement_artist_and_id_resolve_to_files_and_weights(painting):
    blend = resolve_query("movement:fauvism", "blend")
    assert blend.mode == "blend" and len(blend.works) == 4 and sum(blend.weights) == pytest.approx(1)
    assert {w.movements[0] for w in blend.works} == {"fauvism"}
    rep = resolve_query("movement:Fauvism", "representative")  # any case
    assert rep.works[0].id == bundled_choices()["movement:fauvism"]["id"] and rep.weights == (1.0,)
    assert {w.artist for w in resolve_query("artist:van_gogh").works} == {"Vincent van Gogh"}
    assert resolve_query("artist:Vincent van Gogh").works == resolve_query("artist:van_gogh").works

    # a painting given 3:1 against a movement of 4 works: each work gets 1/16
    choice = resolve_styles([str(painting), "movement:fauvism"], (3.0, 1.0), group="blend")
    assert choice.sources[0] == str(painting) and len(choice.sources) == 5
    assert choice.weights == pytest.approx((0.75, 0.0625, 0.0625, 0.0625, 0.0625))
    assert choice.records[0]["query"] == "movement:fauvism" and len(choice.records[0]["works"]) == 4
    # plain files pass through untouched
    assert not resolve_styles([str(painting)]).expanded


def test_big_groups_blend_a_spread_of_works():
    impressionism = Library.load().movements()["impressionism"]
    assert len(impressionism) == 11 <= MAX_BLEND
    picked = spread(impressionism * 3, 6)
    assert len(picked) == 6 and len({w.artist_slug for w in picked}) > 1


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("movement:fauvisme", "no movement 'fauvisme'; did you mean fauvism?"),
        ("artist:van_gohg", "did you mean van_gogh"),
        ("van_gogh-the_starry_night-1899", "did you mean van_gogh-the_starry_night-1889"),
        ("movement:", "give a name after movement:"),
        ("artist:nobody_at_all", "no artist 'nobody_at_all'"),
    ],
)
def test_typos_and_unknown_names(query, fragment):
    with pytest.raises(ConfigError) as info:
        resolve_query(query)
    assert fragment in str(info.value)


def test_what_counts_as_a_library_name(painting):
    assert (
        is_query("movement:cubism") and is_query("Artist:monet") and is_query("monet-impression_sunrise-1872")
    )
    assert not is_query(str(painting)) and not is_query("missing.jpg") and not is_query("some/dir/x")
    with pytest.raises(InputError, match="no such file"):
        open_image("missing.jpg")


def test_mask_specs_take_library_names():
    assert parse_mask_spec("m.png:movement:fauvism").style == "movement:fauvism"
    spec = parse_mask_spec("m.png:artist:van_gogh:0.5")
    assert (spec.mask, spec.style, spec.weight) == ("m.png", "artist:van_gogh", 0.5)
    assert parse_mask_spec("m.png:style.jpg:2").style == "style.jpg"


def test_run_styles_make_a_remakeable_config():
    from painterly import FastConfig, TransferConfig

    files, config, records = resolve_run_styles(
        ["movement:cubism"], TransferConfig(style_group="representative")
    )
    assert len(files) == 1 and config.style_blend_weights == (1.0,) and records[0]["mode"] == "representative"
    files, fast, _ = resolve_run_styles(["artist:monet"], FastConfig())
    assert len(files) == 5 and fast.style_weights == pytest.approx((0.2,) * 5)
    with pytest.raises(ConfigError, match="style_group"):
        TransferConfig(style_group="median")


# --- representatives ---


def test_medoid_is_the_work_closest_to_the_rest():
    base = torch.eye(4)
    sigs = [
        {layer: base * s for layer in ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")}
        for s in (0.9, 1.0, 1.1, 5.0)
    ]
    d = distance_matrix(sigs)
    assert d.shape == (4, 4) and torch.allclose(d, d.T) and float(d.diagonal().abs().max()) == 0
    assert medoid(d) in (1, 2)  # squared distances lean towards the outlier, never onto it
    assert medoid(distance_matrix(sigs[:3])) == 1


def test_representative_of_an_imported_group_is_computed_once_and_cached(tmp_path, tiny_net, monkeypatch):
    lib = tmp_path / "lib"
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    rows = []
    for i, seed in enumerate((5, 5, 6, 40)):
        make_image(data / "images" / f"w{i}.png", (64, 64), seed=seed)
        rows.append({"file": f"images/w{i}.png", "artist": "Ann Painter", "movement": "tonalism"})
    with open(data / "list.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["file", "artist", "movement"])
        writer.writeheader()
        writer.writerows(rows)
    assert len(import_dataset(data, library=lib).taken) == 4
    works = Library.load(lib).movements()["tonalism"]
    chosen = representative(works, "movement:tonalism", network=tiny_net)
    assert chosen.id in {"ann_painter-w0", "ann_painter-w1", "ann_painter-w2"}  # never the outlier
    import painterly.library.representative as rep

    monkeypatch.setattr(rep, "signatures", lambda *a, **k: pytest.fail("recomputed"))
    assert representative(works, "movement:tonalism") == chosen


# --- imports ---


def best_artworks(root: Path) -> Path:
    """A small Best Artworks dataset with the faults real downloads have."""
    images = root / "images"
    for folder, count in (("Claude_Monet", 2), ("Vincent_van_Gogh", 2), ("Paul_Klee", 1)):
        (images / folder).mkdir(parents=True)
        for n in range(1, count + 1):
            make_image(images / folder / f"{folder}_{n}.jpg", (56, 48), seed=n + len(folder))
    (images / "Vincent_van_Gogh" / "Vincent_van_Gogh_3.jpg").write_bytes(b"not a jpeg at all")
    (images / "Claude_Monet" / "Claude_Monet_3.jpg").write_bytes(b"")
    (images / "Claude_Monet" / "notes.txt").write_text("not an image")
    header = "id,name,years,genre,nationality,bio,wikipedia,paintings\n"
    body = (
        '0,Claude Monet,1840 - 1926,Impressionism,French,"A bio, with commas",http://x,3\n'
        '1,Vincent van Gogh,1853 - 1890,"Post-Impressionism,Expressionism",Dutch,bio,http://x,3\n'
        "2,,1900 - 1950,Cubism,French,no name here,http://x,1\n"
        "3,Paul Klee,1879 - 1940,,Swiss,no genre,http://x,1\n"
        "4,Frida Kahlo,1907 - 1954,Primitivism,Mexican,no folder,http://x,5\n"
    )
    (root / "artists.csv").write_text(header + body, encoding="utf-8")
    return root


def test_import_best_artworks_layout(tmp_path):
    lib = tmp_path / "lib"
    report = import_dataset(best_artworks(tmp_path / "ds"), library=lib)
    assert report.layout == "best-artworks"
    assert sorted(report.taken) == [
        "claude_monet-1",
        "claude_monet-2",
        "vincent_van_gogh-1",
        "vincent_van_gogh-2",
    ]
    skipped = "\n".join(report.skipped)
    assert len(report.skipped) == 5, skipped
    assert "artists.csv line 4: no artist name" in skipped
    assert "artists.csv line 5: Paul Klee: no genre" in skipped
    assert "artists.csv line 6: Frida Kahlo: no folder images/Frida_Kahlo" in skipped
    assert "Vincent_van_Gogh_3.jpg: not an image file" in skipped
    assert "Claude_Monet_3.jpg: file is empty" in skipped

    library = Library.load(lib)
    assert len(library.works) == 69 + 4
    gogh = library.by_id["vincent_van_gogh-1"]
    assert gogh.movements == ("post_impressionism", "expressionism") and gogh.origin == "user"
    assert open_image(gogh.path).size == (56, 48)
    # multi-genre artists are listed under each movement, beside the bundled works
    expressionism = {w.id for w in library.movements()["expressionism"]}
    assert "vincent_van_gogh-2" in expressionism and "munch-the_scream-1893" in expressionism
    # and artist:van_gogh now takes the bundled and the imported van Goghs
    assert len([w for w in library.works if w.artist_slug in ("van_gogh", "vincent_van_gogh")]) == 8

    # the Kaggle archive's images/images/ nesting reads the same
    nested = tmp_path / "kaggle"
    (nested / "images").mkdir(parents=True)
    (nested / "artists.csv").write_bytes((tmp_path / "ds" / "artists.csv").read_bytes())
    (tmp_path / "ds" / "images").rename(nested / "images" / "images")
    assert len(import_dataset(nested, library=tmp_path / "lib2").taken) == 4
    (nested / "images" / "images").rename(tmp_path / "ds" / "images")

    again = import_dataset(tmp_path / "ds", library=lib)
    assert again.taken == [] and len(again.already) == 4
    assert len(Library.load(lib).works) == 73


def test_import_any_folder_with_a_csv_and_column_flags(tmp_path):
    data = tmp_path / "mine"
    (data / "pics").mkdir(parents=True)
    make_image(data / "pics" / "a.png", (40, 40), seed=1)
    make_image(data / "pics" / "b.png", (40, 40), seed=2)
    (data / "pics" / "c.png").write_bytes(b"\x89PNG broken")
    (data / "works.csv").write_text(
        "path,painter,school,name\n"
        "pics/a.png,Jane Doe,Tonalism,Dusk\n"
        "pics/b.png,Jane Doe,,No movement\n"
        "pics/c.png,Jane Doe,Tonalism,Broken\n"
        "pics/zz.png,Jane Doe,Tonalism,Missing\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="no column 'file'"):
        import_dataset(data, library=tmp_path / "lib")
    report = import_dataset(
        data,
        file_column="path",
        artist_column="painter",
        movement_column="school",
        title_column="name",
        library=tmp_path / "lib",
    )
    assert report.taken == ["jane_doe-a"] and report.layout == "csv"
    skipped = "\n".join(report.skipped)
    assert "works.csv line 3: no movement" in skipped
    assert "works.csv line 4:" in skipped and "c.png" in skipped
    assert "works.csv line 5: no such file" in skipped
    work = Library.load(tmp_path / "lib").by_id["jane_doe-a"]
    assert work.title == "Dusk" and work.movements == ("tonalism",)


# --- the command line ---


def test_styles_cli_list_show_sheet(capsys, tmp_path):
    code, out, _ = cli(capsys, "styles", "list", "-m", "fauvism")
    assert code == 0 and len(out.strip().splitlines()) == 4 and "matisse-woman_with_a_hat-1905" in out
    code, out, _ = cli(capsys, "styles", "list", "--movements")
    assert code == 0 and "movement:ukiyo_e" in out and len(out.strip().splitlines()) == 14
    code, out, _ = cli(capsys, "styles", "list", "sunrise", "--json")
    assert code == 0 and json.loads(out)[0]["id"] == "monet-impression_sunrise-1872"
    code, out, _ = cli(capsys, "styles", "show", "van_gogh-the_starry_night-1889")
    assert code == 0 and "The Starry Night" in out and "van_gogh-the_starry_night-1889.jpg" in out
    code, out, _ = cli(capsys, "styles", "show", "movement:cubism")
    assert code == 0 and "representative" in out and "picabia-udnie-1913" in out
    code, _, err = cli(capsys, "styles", "list", "-m", "fauvisme")
    assert code == 2 and "did you mean fauvism?" in err and len(err.strip().splitlines()) == 1
    sheet = tmp_path / "sheet.png"
    code, out, _ = cli(capsys, "styles", "sheet", "-m", "cubism", "-o", sheet, "--cell", "48")
    assert code == 0 and Image.open(sheet).size[0] > 3 * 48


def test_styles_cli_import_and_remove(capsys, tmp_path):
    code, out, err = cli(capsys, "styles", "import", best_artworks(tmp_path / "ds"))
    assert code == 0 and "imported 4 painting(s), 0 already in the library, skipped 5" in out
    assert "line 6: Frida Kahlo" in err
    assert (user_library_dir() / "catalog.csv").is_file()
    code, out, _ = cli(capsys, "styles", "list", "-a", "claude_monet")
    assert code == 0 and "claude_monet-1" in out and "monet-impression_sunrise-1872" in out
    code, out, _ = cli(capsys, "styles", "import", tmp_path / "ds", "-q")
    assert "imported 0 painting(s), 4 already in the library" in out
    code, _, err = cli(capsys, "styles", "remove", "monet-impression_sunrise-1872")
    assert code == 2 and "only imported styles can be removed" in err
    code, out, _ = cli(capsys, "styles", "remove", "artist:vincent_van_gogh", "claude_monet-1")
    assert code == 0 and "removed 3" in out
    assert [w.id for w in Library.load().works if w.origin == "user"] == ["claude_monet-2"]
    code, out, _ = cli(capsys, "styles", "remove", "claude_monet-2")
    assert code == 0 and not list((user_library_dir() / "images").glob("*"))


@pytest.mark.slow
def test_run_paints_a_movement_and_the_manifest_remakes_it(capsys, photo, tmp_path):
    out = tmp_path / "fauve.png"
    code, _, err = cli(capsys, "run", photo, "movement:fauvism", "-o", out, "-s", "32", "-n", "2", "-q")
    assert code == 0, err
    manifest = json.loads(out.with_suffix(".json").read_text())
    assert manifest["library"][0]["query"] == "movement:fauvism"
    assert len(manifest["inputs"]["styles"]) == 4 and manifest["config"]["style_blend_weights"] == [0.25] * 4
    again = tmp_path / "again.png"
    code, _, err = cli(capsys, "run", "--from-manifest", out.with_suffix(".json"), "-o", again, "-q")
    assert code == 0, err
    assert (np.asarray(Image.open(out)) == np.asarray(Image.open(again))).all()
    code, _, err = cli(capsys, "run", photo, "movement:fauvisme", "-o", tmp_path / "x.png", "-q")
    assert code == 2 and "did you mean fauvism?" in err


def test_a_mask_region_takes_a_library_name(photo, tmp_path, tiny_net):
    from painterly import TransferConfig, stylize

    mask = make_image(tmp_path / "mask.png", (48, 40), seed=3, mode="L")
    cfg = TransferConfig(size=32, iterations=2, masks=(f"{mask}:movement:cubism:2",), cache=False)
    result = stylize(photo, "artist:klimt", cfg, network=tiny_net)
    assert result.ok and result.image.size == (32, 27)
    bad = cfg.replace(masks=(f"{mask}:movement:cubismo",))
    with pytest.raises(ConfigError, match="did you mean cubism"):
        stylize(photo, "artist:klimt", bad, network=tiny_net)
