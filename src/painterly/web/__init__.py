"""The web studio: upload, tune, watch it paint, download (``painterly serve``).

FastAPI is imported only when :func:`create_app` is called, so the rest of the
package works without the ``web`` extra.
"""

from __future__ import annotations

from typing import Any


def create_app(*args: Any, **kwargs: Any) -> Any:
    """Build the studio app; see :func:`painterly.web.app.create_app`."""
    from painterly.web.app import create_app as _create_app

    return _create_app(*args, **kwargs)


__all__ = ["create_app"]
