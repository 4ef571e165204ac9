"""Importing datasets of artworks into the user library.

Two layouts:

* "Best Artworks of All Time": ``artists.csv`` (id, name, years, genre, nationality, bio,
  wikipedia, paintings) and ``images/<Artist_Name>/<Artist_Name>_<n>.jpg``; a genre may hold
  several comma-separated movements, and the work is listed under each;
* any folder with a CSV naming each work's file, artist and movement (column names given by
  the caller; an optional title column).

Every image is decoded before it is taken (then stored as JPEG, longest side at most
:data:`STORE_LONGEST` px), so a broken file is reported now, with its path, and never reaches a
run. Broken CSV rows are reported with their line number. Re-importing is idempotent: a work
whose id is already in the library is counted as already there and left alone.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from painterly.errors import InputError
from painterly.library.catalog import USER_COLUMNS, Work, bundled_works, slug, user_library_dir, user_works

#: Longest side of a stored imported painting (the engine's styles rarely need more).
STORE_LONGEST = 1024
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")


@dataclass
class ImportReport:
    """What an import did: works taken, already present, and each skipped row or file (why)."""

    taken: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    layout: str = ""

    def summary(self) -> str:
        return (
            f"imported {len(self.taken)} painting(s), {len(self.already)} already in the library, "
            f"skipped {len(self.skipped)}"
        )


@dataclass(frozen=True)
class Candidate:
    """One work to import: where its file is and what it is."""

    file: Path
    title: str
    artist: str
    movements: tuple[str, ...]
    year: str
    where: str  # "artists.csv line 3" or the CSV line: what a skip message names


def _read_csv(path: Path) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV with their line numbers (the header is line 1)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    reader = csv.DictReader(io.StringIO(text))
    rows = []
    try:
        for row in reader:
            rows.append((reader.line_num, {k.strip(): (v or "").strip() for k, v in row.items() if k}))
    except csv.Error as exc:
        raise InputError(f"{path} line {reader.line_num}: {exc}") from None
    if reader.fieldnames is None:
        raise InputError(f"{path}: empty CSV")
    return rows


def _find_folder(images: Path, name: str) -> Path | None:
    """The artist's folder: 'Vincent van Gogh' → images/Vincent_van_Gogh, else any folder with
    the same slug (the dataset's own names have spelling and encoding quirks)."""
    exact = images / name.replace(" ", "_")
    if exact.is_dir():
        return exact
    want = slug(name)
    for folder in sorted(images.iterdir()) if images.is_dir() else []:
        if folder.is_dir() and slug(folder.name) == want:
            return folder
    return None


def best_artworks_candidates(root: Path, report: ImportReport) -> list[Candidate]:
    """Works of the Best Artworks layout; bad artist rows are reported and skipped."""
    index = root / "artists.csv"
    rows = _read_csv(index)
    if rows and not {"name", "genre"} <= set(rows[0][1]):
        raise InputError(f"{index}: expected columns name and genre (the Best Artworks layout)")
    images = root / "images"
    if (images / "images").is_dir():  # the Kaggle archive unpacks to images/images/<Artist_Name>/
        images = images / "images"
    found: list[Candidate] = []
    for line, row in rows:
        where = f"{index} line {line}"
        name, genre = row.get("name", ""), row.get("genre", "")
        movements = tuple(dict.fromkeys(slug(g) for g in genre.split(",") if slug(g)))
        if not name:
            report.skipped.append(f"{where}: no artist name")
            continue
        if not movements:
            report.skipped.append(f"{where}: {name}: no genre")
            continue
        folder = _find_folder(images, name)
        if folder is None:
            report.skipped.append(f"{where}: {name}: no folder images/{name.replace(' ', '_')}")
            continue
        for file in sorted(folder.iterdir()):
            if file.suffix.lower() in IMAGE_SUFFIXES:
                number = file.stem.rsplit("_", 1)[-1]
                title = f"{name} #{number}" if number.isdigit() else file.stem.replace("_", " ")
                found.append(Candidate(file, title, name, movements, row.get("years", ""), str(file)))
    return found


def csv_candidates(
    root: Path,
    table: Path,
    file_column: str,
    artist_column: str,
    movement_column: str,
    title_column: str | None,
    report: ImportReport,
) -> list[Candidate]:
    """Works listed in any CSV; files are relative to the CSV's folder (else to ``root``)."""
    rows = _read_csv(table)
    columns = set(rows[0][1]) if rows else set()
    for flag, name in (
        ("--file-column", file_column),
        ("--artist-column", artist_column),
        ("--movement-column", movement_column),
    ):
        if rows and name not in columns:
            raise InputError(
                f"{table}: no column {name!r} ({flag}); columns are {', '.join(sorted(columns))}"
            )
    found = []
    for line, row in rows:
        where = f"{table} line {line}"
        file, artist = row.get(file_column, ""), row.get(artist_column, "")
        movements = tuple(dict.fromkeys(slug(m) for m in row.get(movement_column, "").split(",") if slug(m)))
        missing = [n for n, v in (("file", file), ("artist", artist), ("movement", movements)) if not v]
        if missing:
            report.skipped.append(f"{where}: no {' and no '.join(missing)}")
            continue
        path = table.parent / file
        if not path.exists() and (root / file).exists():
            path = root / file
        if not path.is_file():
            report.skipped.append(f"{where}: no such file {path}")
            continue
        title = (row.get(title_column, "") if title_column else "") or Path(file).stem.replace("_", " ")
        found.append(Candidate(path, title, artist, movements, row.get("year", ""), where))
    return found


def _decode(path: Path) -> Image.Image:
    """The image, fully decoded, or InputError naming the problem."""
    from painterly.images import open_image

    return open_image(path)


def work_id(candidate: Candidate) -> str:
    """'vincent_van_gogh-12' for images/Vincent_van_Gogh/Vincent_van_Gogh_12.jpg."""
    artist = slug(candidate.artist)
    stem = slug(candidate.file.stem)
    if stem.startswith(artist + "_"):
        stem = stem[len(artist) + 1 :]
    return f"{artist}-{stem}"


def import_dataset(
    root: str | os.PathLike[str],
    *,
    table: str | os.PathLike[str] | None = None,
    file_column: str = "file",
    artist_column: str = "artist",
    movement_column: str = "movement",
    title_column: str | None = "title",
    library: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import a dataset folder into the user library (``library``: its folder, default the
    user data folder). ``table``: the CSV of a plain folder (default: its only CSV)."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder")
    folder = library or user_library_dir()
    report = ImportReport()
    if table is None and (root / "artists.csv").is_file() and (root / "images").is_dir():
        report.layout = "best-artworks"
        candidates = best_artworks_candidates(root, report)
    else:
        if table is None:
            tables = sorted(root.glob("*.csv"))
            if len(tables) != 1:
                raise InputError(
                    f"{root}: expected artists.csv + images/ (Best Artworks) or one CSV "
                    f"(found {len(tables)}; name it with --csv)"
                )
            table = tables[0]
        report.layout = "csv"
        candidates = csv_candidates(
            root, Path(table), file_column, artist_column, movement_column, title_column, report
        )

    existing = {w.id: w for w in user_works(folder)}
    bundled = {w.id for w in bundled_works()}
    images = folder / "images"
    new_rows: list[Work] = []
    for n, cand in enumerate(candidates):
        if progress:
            progress(n, len(candidates))
        wid = work_id(cand)
        if wid in existing or wid in bundled or wid in {w.id for w in new_rows}:
            report.already.append(wid)
            continue
        try:
            img = _decode(cand.file)
        except InputError as exc:
            report.skipped.append(f"{cand.where}: {exc}" if cand.where != str(cand.file) else str(exc))
            continue
        images.mkdir(parents=True, exist_ok=True)
        if max(img.size) > STORE_LONGEST:
            scale = STORE_LONGEST / max(img.size)
            img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS)
        from painterly.images import save_image

        save_image(img, images / f"{wid}.jpg", quality=90)
        new_rows.append(
            Work(
                wid,
                cand.title,
                cand.artist,
                slug(cand.artist),
                cand.year,
                cand.movements,
                images / f"{wid}.jpg",
                "user",
                str(cand.file),
            )
        )
        report.taken.append(wid)
    if new_rows:
        write_catalog(folder, [*existing.values(), *new_rows])
    return report


def write_catalog(folder: Path, works: list[Work]) -> None:
    """The user library's catalogue, written atomically (after the pictures)."""
    from painterly.images import atomic_write_text

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=USER_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for w in works:
        writer.writerow(
            {
                "id": w.id,
                "file": w.path.name,
                "title": w.title,
                "artist": w.artist,
                "artist_slug": w.artist_slug,
                "year": w.year,
                "movements": ";".join(w.movements),
                "source": w.source,
            }
        )
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "catalog.csv", buffer.getvalue())


def remove_works(ids: list[str], library: Path | None = None) -> list[str]:
    """Remove imported works (their files and catalogue rows); returns the ids removed."""
    folder = library or user_library_dir()
    works = user_works(folder)
    gone = [w for w in works if w.id in set(ids)]
    if gone:
        write_catalog(folder, [w for w in works if w.id not in set(ids)])  # catalogue first: no dangling rows
        for w in gone:
            w.path.unlink(missing_ok=True)
    return [w.id for w in gone]
