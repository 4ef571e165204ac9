"""Names of the VGG19 feature taps.

Pure data with no torch import, so that configs can validate layer names
without loading a network.
"""

from __future__ import annotations

#: Convolutions per block of VGG19.
VGG19_BLOCKS: tuple[int, ...] = (2, 2, 4, 4, 4)
#: Output channels of each VGG block (VGG16's and VGG19's alike).
VGG_CHANNELS: tuple[int, ...] = (64, 128, 256, 512, 512)


def vgg19_tap_names() -> tuple[str, ...]:
    """All tap names in network order: conv1_1, relu1_1, ..., pool5."""
    names: list[str] = []
    for block, convs in enumerate(VGG19_BLOCKS, start=1):
        for i in range(1, convs + 1):
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
        names.append(f"pool{block}")
    return tuple(names)


def tap_downsampling(name: str) -> int:
    """How many times the image has been halved when it reaches this tap."""
    block = int(name[4])  # "conv3_1", "relu3_1", "pool3": the block digit is always at index 4
    return block if name.startswith("pool") else block - 1


def check_tap(name: str) -> str:
    """Return the name if it is a known tap, else raise ValueError with the choices."""
    if name not in vgg19_tap_names():
        raise ValueError(
            f"unknown layer {name!r}; known layers are conv1_1..conv5_4, relu1_1..relu5_4, "
            "pool1..pool5 (see `painterly layers`)"
        )
    return name


# --- several backbones (VGG11/13/16/19, AlexNet): issue #14 ---
# The functions above keep their VGG19 meaning; the ones below take a backbone name.

#: The feature networks painterly can build, and the convolutions per block of each VGG.
BACKBONES: tuple[str, ...] = ("vgg19", "vgg16", "vgg13", "vgg11", "alexnet")
VGG_BLOCKS: dict[str, tuple[int, ...]] = {
    "vgg11": (1, 1, 2, 2, 2),
    "vgg13": (2, 2, 2, 2, 2),
    "vgg16": (2, 2, 3, 3, 3),
    "vgg19": VGG19_BLOCKS,
}
#: AlexNet (torchvision's "one weird trick" variant, Krizhevsky 2014), as
#: (tap, kernel, stride, padding): pools after conv1, conv2 and conv5 only, as in the paper.
ALEXNET_LAYERS: tuple[tuple[str, int, int, int], ...] = (
    ("conv1", 11, 4, 2), ("relu1", 0, 0, 0), ("pool1", 3, 2, 0),
    ("conv2", 5, 1, 2), ("relu2", 0, 0, 0), ("pool2", 3, 2, 0),
    ("conv3", 3, 1, 1), ("relu3", 0, 0, 0),
    ("conv4", 3, 1, 1), ("relu4", 0, 0, 0),
    ("conv5", 3, 1, 1), ("relu5", 0, 0, 0), ("pool5", 3, 2, 0),
)  # fmt: skip
#: Default (content layers, style layers) per backbone. VGG: Gatys et al. 2016 (content
#: conv4_2, style the first conv of each block), which exist in VGG13/16/19 alike; VGG11 has
#: one conv in blocks 1–2 and two later, so conv4_2 is still there. AlexNet: the same recipe,
#: one conv per stage (style conv1..conv5); content conv4, the layer Mahendran & Vedaldi
#: (2015, inverting AlexNet) found still keeps the photo's layout while dropping its texture.
DEFAULT_LAYERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    **{name: (("conv4_2",), ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")) for name in VGG_BLOCKS},
    "alexnet": (("conv4",), ("conv1", "conv2", "conv3", "conv4", "conv5")),
}


def check_backbone(backbone: str) -> str:
    """Return the name if painterly can build it, else ValueError with the choices."""
    if backbone not in BACKBONES:
        raise ValueError(f"unknown backbone {backbone!r}; use one of {', '.join(BACKBONES)}")
    return backbone


def tap_names(backbone: str = "vgg19") -> tuple[str, ...]:
    """All tap names of a backbone in network order."""
    if check_backbone(backbone) == "alexnet":
        return tuple(layer[0] for layer in ALEXNET_LAYERS)
    names: list[str] = []
    for block, convs in enumerate(VGG_BLOCKS[backbone], start=1):
        for i in range(1, convs + 1):
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
        names.append(f"pool{block}")
    return tuple(names)


def check_backbone_tap(name: str, backbone: str = "vgg19") -> str:
    """Return the name if the backbone has that tap, else ValueError naming the choices."""
    if backbone == "vgg19":
        return check_tap(name)  # the message VGG19 users already know
    names = tap_names(backbone)
    if name not in names:
        convs = [n for n in names if n.startswith("conv")]
        relus = [n for n in names if n.startswith("relu")]
        pools = [n for n in names if n.startswith("pool")]
        raise ValueError(
            f"unknown {backbone} layer {name!r}; known layers are {convs[0]}..{convs[-1]}, "
            f"{relus[0]}..{relus[-1]}, {', '.join(pools)} (see `painterly layers --backbone {backbone}`)"
        )
    return name


def feature_size(size: int, tap: str, backbone: str = "vgg19") -> int:
    """Side in pixels of the feature map at ``tap`` for an input side of ``size`` px."""
    if backbone != "alexnet":
        return size // 2 ** tap_downsampling(tap)
    for name, kernel, stride, pad in ALEXNET_LAYERS:
        if kernel:
            size = (size + 2 * pad - kernel) // stride + 1
        if name == tap:
            return size
    raise ValueError(f"unknown alexnet layer {tap!r}")


def tap_min_size(tap: str, backbone: str = "vgg19") -> int:
    """The smallest image side (px) for which ``tap`` still has at least one position."""
    if backbone != "alexnet":
        return 2 ** tap_downsampling(tap)
    size = 1
    while feature_size(size, tap, backbone) < 1:
        size += 1
    return size


def tap_scale(tap: str, backbone: str = "vgg19") -> int:
    """How many input pixels one feature position spans along a side (1, 2, 4, ... 32)."""
    if backbone != "alexnet":
        return 2 ** tap_downsampling(tap)
    index = tap_names("alexnet").index(tap)
    pools = sum(1 for n in tap_names("alexnet")[: index + 1] if n.startswith("pool"))
    return 4 * 2**pools
