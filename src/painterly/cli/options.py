"""CLI flags derived from the config dataclasses, so that defaults and help live in one place."""

from __future__ import annotations

import argparse
import dataclasses
import math
import types
import typing
from typing import Any, Literal

from painterly.config import config_from_dict


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def parse_list(kind: type) -> Any:
    """An argparse type for comma lists: 'conv1_1,conv2_1' or '0.2,0.8'."""

    def convert(text: str) -> tuple[Any, ...]:
        items = [t.strip() for t in text.split(",") if t.strip()]
        try:
            values = tuple(kind(t) for t in items)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a comma list of {kind.__name__}s") from None
        if kind is float and not all(math.isfinite(v) for v in values):
            raise argparse.ArgumentTypeError(f"{text!r} has a value that is not a finite number")
        return values

    convert.__name__ = f"list of {kind.__name__}"
    return convert


def finite(kind: type) -> Any:
    """An argparse type for a finite int or float with a clear error."""

    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a valid {kind.__name__}") from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        return value

    convert.__name__ = kind.__name__
    return convert


def add_config_arguments(
    parser: argparse.ArgumentParser, cls: type, skip: tuple[str, ...] = (), title: str = "settings"
) -> None:
    """Add one flag per field of ``cls``; unset flags stay absent from the namespace
    (argparse.SUPPRESS) so that presets and manifests can supply them."""
    group = parser.add_argument_group(title)
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip or f.metadata.get("cli") is False:
            continue
        hint = hints[f.name]
        names = [_flag(f.name)] + ([f.metadata["flag"]] if "flag" in f.metadata else [])
        default = f.default if f.default is not dataclasses.MISSING else None
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        help_text = f.metadata.get("help", "") + (
            f" [default: {shown}]" if shown not in (None, "", ()) else ""
        )
        # argparse %-formats help strings: a literal "60 %" in a field's help would crash --help.
        help_text = help_text.replace("%", "%%")
        kwargs: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS, "help": help_text}
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin in (typing.Union, types.UnionType) and _literal_or_number(args):
            hint, origin = None, None  # e.g. float | Literal["auto"] (issue #16)
            kwargs["type"] = literal_or_number(args)
            kwargs["metavar"] = "|".join([*_words(args), "NUMBER"])
        elif origin in (typing.Union, types.UnionType):  # Optional[X]
            hint = next(a for a in args if a is not type(None))
            origin, args = typing.get_origin(hint), typing.get_args(hint)
        if hint is None:
            pass
        elif origin is Literal:
            kwargs["choices"] = list(args)
        elif origin is tuple:
            kwargs["type"] = parse_list(args[0])
            kwargs["metavar"] = "A,B,..."
        elif hint is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif hint in (int, float):
            kwargs["type"] = finite(hint)
        group.add_argument(*names, **kwargs)


def config_values(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The config fields the user set on the command line."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in vars(args).items() if k in names}


def build_config(cls: type, *layers: dict[str, Any]) -> Any:
    """A config from layered dicts (later ones win): e.g. manifest, preset, command line."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer)
    return config_from_dict(cls, merged)


def _words(args: tuple[Any, ...]) -> list[str]:
    return [w for a in args if typing.get_origin(a) is Literal for w in typing.get_args(a)]


def _literal_or_number(args: tuple[Any, ...]) -> bool:
    """A union of a number type and a Literal of words, like ``float | Literal["auto"]``."""
    return bool(_words(args)) and any(a in (int, float) for a in args)


def literal_or_number(args: tuple[Any, ...]) -> Any:
    """An argparse type for ``float | Literal["auto"]``: one of the words, else a finite number."""
    words = _words(args)
    number = float if float in args else int

    def convert(text: str) -> Any:
        if text in words:
            return text
        try:
            return finite(number)(text)
        except argparse.ArgumentTypeError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is neither {' nor '.join(words)} nor a valid {number.__name__}"
            ) from None

    convert.__name__ = " or ".join([*words, number.__name__])
    return convert
