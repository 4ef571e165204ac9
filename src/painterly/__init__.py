"""painterly: neural style transfer studio.

The public API. Importing it does no work: no model is loaded, nothing is seeded.
"""

from painterly.config import FastConfig, TransferConfig
from painterly.errors import ConfigError, InputError, MissingDependencyError, OutputError, PainterlyError
from painterly.events import Progress, Stop
from painterly.fast import FastResult, FastStylizer, fast_stylize
from painterly.portrait import PortraitResult, fast_portrait, stylize_portrait  # issue #9
from painterly.transfer import TransferResult, stylize

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
