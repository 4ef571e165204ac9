"""painterly: neural style transfer studio.

The public API. Importing it does no work: no model is loaded, nothing is seeded.
"""

from typing import TYPE_CHECKING, Any

from painterly.config import FastConfig, TransferConfig
from painterly.errors import ConfigError, InputError, MissingDependencyError, OutputError, PainterlyError
from painterly.events import Progress, Stop

if TYPE_CHECKING:
    from painterly.fast import FastResult, FastStylizer, fast_stylize
    from painterly.transfer import TransferResult, stylize

#: The engines import torch (seconds): loaded on first use, so that `painterly` on the command
#: line can answer Ctrl-C during start-up with one line (issue #15) and `import painterly`
#: stays cheap.
_LAZY = {
    "FastResult": "painterly.fast",
    "FastStylizer": "painterly.fast",
    "fast_stylize": "painterly.fast",
    "TransferResult": "painterly.transfer",
    "stylize": "painterly.transfer",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'painterly' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
    "Progress",
    "Stop",
    "TransferConfig",
    "TransferResult",
    "__version__",
    "fast_stylize",
    "stylize",
]
