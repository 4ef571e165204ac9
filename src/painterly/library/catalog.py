"""The style library: the bundled public-domain paintings plus what the user imported.

A :class:`Work` is one painting with its artist and movement(s). The bundled works come
with the package (``painterly/library/paintings`` and ``catalog.csv``); imported ones live
in the user data folder (``<user_data_dir>/library``, see :mod:`painterly.paths`) with a
catalogue of the same shape. No torch here: ``painterly styles list`` must answer at once.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

from painterly import paths
from painterly.errors import InputError

#: Columns of the user library's catalogue (``movements`` separated by ';').
USER_COLUMNS = ("id", "file", "title", "artist", "artist_slug", "year", "movements", "source")


def slug(text: str) -> str:
    """'Vincent van Gogh' → 'vincent_van_gogh'; 'Post-Impressionism' → 'post_impressionism'."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


@dataclass(frozen=True)
class Work:
    """One painting of the library."""

    id: str
    title: str
    artist: str
    artist_slug: str
    year: str
    movements: tuple[str, ...]
    path: Path
    origin: str  # "bundled" or "user"
    source: str = ""
    notes: str = ""

    def matches(self, text: str) -> bool:
        """Whether ``text`` (any case) occurs in the id, title, artist or movements."""
        text = text.lower()
        hay = " ".join((self.id, self.title, self.artist, self.artist_slug, *self.movements)).lower()
        return text in hay

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "artist": self.artist,
            "artist_slug": self.artist_slug,
            "year": self.year,
            "movements": list(self.movements),
            "path": str(self.path),
            "origin": self.origin,
            "source": self.source,
            "notes": self.notes,
        }


def bundled_dir() -> Path:
    """The folder of the bundled library inside the installed package."""
    return Path(str(resources.files("painterly.library")))


def user_library_dir() -> Path:
    """Where imported styles go: ``<user_data_dir>/library`` (images/ and catalog.csv)."""
    return paths.user_data_dir() / "library"


def bundled_works() -> list[Work]:
    """The paintings that ship with the package (ids are the file stems)."""
    base = bundled_dir()
    with open(base / "catalog.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    works = []
    for row in rows:
        stem = Path(row["file"]).stem
        works.append(
            Work(
                id=stem,
                title=row["title"],
                artist=row["artist"],
                artist_slug=stem.split("-", 1)[0],
                year=row["year"],
                movements=(row["movement"],),
                path=base / "paintings" / row["file"],
                origin="bundled",
                source=f"{row['source_repo']}:{row['source_path']}",
                notes=row.get("notes", ""),
            )
        )
    return works


def user_works(folder: Path | None = None) -> list[Work]:
    """The imported paintings (none when nothing was imported)."""
    folder = folder or user_library_dir()
    index = folder / "catalog.csv"
    if not index.is_file():
        return []
    try:
        with open(index, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{index}: unreadable user library catalogue ({exc})") from None
    return [
        Work(
            id=row["id"],
            title=row["title"],
            artist=row["artist"],
            artist_slug=row["artist_slug"],
            year=row["year"],
            movements=tuple(m for m in row["movements"].split(";") if m),
            path=folder / "images" / row["file"],
            origin="user",
            source=row.get("source", ""),
        )
        for row in rows
    ]


@dataclass
class Library:
    """All works, bundled first, then the user's (a user id never shadows a bundled one)."""

    works: list[Work] = field(default_factory=list)

    @classmethod
    def load(cls, user_folder: Path | None = None) -> Library:
        """The bundled library plus the user's imports (read afresh each call: no global state)."""
        bundled = bundled_works()
        taken = {w.id for w in bundled}
        return cls(bundled + [w for w in user_works(user_folder) if w.id not in taken])

    @cached_property
    def by_id(self) -> dict[str, Work]:
        return {w.id: w for w in self.works}

    def movements(self) -> dict[str, list[Work]]:
        """Movement → its works, movements in alphabetical order."""
        groups: dict[str, list[Work]] = {}
        for work in self.works:
            for movement in work.movements:
                groups.setdefault(movement, []).append(work)
        return dict(sorted(groups.items()))

    def artists(self) -> dict[str, list[Work]]:
        """Artist slug → their works, in alphabetical order."""
        groups: dict[str, list[Work]] = {}
        for work in self.works:
            groups.setdefault(work.artist_slug, []).append(work)
        return dict(sorted(groups.items()))

    def select(
        self, movement: str | None = None, artist: str | None = None, text: str | None = None
    ) -> list[Work]:
        """Works of a movement and/or artist (slugs) containing ``text``."""
        return [
            w
            for w in self.works
            if (movement is None or slug(movement) in w.movements)
            and (artist is None or w.artist_slug == slug(artist))
            and (text is None or w.matches(text))
        ]


def sorted_ids(works: Iterable[Work]) -> list[str]:
    return sorted(w.id for w in works)
