"""Style distances between paintings, and the representative work of a group (its medoid).

The style of a painting is its Gram matrices at the default style layers, computed at a small
fixed size (:data:`SIGNATURE_SIZE`) by the pretrained VGG19. The distance between two
paintings is the engine's style loss between them (mean squared Gram difference per layer),
each layer divided by its mean over all pairs so that no layer dominates by scale alone. The
representative of an artist or movement is the work with the least summed distance to the
others. For the bundled library the choice is precomputed (``representatives.json``, made by
``bench/library.py --write``); other groups (imports) are computed once and kept in the user
cache folder.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from painterly import paths
from painterly.library.catalog import Work, bundled_dir

if TYPE_CHECKING:
    import torch

    from painterly.backbones.vgg import VGG19Features

#: Longest side at which paintings are compared (style statistics, not detail).
SIGNATURE_SIZE = 256
#: The engine's default style layers.
SIGNATURE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
#: Most works compared when choosing a representative of a large (imported) group.
MAX_CANDIDATES = 24


def members_key(works: Sequence[Work]) -> str:
    """Identifies a group's membership (its sorted ids): a changed group is chosen again."""
    return hashlib.sha256("\n".join(sorted(w.id for w in works)).encode()).hexdigest()[:16]


def signatures(
    network: VGG19Features, images: Sequence[Any], size: int = SIGNATURE_SIZE, cache: Any = None
) -> list[dict[str, torch.Tensor]]:
    """Gram matrices of each image (path or Pillow image) at ``size`` px."""
    import torch

    from painterly.images import fit_size, load_image, pil_to_tensor, resize
    from painterly.transfer import style_grams

    device = next(network.parameters()).device
    out = []
    for source in images:
        img = load_image(source)
        t = pil_to_tensor(resize(img, fit_size(*img.size, size)), device)
        with torch.no_grad():
            out.append(style_grams(network, [t], SIGNATURE_LAYERS, [1.0], cache=cache))
    return out


def distance_matrix(sigs: Sequence[dict[str, torch.Tensor]]) -> torch.Tensor:
    """N×N style distances: per-layer mean squared Gram difference, each layer scaled by its
    mean over the pairs (so every layer counts alike), summed over layers."""
    import torch

    n = len(sigs)
    total = torch.zeros(n, n)
    for layer in SIGNATURE_LAYERS:
        flat = torch.stack([s[layer].flatten().cpu() for s in sigs])
        d = torch.cdist(flat, flat).square() / flat.shape[1]
        scale = d.sum() / max(1, n * (n - 1))
        total += d / scale if scale > 0 else d
    return total


def medoid(distances: torch.Tensor) -> int:
    """Index of the item with the least summed distance to the others."""
    return int(distances.sum(dim=1).argmin())


def load_network() -> VGG19Features:
    from painterly.backbones.vgg import VGG19Features

    return VGG19Features.pretrained("avg", "relu", last_tap=SIGNATURE_LAYERS[-1], device="cpu")


def _read(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def bundled_choices() -> dict[str, Any]:
    """The precomputed representatives of the bundled groups."""
    return _read(bundled_dir() / "representatives.json").get("groups", {})


def representative(works: Sequence[Work], group: str, network: VGG19Features | None = None) -> Work:
    """The work of ``works`` closest in style to the rest (precomputed, cached, or computed now)."""
    from painterly.library.resolve import spread

    key = members_key(works)
    by_id = {w.id: w for w in works}
    known = bundled_choices().get(group)
    if known and known.get("members") == key and known.get("id") in by_id:
        return by_id[known["id"]]
    cache_file = paths.user_cache_dir() / "representatives.json"
    cached = _read(cache_file).get(f"{group}|{key}")
    if cached in by_id:
        return by_id[cached]
    candidates = spread(works, MAX_CANDIDATES)
    sigs = signatures(network or load_network(), [w.path for w in candidates])
    chosen = candidates[medoid(distance_matrix(sigs))]
    _remember(cache_file, f"{group}|{key}", chosen.id)
    return chosen


def _remember(path: Path, key: str, value: str) -> None:
    from painterly.images import atomic_write_text

    data = _read(path)
    data[f"{key}"] = value
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(data, indent=1, sort_keys=True))
    except OSError:
        pass  # only a cache
