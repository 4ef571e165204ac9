"""Portrait mode (issue #9): find the person and the faces offline (MediaPipe's TFLite
models, run by LiteRT from :mod:`painterly.portrait.runtime`), turn them into masks and
weight maps, and hand those to the engines.

Importing this package does no work; the runtime and the models load when first used.
"""

from painterly.portrait.detect import Analysis, Detector, Face
from painterly.portrait.maps import PortraitMaps, build_maps
from painterly.portrait.pipeline import PortraitResult, fast_portrait, mask_overlay, stylize_portrait
from painterly.portrait.runtime import INSTALL_HINT, runtime_available

__all__ = [
    "INSTALL_HINT",
    "Analysis",
    "Detector",
    "Face",
    "PortraitMaps",
    "PortraitResult",
    "build_maps",
    "fast_portrait",
    "mask_overlay",
    "runtime_available",
    "stylize_portrait",
]
