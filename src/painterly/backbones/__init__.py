"""Feature networks with named taps.

Names are imported lazily, so that the torch-free parts (the weights registry and the
installed-models store, used by ``painterly models list``) load without torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "VGG19Features": "vgg",
    "deepest_tap": "vgg",
    "load_vgg19_weights": "weights",
    "random_vgg19_weights": "weights",
    # --- issue #14: more backbones and the weights users bring ---
    "VGGFeatures": "vgg",
    "AlexNetFeatures": "alexnet",
    "build_backbone": "networks",
    "load_backbone_weights": "weights",
    "random_backbone_state_dict": "weights",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'painterly.backbones' has no attribute {name!r}")
    return getattr(importlib.import_module(f"painterly.backbones.{module}"), name)
