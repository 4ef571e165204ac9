"""Luminance and per-channel colour histograms of several pictures, overlaid, to see
how far a result's colours moved from the photo's towards the painting's."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from painterly.errors import InputError
from painterly.images import atomic_write_bytes, open_image
from painterly.records import read_manifest

CHANNELS = ("luminance", "red", "green", "blue")
#: Rec. 601 luma weights (what JPEG and most "grayscale" conversions use).
LUMA = (0.299, 0.587, 0.114)
#: Histograms are taken on a copy no larger than this (the shape does not change).
MAX_SIDE = 512


def histograms(image: Image.Image, bins: int = 64) -> dict[str, np.ndarray]:
    """Normalised histograms (each sums to 1) of luminance and R, G, B on 0–255."""
    img = image.convert("RGB")
    if max(img.size) > MAX_SIDE:
        img = img.copy()
        img.thumbnail((MAX_SIDE, MAX_SIDE))
    pixels = np.asarray(img, dtype=np.float64).reshape(-1, 3)
    planes = {
        "luminance": pixels @ np.array(LUMA),
        "red": pixels[:, 0],
        "green": pixels[:, 1],
        "blue": pixels[:, 2],
    }
    out = {}
    for name, values in planes.items():
        counts, _ = np.histogram(values, bins=bins, range=(0, 256))
        out[name] = counts / max(1, counts.sum())
    return out


def expand_inputs(paths: Sequence[str]) -> list[tuple[str, str]]:
    """(label, image path) pairs: an image labels itself by file name; a run's
    manifest (.json) stands for its content, style(s) and output."""
    items: list[tuple[str, str]] = []
    for p in paths:
        if Path(p).suffix.lower() == ".json":
            manifest = read_manifest(p)
            inputs = manifest["inputs"]
            if "content" in inputs:
                items.append((f"content: {Path(inputs['content']['path']).name}", inputs["content"]["path"]))
            for s in inputs.get("styles", []):
                items.append((f"style: {Path(s['path']).name}", s["path"]))
            output = manifest.get("output", "")
            if not Path(output).is_file():
                raise InputError(f"{p}: its output {output} is missing")
            items.append((f"output: {Path(output).name}", output))
        else:
            items.append((Path(p).name, p))
    return items


def histogram_figure(
    images: Sequence[tuple[str, Image.Image]],
    path: str | os.PathLike[str],
    title: str = "",
    bins: int = 64,
) -> Path:
    """A 2×2 figure (luminance, red, green, blue) with one curve per labelled image."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(10, 6.5), dpi=100, sharex=True)
    centres = (np.arange(bins) + 0.5) * 256 / bins
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, image) in enumerate(images):
        hist = histograms(image, bins)
        lum = np.asarray(image.convert("L"), dtype=np.float64)
        for ax, name in zip(axes.flat, CHANNELS):
            colour = colours[i % len(colours)]
            ax.plot(
                centres, hist[name], color=colour, linewidth=1.6, label=f"{label} (mean {lum.mean():.0f})"
            )
            ax.fill_between(centres, hist[name], color=colour, alpha=0.12)
    for ax, name in zip(axes.flat, CHANNELS):
        ax.set_title(name)
        ax.set_xlim(0, 255)
        ax.grid(True, alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("value (0–255)")
    for ax in axes[:, 0]:
        ax.set_ylabel("share of pixels")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(title or "luminance and colour histograms")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return atomic_write_bytes(path, buffer.getvalue())


def load_labelled(items: Sequence[tuple[str, str]]) -> list[tuple[str, Image.Image]]:
    """Open every image (InputError naming a bad one)."""
    return [(label, open_image(p)) for label, p in items]
