"""Error types. Library code raises these; only the CLI turns them into exit codes."""

from __future__ import annotations

import importlib
from types import ModuleType


class PainterlyError(Exception):
    """Base class: a problem the user can fix, described in one line."""


class InputError(PainterlyError):
    """An input file (image, mask, manifest, spec) cannot be used."""


class ConfigError(PainterlyError):
    """A setting is unknown, out of range or inconsistent with another one."""


class OutputError(PainterlyError):
    """An output cannot be written (exists, not writable, would overwrite an input)."""


class MissingDependencyError(PainterlyError):
    """An optional dependency is not installed; the message says how to install it."""


def caused_by_interrupt(exc: BaseException) -> bool:
    """Whether a KeyboardInterrupt is anywhere in ``exc``'s chain: libraries that catch
    everything (pydantic building a schema, a C extension's callback) re-raise Ctrl-C as
    their own error, which must still read as "interrupted", not as a bug."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def import_optional(name: str, missing: str) -> ModuleType:
    """Import an optional dependency, or raise MissingDependencyError(``missing``: what to
    install). A Ctrl-C during the import (heavy C extensions take a second) often comes out
    as an ImportError; it stays a KeyboardInterrupt, not a false "install it" message."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if caused_by_interrupt(exc):
            raise KeyboardInterrupt from exc
        raise MissingDependencyError(missing) from None
