"""painterly: neural style transfer studio.

The public API. Importing it does no work: no model is loaded, nothing is seeded.
"""

from painterly.config import FastConfig, TransferConfig, VideoConfig
from painterly.errors import ConfigError, InputError, MissingDependencyError, OutputError, PainterlyError
from painterly.events import Progress, Stop
from painterly.fast import FastResult, FastStylizer, fast_stylize
from painterly.transfer import TransferResult, stylize
from painterly.video import VideoResult, stylize_video  # issue #11

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
__all__ += ["VideoConfig", "VideoResult", "stylize_video"]  # issue #11: video
