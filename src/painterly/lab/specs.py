"""Sweep specifications: which settings to hold fixed, which to vary, and how.

A sweep is the Cartesian product of its axes. Axes and fixed settings are keyed by
:class:`~painterly.config.TransferConfig` field names; values are parsed from the
field's type hint, so a field another issue adds to the config can be swept at
once. A spec comes from a TOML file, from ``--grid key=v1,v2`` options, or both::

    title = "Content layer"
    content = "../content/chelsea.jpg"        # relative to this file
    styles = ["../styles/starry_night.jpg"]

    [settings]                                # the same in every run
    style_weight = 1e3

    [grid]                                    # one axis per key, in this order
    content_layers = [["conv4_2"], ["conv5_2"]]

    [labels]                                  # optional: how the sheet names each value
    content_layers = ["conv4_2", "conv5_2"]

Every run's config is built (and so validated) by :func:`plan_runs` before any run
starts, so a typo costs a second, not an hour.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import math
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from painterly.config import TransferConfig, config_from_dict
from painterly.errors import ConfigError, InputError, MissingDependencyError

#: Top-level keys of a spec file.
SPEC_KEYS = ("title", "description", "content", "styles", "settings", "grid", "labels")
#: A sweep larger than this is almost certainly a typo in a grid.
MAX_RUNS = 500
#: Grid key that sweeps the painting itself (issue #10): files or library names, where
#: ``movement:*`` / ``artist:*`` stand for every movement / artist of the library.
STYLE_AXIS = "style"


@dataclass(frozen=True)
class Axis:
    """One swept setting: its config field, its values and how to label each."""

    key: str
    values: tuple[Any, ...]
    labels: tuple[str, ...] = ()

    def label(self, index: int) -> str:
        return self.labels[index] if self.labels else format_value(self.values[index])


@dataclass(frozen=True)
class SweepSpec:
    """Inputs, fixed settings and axes of a sweep (``source`` names it in messages)."""

    content: str | None = None
    styles: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)
    axes: tuple[Axis, ...] = ()
    title: str = ""
    description: str = ""
    source: str = "command line"


@dataclass(frozen=True)
class SweepRun:
    """One point of the grid: its position, its swept values and its full config."""

    index: int
    name: str
    position: tuple[int, ...]
    values: dict[str, Any]
    labels: dict[str, str]
    config: TransferConfig
    #: The run's paintings as files and what library names became (issue #10); empty: the spec's.
    styles: tuple[str, ...] = ()
    library: tuple[dict[str, Any], ...] = ()

    @property
    def label(self) -> str:
        """'key=label, key=label' for the swept settings ('default' for a sweep without axes)."""
        return ", ".join(f"{k}={v}" for k, v in self.labels.items()) or "default"


def config_fields() -> dict[str, Any]:
    """TransferConfig field name → type hint (read afresh: other issues add fields)."""
    hints = typing.get_type_hints(TransferConfig)
    return {f.name: hints[f.name] for f in dataclasses.fields(TransferConfig)}


def check_key(key: str, where: str) -> Any:
    """The type hint of a config field, or ConfigError suggesting the closest name."""
    fields = config_fields()
    if key not in fields:
        close = difflib.get_close_matches(key, list(fields), n=1)
        hint = f" (did you mean {close[0]}?)" if close else " (see `painterly run --help` for the settings)"
        raise ConfigError(f"{where}: unknown setting {key!r}{hint}")
    return fields[key]


def _unwrap(hint: Any) -> tuple[Any, bool]:
    """(inner type, optional?) for ``X | None``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return hint, False


def coerce(key: str, value: Any, where: str) -> Any:
    """A TOML or command-line value turned into what config field ``key`` holds.

    Strings are parsed (``"1e4"`` for a float, ``"conv1_1,conv2_1"`` for a list of
    layers), lists become tuples, ints are accepted for floats, and a bool is never
    taken for a number.
    """
    hint, optional = _unwrap(check_key(key, where))
    if optional and (value is None or (isinstance(value, str) and value.lower() in ("none", "default"))):
        return None
    if typing.get_origin(hint) is tuple:
        inner = typing.get_args(hint)[0]
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: {key} takes a list, got {value!r}")
        return tuple(_scalar(key, inner, v, where) for v in value)
    return _scalar(key, hint, value, where)


