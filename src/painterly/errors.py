"""Error types. Library code raises these; only the CLI turns them into exit codes."""

from __future__ import annotations


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
