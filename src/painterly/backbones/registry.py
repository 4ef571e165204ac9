"""The weight files painterly knows: where each comes from, its checksum and its input format.

Pure data (no torch import), so ``painterly models list`` answers at once.

The input format decides the preprocessing, and it is recorded here rather than guessed
from the tensors (the same key names and shapes hold either kind):

* ``torchvision``: RGB in 0–1, normalised with the ImageNet mean and std
  (torchvision's own ``vgg16-397923af.pth``, ``alexnet-owt-7be5be79.pth``, ...).
* ``caffe``: BGR in 0–255 with the ImageNet mean subtracted, no std (the original Caffe
  weights of Simonyan & Zisserman as converted by jcjohnson/pytorch-vgg, which
  neural-style and neural-style-pt use).

Checksums: torchvision publishes no full SHA-256 for these files; the 8 hex digits in each
file name are the start of its SHA-256, and ``torch.hub`` verifies exactly that prefix
(``check_hash``). We verify the same prefix. The jcjohnson files follow the same naming
(they were made for ``torch.utils.model_zoo.load_url``, which checked the prefix), so the
same rule applies. A full 64-digit hash is compared in full when an entry has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

InputFormat = Literal["torchvision", "caffe"]
#: How the state dict names its tensors: ``features`` is torchvision's ``features.<index>.weight``
#: (the jcjohnson conversions use it too); ``named`` is ours (``conv1_1.weight``).
KeyLayout = Literal["features", "named"]
INPUT_FORMATS: tuple[str, ...] = ("torchvision", "caffe")

#: ImageNet statistics for each format: (mean, std) in the channel order and scale it expects.
IMAGENET_RGB_MEAN = (0.485, 0.456, 0.406)
IMAGENET_RGB_STD = (0.229, 0.224, 0.225)
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)


@dataclass(frozen=True)
class KnownWeights:
    """One weight file painterly can verify and use without being told anything about it."""

    name: str  # what `painterly models download NAME` takes
    backbone: str  # the architecture it fits (see painterly.taps.BACKBONES)
    format: InputFormat
    url: str
    sha256: str  # the full digest, or its leading hex digits (at least 8)
    layout: KeyLayout = "features"
    size_mb: float = 0.0  # approximate download size, for messages
    note: str = ""

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    def matches(self, digest: str) -> bool:
        """True when a file's full SHA-256 hex digest is this entry's."""
        return digest.lower().startswith(self.sha256.lower())


_TV = "https://download.pytorch.org/models/"
_JJ = "https://web.eecs.umich.edu/~justincj/models/"

KNOWN: tuple[KnownWeights, ...] = (
    KnownWeights("vgg16", "vgg16", "torchvision", _TV + "vgg16-397923af.pth", "397923af", size_mb=528,
                 note="torchvision IMAGENET1K_V1"),
    KnownWeights("vgg19", "vgg19", "torchvision", _TV + "vgg19-dcbb9e9d.pth", "dcbb9e9d", size_mb=548,
                 note="torchvision IMAGENET1K_V1 (VGG19 itself ships with painterly)"),
    KnownWeights("vgg13", "vgg13", "torchvision", _TV + "vgg13-19584684.pth", "19584684", size_mb=508,
                 note="torchvision IMAGENET1K_V1"),
    KnownWeights("vgg11", "vgg11", "torchvision", _TV + "vgg11-8a719046.pth", "8a719046", size_mb=507,
                 note="torchvision IMAGENET1K_V1"),
    KnownWeights("alexnet", "alexnet", "torchvision", _TV + "alexnet-owt-7be5be79.pth", "7be5be79",
                 size_mb=233, note="torchvision IMAGENET1K_V1 (one weird trick variant)"),
    KnownWeights("vgg16-caffe", "vgg16", "caffe", _JJ + "vgg16-00b39a1b.pth", "00b39a1b", size_mb=528,
                 note="original Caffe VGG16 via jcjohnson/pytorch-vgg (as in neural-style)"),
    KnownWeights("vgg19-caffe", "vgg19", "caffe", _JJ + "vgg19-d01eb7cb.pth", "d01eb7cb", size_mb=548,
                 note="original Caffe VGG19 via jcjohnson/pytorch-vgg (as in neural-style)"),
)  # fmt: skip


def known(name: str, registry: tuple[KnownWeights, ...] | None = None) -> KnownWeights | None:
    """The entry called ``name``, or None."""
    return next((k for k in entries(registry) if k.name == name), None)


def by_digest(digest: str, registry: tuple[KnownWeights, ...] | None = None) -> KnownWeights | None:
    """The entry whose checksum a file with this SHA-256 has, or None."""
    return next((k for k in entries(registry) if k.matches(digest)), None)


def by_filename(filename: str, registry: tuple[KnownWeights, ...] | None = None) -> KnownWeights | None:
    """The entry whose official file name this is (then its checksum must match), or None."""
    return next((k for k in entries(registry) if k.filename == filename), None)


def suggested(backbone: str, registry: tuple[KnownWeights, ...] | None = None) -> KnownWeights | None:
    """The file to point a user at when ``backbone`` is missing: the first entry for it."""
    return next((k for k in entries(registry) if k.backbone == backbone), None)


def entries(registry: tuple[KnownWeights, ...] | None = None) -> tuple[KnownWeights, ...]:
    """The given registry, or the built-in one (looked up at call time, so tests can swap it)."""
    return KNOWN if registry is None else registry
