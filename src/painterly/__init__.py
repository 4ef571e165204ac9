"""painterly: neural style transfer studio.

The public API. Importing it does no work: no model is loaded, nothing is seeded, and
no heavy library is imported. The engines' names (``stylize``, ``fast_stylize``, ...)
are resolved on first use by the module ``__getattr__`` below (PEP 562), so
``import painterly`` and ``painterly --help`` never pay for torch or onnxruntime
(issue #16: importing torch alone takes about 1.6 s on a 2-core machine).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from painterly.config import FastConfig, TransferConfig
from painterly.errors import ConfigError, InputError, MissingDependencyError, OutputError, PainterlyError
from painterly.events import Progress, Stop

if TYPE_CHECKING:
    from painterly.fast import FastResult, FastStylizer, fast_stylize
    from painterly.transfer import TransferResult, stylize

__version__ = "0.1.0"

#: Public names that live in heavy modules: name -> module, imported on first access.
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
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
