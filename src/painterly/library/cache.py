"""A disk cache of style Gram matrices, so a second run with the same painting skips its
VGG19 pass.

A painting's Gram targets depend only on the pixels VGG sees (the painting after resizing and
any colour matching: we hash that tensor, which covers the file's content, the size and the
colour mode), the layers, and the network (pooling, activation, its weights, the device's
arithmetic). Each of those is part of the key, so changing any one of them misses. Entries are
single-painting Grams; a blend is summed from them, so a movement shares entries with its works.

The folder (``<user_cache_dir>/grams`` by default) is capped in bytes; when a write pushes it
over the cap the least recently used entries (by modification time, refreshed on every hit)
are removed first.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from painterly import paths

if TYPE_CHECKING:
    import torch

    from painterly.backbones.vgg import VGG19Features

#: Default size cap of the cache folder.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
#: Bumped when what an entry means changes (the Gram normalisation, the file format).
FORMAT_VERSION = 1


def network_fingerprint(network: VGG19Features) -> str:
    """What identifies a network's arithmetic: its family and input convention, pooling,
    activation and its first layer's weights (a different weight file or backbone, random
    weights or a quantised copy all differ there)."""
    import torch

    first = network.convs[network.tap_names[0]]
    digest = hashlib.sha256()
    for t in (first.weight, first.bias):
        digest.update(t.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    # the backbone family, its architecture and its input convention (caffe or torchvision)
    arch, convention = getattr(network, "arch", ""), getattr(network, "input_format", "")
    family = f"{type(network).__name__}:{arch}:{convention}"
    # issue #17: the edge padding changes every Gram; zeros (the old only choice) keeps old keys
    padding = getattr(network, "padding", "zeros")
    pad = f"|pad:{padding}" if padding != "zeros" else ""
    return f"{family}|{network.pooling}|{network.activation}:{network.slope}{pad}|{digest.hexdigest()[:16]}"


class GramCache:
    """Single-painting Gram matrices on disk, keyed by what they depend on."""

    def __init__(self, folder: str | os.PathLike[str] | None = None, max_bytes: int = DEFAULT_MAX_BYTES):
        self.folder = Path(folder) if folder is not None else paths.user_cache_dir() / "grams"
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0

    def key(
        self, style: torch.Tensor, layers: Sequence[str], network: VGG19Features, edges: str = "whole"
    ) -> str:
        """Hash of the pixels VGG sees, their shape, the layers, the network, the device and
        which positions enter the Grams (painterly.style_edges)."""
        import torch

        digest = hashlib.sha256()
        pixels = style.detach().to("cpu", torch.float32).contiguous()
        digest.update(pixels.numpy().tobytes())
        meta = {
            "v": FORMAT_VERSION,
            "shape": list(style.shape),
            "dtype": str(style.dtype),
            "device": style.device.type,
            "layers": list(layers),
            "network": network_fingerprint(network),
        }
        if edges != "whole":  # issue #17: the whole painting (the old only choice) keeps old keys
            meta["edges"] = edges
        digest.update(json.dumps(meta, sort_keys=True).encode())
        return digest.hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.pt"

    def get(self, key: str, device: torch.device | str = "cpu") -> dict[str, torch.Tensor] | None:
        """The cached Grams (moved to ``device``), or None; a damaged entry counts as a miss."""
        import torch

        path = self._path(key)
        try:
            grams = torch.load(path, map_location="cpu", weights_only=True)
            os.utime(path)  # least recently *used*: a hit refreshes the entry
        except FileNotFoundError:
            self.misses += 1
            return None
        except Exception:  # truncated or foreign file: drop it and recompute
            path.unlink(missing_ok=True)
            self.misses += 1
            return None
        self.hits += 1
        return {k: v.to(device) for k, v in grams.items()}

    def put(self, key: str, grams: dict[str, torch.Tensor]) -> None:
        """Store Grams atomically, then evict the oldest entries past the size cap.
        A cache that cannot be written (read-only home, full disk) is skipped silently:
        the run does not need it."""
        import torch

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            buffer = io.BytesIO()
            torch.save({k: v.detach().to("cpu") for k, v in grams.items()}, buffer)
            fd, tmp = tempfile.mkstemp(prefix=".gram.", suffix=".tmp", dir=self.folder)
            with os.fdopen(fd, "wb") as handle:
                handle.write(buffer.getvalue())
            os.replace(tmp, self._path(key))
        except OSError:
            return
        self.evict()

    def entries(self) -> list[tuple[float, int, Path]]:
        """(last use, bytes, path) of every entry, oldest first."""
        found = []
        for path in self.folder.glob("*.pt"):
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            found.append((st.st_mtime, st.st_size, path))
        return sorted(found)

    def size(self) -> int:
        return sum(size for _, size, _ in self.entries())

    def evict(self) -> int:
        """Remove least recently used entries until the folder fits the cap; returns how many."""
        entries = self.entries()
        total = sum(size for _, size, _ in entries)
        removed = 0
        for _, size, path in entries:
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
            removed += 1
        return removed

    def clear(self) -> None:
        for _, _, path in self.entries():
            path.unlink(missing_ok=True)


def touch_later(path: Path, seconds: float) -> None:
    """Set an entry's last use ``seconds`` from now (tests of the eviction order)."""
    stamp = time.time() + seconds
    os.utime(path, (stamp, stamp))
