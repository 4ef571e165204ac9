"""A labelled contact sheet of library works: one row per movement."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from PIL import Image

from painterly.library.catalog import Work

#: Most thumbnails in a row before it wraps.
ROW_LENGTH = 8


def caption(work: Work) -> str:
    """'van gogh 1889': the artist's short name (ASCII: the sheet's font has no accents) and year."""
    year = re.search(r"\d{3,4}", work.year)
    name = unicodedata.normalize("NFKD", work.artist_slug.replace("_", " "))
    return f"{name.encode('ascii', 'ignore').decode()} {year.group(0) if year else ''}".strip()


def library_sheet(
    works: Sequence[Work], cell: int = 160, title: str = "painterly style library"
) -> Image.Image:
    """Thumbnails grouped by (first) movement, each captioned with artist and year."""
    from painterly.images import open_image
    from painterly.lab.sheets import contact_sheet

    groups: dict[str, list[Work]] = {}
    for w in sorted(works, key=lambda w: (w.movements[0] if w.movements else "", w.artist_slug, w.id)):
        groups.setdefault(w.movements[0] if w.movements else "?", []).append(w)
    rows, labels, captions = [], [], []
    for movement, members in groups.items():
        for start in range(0, len(members), ROW_LENGTH):
            chunk = members[start : start + ROW_LENGTH]
            thumbs = []
            for w in chunk:
                img = open_image(w.path)
                img.thumbnail((cell, cell))
                thumbs.append(img)
            rows.append(thumbs)
            labels.append(movement.replace("_", " ") if start == 0 else "")
            captions.append([caption(w) for w in chunk])
    return contact_sheet(
        rows,
        row_labels=labels,
        captions=captions,
        title=title,
        cell=cell,
        notes=[f"{len(works)} works; ids: painterly styles list"],
    )
