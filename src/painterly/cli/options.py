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
        kwargs: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS, "help": help_text}
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin in (typing.Union, types.UnionType):  # Optional[X]
            hint = next(a for a in args if a is not type(None))
            origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin is Literal:
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
