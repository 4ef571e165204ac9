"""Names → paintings: ``artist:van_gogh``, ``movement:fauvism`` or a library id.

An artist or a movement is a style drawn from several works, in one of two ways:

* ``blend``: the works' Gram matrices averaged (the engine's multi-painting blend with equal
  weights), at most :data:`MAX_BLEND` works, spread evenly over the group;
* ``representative``: the one work whose style (Gram matrices) is closest to the rest of the
  group, its medoid (see :mod:`painterly.library.representative`).

What a query became (works and weights) is returned as a record for the manifest, so that a
run can be made again with exactly those files.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from painterly.errors import ConfigError
from painterly.library.catalog import Library, Work, slug

GroupMode = Literal["blend", "representative"]
GROUP_MODES: tuple[str, ...] = ("blend", "representative")
#: Query prefixes: what follows names an artist or a movement (slugs, any case).
PREFIXES = ("artist", "movement")
#: Most works a blend takes (an imported movement may hold thousands).
MAX_BLEND = 12
#: File suffixes that make a missing name look like a path rather than a library id.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")


def is_query(source: object) -> bool:
    """Whether a style source names the library rather than a file.

    ``artist:…`` and ``movement:…`` always do; a bare word does when no such file exists and
    it has no folder or image suffix in it (``van_gogh-the_starry_night-1889``).
    """
    if not isinstance(source, str):
        return False
    prefix, sep, _ = source.partition(":")
    if sep and prefix.lower() in PREFIXES:
        return True
    if os.path.exists(source) or "/" in source or os.sep in source:
        return False
    return not source.lower().endswith(IMAGE_SUFFIXES) and bool(source.strip())


@dataclass(frozen=True)
class Resolution:
    """What one query became: its works and their weights (summing to 1)."""

    query: str
    mode: str  # "work", "blend" or "representative"
    works: tuple[Work, ...]
    weights: tuple[float, ...]

    def record(self) -> dict[str, Any]:
        """The manifest's account of this query."""
        return {
            "query": self.query,
            "mode": self.mode,
            "works": [
                {"id": w.id, "path": str(w.path), "weight": round(x, 6)}
                for w, x in zip(self.works, self.weights)
            ],
        }


@dataclass(frozen=True)
class StyleChoice:
    """Style sources with library names replaced by files, their blend weights and records.

    ``weights`` is empty when nothing was expanded and no weights were given (equal blend).
    """

    sources: list[Any]
    weights: tuple[float, ...]
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def expanded(self) -> bool:
        return bool(self.records)


def _suggest(word: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(close)}?" if close else ""


def group_works(library: Library, kind: str, name: str) -> list[Work]:
    """The works of an artist or a movement (ConfigError with suggestions if there are none)."""
    key = slug(name)
    if kind == "movement":
        groups = library.movements()
        if key not in groups:
            raise ConfigError(
                f"no movement {name!r}{_suggest(key, list(groups))} (see `painterly styles list --movements`)"
            )
        return groups[key]
    artists = library.artists()
    works = [
        w
        for w in library.works
        if key and (w.artist_slug == key or slug(w.artist) == key or slug(w.artist).endswith("_" + key))
    ]
    if not works:
        names = list(artists) + sorted({slug(w.artist) for w in library.works})
        raise ConfigError(f"no artist {name!r}{_suggest(key, names)} (see `painterly styles list --artists`)")
    return works


def spread(works: Sequence[Work], count: int) -> list[Work]:
    """``count`` works evenly spaced over the group sorted by artist then id (all if fewer)."""
    ordered = sorted(works, key=lambda w: (w.artist_slug, w.id))
    if len(ordered) <= count:
        return ordered
    step = len(ordered) / count
    return [ordered[int(i * step)] for i in range(count)]


def resolve_query(query: str, mode: str = "blend", library: Library | None = None) -> Resolution:
    """One library name → its works and weights (ConfigError naming the query if unknown)."""
    if mode not in GROUP_MODES:
        raise ConfigError(f"style_group must be one of {', '.join(GROUP_MODES)}, got {mode!r}")
    library = library or Library.load()
    prefix, sep, name = query.partition(":")
    if sep and prefix.lower() in PREFIXES:
        if not name.strip():
            raise ConfigError(f"style {query!r}: give a name after {prefix}:")
        works = group_works(library, prefix.lower(), name)
        if mode == "representative" and len(works) > 1:
            from painterly.library.representative import representative

            chosen = representative(works, f"{prefix.lower()}:{slug(name)}")
            return Resolution(query, mode, (chosen,), (1.0,))
        picked = spread(works, MAX_BLEND)
        return Resolution(query, "blend", tuple(picked), tuple([1.0 / len(picked)] * len(picked)))
    work = library.by_id.get(query)
    if work is None:
        raise ConfigError(
            f"style {query!r}: no such file and no library id{_suggest(query, list(library.by_id))} "
            "(see `painterly styles list`)"
        )
    return Resolution(query, "work", (work,), (1.0,))


def resolve_styles(
    styles: Any, weights: Sequence[float] = (), mode: str = "blend", library: Library | None = None
) -> StyleChoice:
    """Replace library names among ``styles`` by their works' files and spread each name's
    blend weight over its works (``weights``: one per source, relative; empty: equal)."""
    from painterly.config import normalised

    sources = [styles] if isinstance(styles, (str, os.PathLike)) or not _is_sequence(styles) else list(styles)
    if not any(is_query(s) for s in sources):
        return StyleChoice(sources, tuple(weights))
    if weights and len(weights) != len(sources):
        raise ConfigError(f"{len(weights)} blend weights for {len(sources)} styles")
    library = library or Library.load()
    shares = normalised(tuple(weights), len(sources))
    out_sources: list[Any] = []
    out_weights: list[float] = []
    records: list[dict[str, Any]] = []
    for source, share in zip(sources, shares):
        if is_query(source):
            found = resolve_query(source, mode, library)
            out_sources += [str(w.path) for w in found.works]
            out_weights += [share * x for x in found.weights]
            records.append(found.record())
        else:
            out_sources.append(source)
            out_weights.append(share)
    return StyleChoice(out_sources, tuple(out_weights), records)


def resolve_path(source: str, library: Library | None = None) -> str:
    """One style source as one file: a library name becomes a single painting (its only work,
    or the group's representative). For places that take exactly one painting (mask regions)."""
    if not is_query(source):
        return source
    found = resolve_query(source, "representative", library)
    return str(found.works[0].path)


def _is_sequence(value: Any) -> bool:
    return isinstance(value, (list, tuple))


__all__ = ["GROUP_MODES", "Resolution", "StyleChoice", "is_query", "resolve_query", "resolve_styles"]


def resolve_run_styles(styles: Sequence[Any], config: Any) -> tuple[list[Any], Any, list[dict[str, Any]]]:
    """A run's styles and config with library names made concrete: (files, config with the
    spread blend weights, records for the manifest). Takes a TransferConfig or a FastConfig;
    the command line and any job runner call this before checking inputs, so that the
    manifest names the very files and weights used and ``--from-manifest`` remakes the run."""
    field_name = "style_blend_weights" if hasattr(config, "style_blend_weights") else "style_weights"
    choice = resolve_styles(list(styles), getattr(config, field_name), config.style_group)
    if not choice.expanded:
        return list(styles), config, []
    return choice.sources, config.replace(**{field_name: choice.weights}), choice.records