def _scalar(key: str, hint: Any, value: Any, where: str) -> Any:
    if typing.get_origin(hint) is Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            raise ConfigError(f"{where}: {key} must be one of {', '.join(map(str, choices))}, got {value!r}")
        return value
    if hint is bool:
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {key} must be true or false, got {value!r}")
        return value
    if hint in (int, float):
        number: Any = value
        if isinstance(value, str):
            try:
                number = (
                    float(value) if hint is float or not value.strip().lstrip("+-").isdigit() else int(value)
                )
            except ValueError:
                raise ConfigError(f"{where}: {key}: {value!r} is not a valid {hint.__name__}") from None
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise ConfigError(f"{where}: {key} must be a number, got {value!r}")
        if hint is int and isinstance(number, float):
            if not number.is_integer():
                raise ConfigError(f"{where}: {key} must be a whole number, got {value!r}")
            number = int(number)
        if hint is float:
            number = float(number)
            if not math.isfinite(number):
                raise ConfigError(f"{where}: {key} must be a finite number, got {value!r}")
        return number
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {key} must be a string, got {value!r}")
        return value
    # A field type this module does not know yet (added by another issue): pass it on;
    # the config's own validation still runs on it.
    return tuple(value) if isinstance(value, list) else value


def format_value(value: Any) -> str:
    """A short label for a setting's value (1e+04, avg, conv4_2, 0.8,0.2,...)."""
    if isinstance(value, tuple):
        return ",".join(format_value(v) for v in value) if value else "default"
    if isinstance(value, float):
        return f"{value:g}"
    return "default" if value is None else str(value)


def parse_grid_option(text: str) -> Axis:
    """``--grid key=v1,v2,v3`` → an Axis.

    For a list-valued setting the values are separated by ``|`` and the items of each
    by commas: ``style_layer_weights=0.8,0.2,0.2,0.2,0.2|0.2,0.8,0.2,0.2,0.2``.
    """
    key, sep, rest = text.partition("=")
    key = key.strip().replace("-", "_")
    where = f"--grid {text}"
    if not sep or not key:
        raise ConfigError(f"{where}: write it as key=value1,value2,...")
    if key == STYLE_AXIS:
        return style_axis([p.strip() for p in rest.split(",") if p.strip()], where)
    hint, _ = _unwrap(check_key(key, where))
    is_list = typing.get_origin(hint) is tuple
    parts = rest.split("|") if is_list or "|" in rest else rest.split(",")
    parts = [p.strip() for p in parts]
    if not is_list:
        parts = [p for p in parts if p]
    if not parts or parts == [""]:
        raise ConfigError(f"{where}: give at least one value")
    return Axis(key, tuple(coerce(key, p, where) for p in parts))


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            raise MissingDependencyError(
                "reading TOML sweep specs on Python 3.10 needs tomli: pip install tomli"
            ) from None
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise InputError(f"{path}: no such spec file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the spec ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None


def load_spec(path: str | os.PathLike[str]) -> SweepSpec:
    """Read and check a TOML spec; image paths are taken relative to the spec's folder."""
    path = Path(path)
    data = _load_toml(path)
    where = str(path)
    unknown = sorted(set(data) - set(SPEC_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(SPEC_KEYS)})")
    for name in ("settings", "grid", "labels"):
        if not isinstance(data.get(name, {}), dict):
            raise ConfigError(f"{where}: [{name}] must be a table")
    for name in ("title", "description", "content"):
        if not isinstance(data.get(name, ""), str):
            raise ConfigError(f"{where}: {name} must be a string")
    styles = data.get("styles", [])
    if isinstance(styles, str):
        styles = [styles]
    if not isinstance(styles, list) or not all(isinstance(s, str) for s in styles):
        raise ConfigError(f"{where}: styles must be a list of image paths")

    def resolve(p: str) -> str:
        from painterly.library.resolve import is_query

        return p if os.path.isabs(p) or is_query(p) else os.path.normpath(path.parent / p)

    settings = {k: coerce(k, v, f"{where} [settings]") for k, v in data.get("settings", {}).items()}
    labels = data.get("labels", {})
    axes = []
    for key, values in data.get("grid", {}).items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where} [grid]: {key} must be a non-empty list of values")
        if key == STYLE_AXIS:
            if not all(isinstance(v, str) for v in values):
                raise ConfigError(f"{where} [grid]: style takes image paths or library names")
            axis = style_axis([resolve(v) for v in values], f"{where} [grid]")
            names = labels.get(key, [])
            axes.append(dataclasses.replace(axis, labels=tuple(map(str, names))) if names else axis)
            continue
        coerced = tuple(coerce(key, v, f"{where} [grid]") for v in values)
        names = labels.get(key, [])
        if not isinstance(names, list) or (names and len(names) != len(values)):
            raise ConfigError(f"{where} [labels]: {key} needs one label per value ({len(values)})")
        axes.append(Axis(key, coerced, tuple(str(n) for n in names)))
    stray = sorted(set(labels) - set(data.get("grid", {})))
    if stray:
        raise ConfigError(f"{where} [labels]: {', '.join(stray)} is not a grid axis")
    return SweepSpec(
        content=resolve(data["content"]) if data.get("content") else None,
        styles=tuple(resolve(s) for s in styles),
        settings=settings,
        axes=tuple(axes),
        title=data.get("title", ""),
        description=data.get("description", ""),
        source=where,
    )


