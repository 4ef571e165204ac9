"""The mesh figure (issue #17): two variants side by side (plain pixels vs the pixel
pyramid, or the calm term off vs on), full pictures and crops of each photo's flattest
window, from the pictures ``bench/quality.py --modes mesh`` (or ``calm``) saved.

    PYTHONPATH=src python bench/mesh_figure.py 128 docs/quality/mesh_before_after.png [OUT/mesh]
    PYTHONPATH=src python bench/mesh_figure.py 256 docs/quality/calm_256.png OUT/calm "calm 0" "calm 2"
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch.nn.functional as F
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality as Q
from painterly.lab.artefacts import flat_mask


def slug(label: str, variant: str, size: int) -> str:
    return "".join(c if c.isalnum() else "_" for c in f"{label}_{variant}_{size}")


def main(size: int, out: str, src: str, variants: tuple[str, str] = ("plain pixels", "pyramid")) -> None:
    win, zoom = (32, 4) if size <= 128 else (48, 3)
    rows = []
    for label, photo_path, _painting, _kind in Q.PAIRS[:4]:
        try:
            pics = [Image.open(f"{src}/{slug(label, v, size)}.png").convert("RGB") for v in variants]
        except FileNotFoundError:
            continue
        # The window of the photo with the most flat pixels: where the mesh shows.
        density = F.avg_pool2d(flat_mask(Q.photo_at(photo_path, size)).float(), win, stride=4)
        i, w = int(density.flatten().argmax()), density.shape[-1]
        y, x = (i // w) * 4, (i % w) * 4
        box = (x, y, x + win, y + win)
        crops = [p.crop(box).resize((win * zoom, win * zoom), Image.NEAREST) for p in pics]
        for p in pics:
            ImageDraw.Draw(p).rectangle(box, outline=(255, 0, 0))
        rows.append((label.replace("×", "x"), pics + crops))
    width = sum(p.width for p in rows[0][1]) + 6 * 5
    height = sum(max(p.height for p in ps) + 20 for _, ps in rows) + 24
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    title = f"mesh at {size} px, balanced: {variants[0]} | {variants[1]} | {zoom}x crops (red box)"
    draw.text((6, 4), title, fill="black")
    y = 24
    for label, pictures in rows:
        draw.text((6, y), label, fill="black")
        y += 14
        x = 6
        for p in pictures:
            sheet.paste(p, (x, y))
            x += p.width + 6
        y += max(p.height for p in pictures) + 6
    sheet.save(out)


if __name__ == "__main__":
    main(
        int(sys.argv[1]),
        sys.argv[2],
        sys.argv[3] if len(sys.argv) > 3 else str(Q.ROOT / "bench/out/quality/mesh"),
        (sys.argv[4], sys.argv[5]) if len(sys.argv) > 5 else ("plain pixels", "pyramid"),
    )
