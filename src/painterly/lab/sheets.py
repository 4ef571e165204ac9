"""Labelled contact sheets drawn with Pillow: a grid of pictures whose rows and
columns are the axes of an experiment, with the settings written on the sheet so
that a figure still makes sense when it travels without its report."""

from __future__ import annotations

import re
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

BACKGROUND = (255, 255, 255)
INK = (20, 20, 20)
MUTED = (110, 110, 110)
EMPTY = (228, 228, 228)
PAD = 8


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font at ``size`` px (no system fonts needed)."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: only the small bitmap font
        return ImageFont.load_default()


#: Characters the bundled font lacks, and what to draw instead.
SUBSTITUTES = str.maketrans({"×": "x", "≥": ">=", "≤": "<=", "…": "...", "β": "b", "α": "a"})


def drawable(text: str) -> str:
    """``text`` with the characters the bundled font cannot draw replaced."""
    return text.translate(SUBSTITUTES)


def text_width(text: str, face: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> int:
    return int(face.getlength(text))


def wrap(text: str, face: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> list[str]:
    """Greedy word wrap to ``width`` px; also breaks after commas so that long
    lists of layers or weights wrap too."""
    lines: list[str] = []
    for paragraph in drawable(text).split("\n"):
        # (token, preceded by a space?): "a,b c" → ("a,", F) ("b", F) ("c", T)
        tokens = [
            (part, k == 0 and n > 0)
            for n, word in enumerate(paragraph.split())
            for k, part in enumerate(re.findall(r"[^,]+,?|,", word))
        ]
        line = ""
        for part, spaced in tokens:
            candidate = line + (" " if spaced and line else "") + part
            if text_width(candidate, face) <= width or not line:
                line = candidate
            else:
                lines.append(line)
                line = part
        lines.append(line)
    return lines


def thumbnail(image: Image.Image, cell: int) -> Image.Image:
    """The image scaled to fit a ``cell`` px square (never enlarged more than 2×,
    so small test images stay honest)."""
    scale = min(cell / image.width, cell / image.height, 2.0)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.convert("RGB").resize(size, Image.Resampling.LANCZOS)


def contact_sheet(
    cells: Sequence[Sequence[Image.Image | None]],
    row_labels: Sequence[str] = (),
    column_labels: Sequence[str] = (),
    captions: Sequence[Sequence[str]] | None = None,
    title: str = "",
    notes: Sequence[str] = (),
    cell: int = 224,
    row_header: str = "",
    column_header: str = "",
) -> Image.Image:
    """A white sheet with a title, notes (e.g. the fixed settings), column labels on
    top, row labels on the left and one picture per cell with an optional caption
    under it. ``None`` cells are drawn as grey boxes marked "not run"."""
    rows = len(cells)
    cols = max((len(r) for r in cells), default=0)
    label_face, small_face, title_face = font(14), font(12), font(18)
    images = [[thumbnail(im, cell) if im is not None else None for im in row] for row in cells]
    # Cells as large as the largest picture (at least wide enough for a short caption).
    cell_w = max([96] + [im.width for row in images for im in row if im is not None])
    cell_h = max([0] + [im.height for row in images for im in row if im is not None]) or cell
    line = 16
    caption_lines = max(
        (len(wrap(c, small_face, cell_w)) for row in (captions or []) for c in row if c), default=0
    )
    cap_h = caption_lines * 15 + (4 if caption_lines else 0)
    left = 0
    if row_labels:
        left = min(220, max(text_width(w, label_face) for lab in row_labels for w in lab.split()) + 2 * PAD)
        left = max(left, 90)
    col_lines = [wrap(c, label_face, cell_w) for c in column_labels] if column_labels else []
    col_h = max((len(c) for c in col_lines), default=0) * line + (PAD if col_lines else 0)
    total_w = left + cols * (cell_w + PAD) + PAD
    header_lines = wrap(title, title_face, total_w - 2 * PAD) if title else []
    note_lines = [ln for n in notes for ln in wrap(n, small_face, total_w - 2 * PAD)]
    if column_header:
        note_lines.append(f"columns: {column_header}" + (f"   rows: {row_header}" if row_header else ""))
    elif row_header:
        note_lines.append(f"rows: {row_header}")
    top = PAD + len(header_lines) * 22 + len(note_lines) * 15 + (PAD if header_lines or note_lines else 0)
    total_h = top + col_h + rows * (cell_h + cap_h + PAD) + PAD
    sheet = Image.new("RGB", (max(total_w, 120), max(total_h, 40)), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    y = PAD
    for text in header_lines:
        draw.text((PAD, y), text, fill=INK, font=title_face)
        y += 22
    for text in note_lines:
        draw.text((PAD, y), text, fill=MUTED, font=small_face)
        y += 15
    y = top
    for c, lines in enumerate(col_lines):
        x0 = left + PAD + c * (cell_w + PAD)
        for i, text in enumerate(lines):
            draw.text(
                (x0 + (cell_w - text_width(text, label_face)) // 2, y + i * line),
                text,
                fill=INK,
                font=label_face,
            )
    y = top + col_h
    for r, row in enumerate(images):
        y0 = y + r * (cell_h + cap_h + PAD)
        if r < len(row_labels):
            lines = wrap(row_labels[r], label_face, left - 2 * PAD)
            ty = y0 + max(0, (cell_h - len(lines) * line) // 2)
            for i, text in enumerate(lines):
                draw.text((PAD, ty + i * line), text, fill=INK, font=label_face)
        for c, im in enumerate(row):
            x0 = left + PAD + c * (cell_w + PAD)
            if im is None:
                draw.rectangle((x0, y0, x0 + cell_w - 1, y0 + cell_h - 1), fill=EMPTY)
                draw.text((x0 + PAD, y0 + PAD), "not run", fill=MUTED, font=small_face)
            else:
                sheet.paste(im, (x0 + (cell_w - im.width) // 2, y0 + (cell_h - im.height) // 2))
            text = captions[r][c] if captions and r < len(captions) and c < len(captions[r]) else ""
            for i, cap in enumerate(wrap(text, small_face, cell_w) if text else []):
                draw.text(
                    (x0 + (cell_w - text_width(cap, small_face)) // 2, y0 + cell_h + 3 + i * 15),
                    cap,
                    fill=MUTED,
                    font=small_face,
                )
    return sheet