def combine(
    spec: SweepSpec,
    content: str | None = None,
    styles: tuple[str, ...] = (),
    axes: tuple[Axis, ...] = (),
    overrides: dict[str, Any] | None = None,
) -> SweepSpec:
    """A spec with command-line images, extra axes and fixed settings laid over it
    (e.g. ``--size 96 --iterations 40`` to run a shipped spec small)."""
    return dataclasses.replace(
        spec,
        content=content or spec.content,
        styles=styles or spec.styles,
        settings={**spec.settings, **(overrides or {})},
        axes=spec.axes + axes,
    )


def style_axis(values: list[str], where: str) -> Axis:
    """The painting axis: ``movement:*`` and ``artist:*`` expand to the whole library; each
    value is labelled by its name (fauvism, van_gogh) or file stem."""
    from painterly.library import Library

    expanded: list[str] = []
    for value in values:
        prefix, _, name = value.partition(":")
        if name == "*" and prefix.lower() in ("movement", "artist"):
            library = Library.load()
            groups = library.movements() if prefix.lower() == "movement" else library.artists()
            expanded += [f"{prefix.lower()}:{g}" for g in groups]
        else:
            expanded.append(value)
    if not expanded:
        raise ConfigError(f"{where}: style needs at least one painting")
    labels = tuple(
        v.partition(":")[2] if ":" in v and not os.path.exists(v) else Path(v).stem for v in expanded
    )
    return Axis(STYLE_AXIS, tuple(expanded), labels)


def run_styles(spec: SweepSpec, values: dict[str, Any]) -> tuple[str, ...]:
    """The paintings of one run: its style axis value, else the spec's."""
    return (values[STYLE_AXIS],) if STYLE_AXIS in values else tuple(spec.styles)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip("-")[:40] or "x"


def with_preset(values: dict[str, Any]) -> dict[str, Any]:
    """Settings with a named preset's values laid under them, as `painterly run` does
    (so that ``--grid preset=draft,balanced,quality`` compares the presets)."""
    name = values.get("preset", "none")
    if name in ("", "none"):
        return values
    from painterly.presets import preset_values

    return {**preset_values(name, values), **values}


def plan_runs(spec: SweepSpec) -> list[SweepRun]:
    """Every run of the sweep with its validated config, in grid order (last axis fastest).

    Raises ConfigError naming the run and the setting before anything runs.
    """
    where = spec.source
    keys = [a.key for a in spec.axes]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise ConfigError(f"{where}: {', '.join(twice)} is swept twice")
    both = sorted(set(keys) & set(spec.settings))
    if both:
        raise ConfigError(f"{where}: {', '.join(both)} is both swept and fixed; drop one")
    for key in spec.settings:
        check_key(key, where)
    if STYLE_AXIS in keys and spec.styles:
        raise ConfigError(f"{where}: give the paintings either as styles or as a style axis, not both")
    count = math.prod(len(a.values) for a in spec.axes)
    if count > MAX_RUNS:
        raise ConfigError(f"{where}: the grid has {count} runs; at most {MAX_RUNS} are allowed")
    runs: list[SweepRun] = []
    width = len(str(count))
    for index, position in enumerate(itertools.product(*(range(len(a.values)) for a in spec.axes))):
        values = {a.key: a.values[i] for a, i in zip(spec.axes, position)}
        labels = {a.key: a.label(i) for a, i in zip(spec.axes, position)}
        described = ", ".join(f"{k}={v}" for k, v in labels.items()) or "the only run"
        settings = {k: v for k, v in values.items() if k != STYLE_AXIS}
        styles: tuple[str, ...] = ()
        library: tuple[dict[str, Any], ...] = ()
        try:
            config = config_from_dict(TransferConfig, with_preset({**spec.settings, **settings}))
            if run_styles(spec, values):  # library names → files and weights (issue #10)
                from painterly.library.resolve import resolve_run_styles

                files, config, records = resolve_run_styles(run_styles(spec, values), config)
                styles, library = tuple(map(str, files)), tuple(records)
        except ConfigError as exc:
            raise ConfigError(f"{where}: run {index + 1} ({described}): {exc}") from None
        except TypeError as exc:
            raise ConfigError(f"{where}: run {index + 1} ({described}): {exc}") from None
        stem = "_".join(_slug(f"{k}-{v}") for k, v in labels.items())
        name = f"{index + 1:0{width}d}" + (f"_{stem}" if stem else "")
        runs.append(SweepRun(index, name[:120], position, values, labels, config, styles, library))
    return runs
