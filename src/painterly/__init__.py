"""painterly: neural style transfer studio.

The public API. Importing it does no work: no model is loaded, nothing is seeded.
"""

from typing import TYPE_CHECKING, Any

from painterly.config import FastConfig, TransferConfig, VideoConfig
from painterly.errors import ConfigError, InputError, MissingDependencyError, OutputError, PainterlyError
from painterly.events import Progress, Stop

if TYPE_CHECKING:
    from painterly.fast import FastResult, FastStylizer, fast_stylize
    from painterly.portrait import PortraitResult, fast_portrait, stylize_portrait
    from painterly.transfer import TransferResult, stylize
    from painterly.video import VideoResult, stylize_video

#: The engines import torch (seconds): loaded on first use, so that `painterly` on the command
#: line can answer Ctrl-C during start-up with one line (issue #15) and `import painterly`
#: stays cheap.
_LAZY = {
    "FastResult": "painterly.fast",
    "FastStylizer": "painterly.fast",
    "fast_stylize": "painterly.fast",
    "TransferResult": "painterly.transfer",
    "stylize": "painterly.transfer",
    # portrait mode: issue #9
    "PortraitResult": "painterly.portrait",
    "fast_portrait": "painterly.portrait",
    "stylize_portrait": "painterly.portrait",
    "VideoResult": "painterly.video",  # issue #11
    "stylize_video": "painterly.video",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'painterly' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The lazy names too, so that tab completion and dir() show the whole API (issue #16)."""
    return sorted(set(globals()) | set(_LAZY))


__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "FastConfig",
    "FastResult",
    "FastStylizer",
    "InputError",
    "MissingDependencyError",
    "OutputError",
    "PainterlyError",
    "PortraitResult",
    "Progress",
    "Stop",
    "TransferConfig",
    "TransferResult",
    "__version__",
    "fast_portrait",
    "fast_stylize",
    "stylize",
    "stylize_portrait",
]
__all__ += ["VideoConfig", "VideoResult", "stylize_video"]  # issue #11: video
