"""Where painterly keeps the user's own files: one place, so every feature agrees.

The user data folder holds what a user adds (imported styles, backbone weight files); the cache
folder holds what can be rebuilt (Gram targets). Both follow the platform's conventions through
platformdirs and can be moved with an environment variable, which the tests use to stay out of
the real home folder.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "painterly"
DATA_ENV = "PAINTERLY_DATA_DIR"
CACHE_ENV = "PAINTERLY_CACHE_DIR"


def user_data_dir() -> Path:
    """The user's painterly data folder ($PAINTERLY_DATA_DIR, else the platform's); not created."""
    override = os.environ.get(DATA_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def user_cache_dir() -> Path:
    """The user's painterly cache folder ($PAINTERLY_CACHE_DIR, else the platform's); not created."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
