"""Names of the VGG19 feature taps.

Pure data with no torch import, so that configs can validate layer names
without loading a network.
"""

from __future__ import annotations

#: Convolutions per block of VGG19.
VGG19_BLOCKS: tuple[int, ...] = (2, 2, 4, 4, 4)


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
