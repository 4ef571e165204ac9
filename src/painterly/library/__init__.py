"""The style library (issue #10): bundled public-domain paintings by artist and movement, the
user's imported datasets, name resolution (``artist:``, ``movement:``, ids) and the Gram cache.

Resolution happens at the boundary (:func:`painterly.images.resolve_styles`), so the engine
still sees image files. Nothing here imports torch at module import.
"""

from painterly.library.catalog import Library, Work, bundled_dir, slug, user_library_dir
from painterly.library.resolve import (
    GROUP_MODES,
    StyleChoice,
    is_query,
    resolve_query,
    resolve_styles,
)

__all__ = [
    "GROUP_MODES",
    "Library",
    "StyleChoice",
    "Work",
    "bundled_dir",
    "is_query",
    "resolve_query",
    "resolve_styles",
    "slug",
    "user_library_dir",
]
