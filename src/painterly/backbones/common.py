"""What every feature network shares: input preprocessing per weight format, the
activation swap and the pooling swap. Kept here so VGG and AlexNet swap alike."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from painterly.backbones.registry import CAFFE_BGR_MEAN, IMAGENET_RGB_MEAN, IMAGENET_RGB_STD
from painterly.errors import ConfigError
from painterly.fused_taps import TapLink, linked_relu
from painterly.precision import network_dtype


def input_stats(input_format: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, std) as 1×3×1×1 tensors in the order and scale the format expects."""
    if input_format == "caffe":
        return torch.tensor(CAFFE_BGR_MEAN).view(1, 3, 1, 1), torch.ones(1, 3, 1, 1)
    if input_format == "torchvision":
        return torch.tensor(IMAGENET_RGB_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_RGB_STD).view(
            1, 3, 1, 1
        )
    raise ConfigError(f"unknown weights format {input_format!r}; use torchvision or caffe")


def preprocess(image: torch.Tensor, input_format: str, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """RGB 0–1 → what the weights were trained on: caffe BGR 0–255 minus the mean,
    torchvision RGB (x − mean) / std."""
    if input_format == "caffe":
        return image.flip(1) * 255.0 - mean
    return (image - mean) / std


def activate(x: torch.Tensor, kind: str, slope: float, inplace: bool) -> torch.Tensor:
    """ReLU, LeakyReLU(slope) or Tanh: the activation swap of the research reports."""
    if kind == "relu":
        return F.relu(x, inplace=inplace)
    if kind == "leaky_relu":
        return F.leaky_relu(x, slope, inplace=inplace)
    return x.tanh_() if inplace else x.tanh()


def pool(x: torch.Tensor, kind: str, kernel: int = 2, stride: int = 2) -> torch.Tensor:
    """Max pooling as trained, or average pooling (Gatys et al.: smoother results)."""
    return F.max_pool2d(x, kernel, stride) if kind == "max" else F.avg_pool2d(x, kernel, stride)


def run_taps(
    x: torch.Tensor,
    tap_names: Sequence[str],
    taps: Sequence[str],
    conv: Callable[[str, torch.Tensor], torch.Tensor],
    activate_: Callable[[torch.Tensor, bool], torch.Tensor],
    pool_: Callable[[str, torch.Tensor], torch.Tensor],
    *,
    links: dict[str, TapLink] | None = None,
) -> dict[str, torch.Tensor]:
    """Run a preprocessed image through the taps in order, no deeper than the deepest asked
    for; one loop for every family (VGG, AlexNet), which supply their conv, activation and pool.

    ``links`` (a dict to fill; only for a plain ReLU network, see ``fused_taps``): each
    wanted tap right before a ReLU gets a linked ReLU, and its link lands in ``links``
    under the tap's name, so that losses on the tap add their gradient inside it."""
    wanted = set(taps)
    missing = wanted - set(tap_names)
    if missing:
        raise ConfigError(f"layer(s) {', '.join(sorted(missing))} are deeper than this network was built for")
    order = {name: i for i, name in enumerate(tap_names)}
    last = max(order[t] for t in wanted) if wanted else -1
    out: dict[str, torch.Tensor] = {}
    dtype = network_dtype()  # issue #16: --precision bf16 on a GPU; otherwise no autocast at all
    with contextlib.nullcontext() if dtype is None else torch.autocast(x.device.type, dtype=dtype):
        for name in tap_names[: last + 1]:
            if name.startswith("conv"):
                x = conv(name, x)
            elif name.startswith("relu"):
                # In place unless the conv output before it was asked for (it would be overwritten).
                before = tap_names[order[name] - 1]
                if before not in wanted:
                    x = activate_(x, True)
                elif links is not None and dtype is None and x.requires_grad and torch.is_grad_enabled():
                    x, links[before] = linked_relu(x)  # issue #16
                else:
                    x = activate_(x, False)
            else:
                x = pool_(name, x)
            if name in wanted:
                out[name] = x
    return out if dtype is None else {name: f.float() for name, f in out.items()}  # Grams need float32
