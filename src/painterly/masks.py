"""Spatial control (Gatys et al. 2017, §4): each region of the photo takes its own style.

A region is a grey image over the photo (white = inside) with the painting it takes
(or none: that region keeps only the content loss) and a weight. Its Gram matrices
are *guided*: features are multiplied by the region's mask, downsampled to each
layer's resolution, and averaged over the region's area instead of the whole image,
so a small region is held to its painting as firmly as a large one.

Spec strings, as given on the command line: ``CONTENT_MASK:STYLE[:WEIGHT]`` where
STYLE is an image path or ``none``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from painterly.errors import ConfigError, InputError
from painterly.images import open_image, resize, resolve_style_path

#: The STYLE value meaning "content only" for a region.
NO_STYLE = "none"


@dataclass(frozen=True)
class MaskSpec:
    """One parsed ``CONTENT_MASK:STYLE[:WEIGHT]``; ``style`` is None for content only."""

    mask: str | Image.Image  # a file, or an in-memory grey image (portrait mode)
    style: str | Image.Image | None
    weight: float = 1.0


def parse_mask_spec(spec: str) -> MaskSpec:
    """Split ``CONTENT_MASK:STYLE[:WEIGHT]`` (ConfigError naming the spec if malformed)."""
    parts = split_spec(spec)
    weight = 1.0
    if len(parts) >= 3:
        try:
            weight = float(parts[-1])
            parts = parts[:-1]
        except ValueError:
            pass  # a path with a colon in it: no weight given
    if len(parts) < 2:
        raise ConfigError(f"mask {spec!r}: expected CONTENT_MASK:STYLE[:WEIGHT] (STYLE may be 'none')")
    cut = -1
    if len(parts) >= 3 and parts[-2].lower() in ("artist", "movement"):  # a library name (issue #10)
        cut = -2
    style = ":".join(parts[cut:])
    mask = ":".join(parts[:cut])
    if not mask or not style:
        raise ConfigError(f"mask {spec!r}: both the mask image and the style (or 'none') are needed")
    if not math.isfinite(weight) or weight < 0:
        raise ConfigError(f"mask {spec!r}: weight must be a finite number ≥ 0")
    return MaskSpec(mask, None if style.lower() == NO_STYLE else style, weight)


def split_spec(spec: str) -> list[str]:
    """Split a spec on ``:`` but keep Windows drive letters with their path (issue #18):
    ``C:\\m.png:D:/s.jpg:0.5`` → ``["C:\\m.png", "D:/s.jpg", "0.5"]``."""
    raw = spec.split(":")
    parts: list[str] = []
    i = 0
    while i < len(raw):
        token = raw[i]
        nxt = raw[i + 1] if i + 1 < len(raw) else ""
        if len(token) == 1 and token.isascii() and token.isalpha() and nxt[:1] in ("\\", "/"):
            parts.append(f"{token}:{nxt}")
            i += 2
        else:
            parts.append(token)
            i += 1
    return parts


def check_mask_files(specs: list[MaskSpec]) -> None:
    """Open every mask and style file once so that a bad one fails before long work."""
    for spec in specs:
        if not isinstance(spec.mask, Image.Image):  # in-memory masks: portrait mode (issue #9)
            open_image(spec.mask)
        if spec.style is not None and not isinstance(spec.style, Image.Image):
            open_image(resolve_style_path(spec.style))


def load_mask(
    path: str | os.PathLike[str] | Image.Image, size: tuple[int, int], device: torch.device | str
) -> torch.Tensor:
    """A mask image (file or Pillow image) → 1×1×H×W weights in 0–1 at ``size`` (w, h):
    black/white or grey, any mode (its luminance is used)."""
    if isinstance(path, Image.Image):
        return map_tensor(path, (size[1], size[0]), device).clamp(0, 1)
    img = resize(open_image(path), size).convert("L")
    arr = np.asarray(img, dtype=np.float32) / 255.0
    if arr.max() <= 0:
        raise InputError(f"{Path(path)}: mask is all black, so its region is empty")
    return torch.from_numpy(arr)[None, None].to(device)


def downsample(mask: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """A 1×1×H×W mask averaged down to a layer's h×w (area interpolation)."""
    if tuple(mask.shape[-2:]) == tuple(shape):
        return mask
    return F.interpolate(mask, size=shape, mode="area")


def guided_gram(features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Gram matrix of N×C×H×W features over a 1×1×H×W region mask, averaged over the
    region: (F·m)(F·m)ᵀ / (C·Σm²). With an all-ones mask it equals ``gram_matrix``."""
    n, c, h, w = features.shape
    flat = (features * mask).reshape(n, c, h * w)
    area = mask.square().sum().clamp_min(1e-8)
    return torch.bmm(flat, flat.transpose(1, 2)) / (c * area)


def remainder(masks: list[torch.Tensor]) -> torch.Tensor:
    """What no region covers: 1 − Σ masks, clipped to 0–1 (the main style's region)."""
    total = torch.stack(masks).sum(dim=0)
    return (1.0 - total).clamp(0, 1)


def map_tensor(image: Image.Image, shape: tuple[int, int], device: torch.device | str) -> torch.Tensor:
    """A grey map (mode "F" keeps its float values; "L" is read as 0–1) → 1×1×h×w tensor at
    ``shape`` (h, w), resized with bilinear interpolation."""
    h, w = int(shape[0]), int(shape[1])
    if image.mode == "F":
        arr = np.asarray(image.resize((w, h), Image.BILINEAR), dtype=np.float32)
    else:
        arr = np.asarray(image.convert("L").resize((w, h), Image.BILINEAR), dtype=np.float32) / 255.0
    return torch.from_numpy(arr.copy())[None, None].to(device)
