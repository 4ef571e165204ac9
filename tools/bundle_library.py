"""Copy ../shared/styles into the package, resized (longest side 640 px, JPEG q85), with the catalogue.

Run once from the repository root: ``python tools/bundle_library.py [SOURCE]``. The paintings
were already public-domain JPEGs of 800–1024 px; 640 px keeps every style size the engine uses
by default (512 px) sharp while the whole library stays a few MB inside the wheel.
"""

from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path

from PIL import Image

LONGEST, QUALITY = 640, 85
ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "src" / "painterly" / "library"


def main(source: Path) -> None:
    out = TARGET / "paintings"
    out.mkdir(parents=True, exist_ok=True)
    with open(source / "catalog.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        with Image.open(source / row["file"]) as img:
            img = img.convert("RGB")
            scale = LONGEST / max(img.size)
            if scale < 1:
                img = img.resize(
                    (round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS
                )
            img.save(out / row["file"], "JPEG", quality=QUALITY, optimize=True)
    shutil.copy(source / "catalog.csv", TARGET / "catalog.csv")
    shutil.copy(source / "README.md", TARGET / "CREDITS.md")
    print(f"bundled {len(rows)} paintings into {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent.parent / "shared" / "styles")
