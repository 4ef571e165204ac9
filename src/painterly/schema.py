"""One validation layer for settings from outside: pydantic models derived from the config
dataclasses, so that a manifest, a web form and a sweep spec all get the same checks and
the same one-line message naming the field (``config.iterations: expected a whole number,
got 1.5``) instead of a TypeError deep inside a run.

The dataclasses stay the single source of fields, types and defaults; the models here are
built from their type hints (and cached), never written by hand. The range checks that
need several fields at once stay in the dataclasses' ``__post_init__``.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any, Literal

from painterly.errors import ConfigError

#: Nested containers deeper than this in a manifest or request are refused (a guard against
#: recursion bombs; real settings are two levels deep).
MAX_DEPTH = 32


def _no_bool(value: Any) -> Any:
    """JSON's true/false are not numbers here (pydantic's lax mode would take True as 1)."""
    if isinstance(value, bool):
        raise ValueError("expected a number, not true/false")
    return value


def _split_commas(value: Any) -> Any:
    """Lists may come as "a, b, c" (forms, command lines) or as JSON lists."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _annotation(hint: Any) -> Any:
    """The pydantic annotation for one dataclass field's type hint."""
    from pydantic import BeforeValidator

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [_annotation(a) for a in args if a is not type(None)]
        optional = type(None) in args
        # several members, e.g. float | Literal["auto"] (FastConfig.style_scale, issue #16)
        single = inner[0] if len(inner) == 1 else typing.Union[tuple(inner)]  # noqa: UP007
        return single | None if optional else single  # type: ignore[operator]
    if origin is Literal:
        return hint
    if origin is tuple:
        item = _annotation(args[0])
        return typing.Annotated[tuple[item, ...], BeforeValidator(_split_commas)]  # type: ignore[valid-type]
    if hint in (int, float):
        return typing.Annotated[hint, BeforeValidator(_no_bool)]
    return hint


@functools.cache
def settings_model(cls: type) -> Any:
    """A pydantic model with the fields, types and defaults of a config dataclass; unknown
    keys are refused."""
    from pydantic import ConfigDict, create_model

    hints = typing.get_type_hints(cls)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else ...
        fields[f.name] = (_annotation(hints[f.name]), default)
    config = ConfigDict(extra="forbid", allow_inf_nan=True, hide_input_in_errors=True)
    return create_model(f"{cls.__name__}Settings", __config__=config, **fields)


def check_settings(cls: type, data: Any, where: str = "") -> dict[str, Any]:
    """Validate and convert the settings in ``data`` (only those given) for config class
    ``cls``; ``where`` prefixes the field in messages (``"config."`` for a manifest).
    Raises :class:`ConfigError` naming the first bad field."""
    from pydantic import ValidationError

    label = where.rstrip(".") or "settings"
    if not isinstance(data, dict):
        raise ConfigError(f"{label}: expected an object of setting: value, got {type_name(data)}")
    check_depth(data, label)
    try:
        model = settings_model(cls).model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_error(exc, where, data)) from None
    return {name: getattr(model, name) for name in data}


def describe_error(exc: Any, where: str, data: Any = None) -> str:
    """One line for the first error of a pydantic ValidationError: field, problem, value."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ())]
    field = where + ".".join(loc[:1]) if loc else where.rstrip(".")
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    if first.get("type") == "extra_forbidden":
        return f"unknown setting {field!r}{more}"
    value = data.get(loc[0]) if isinstance(data, dict) and loc else None
    shown = f", got {short_repr(value)}" if loc else ""
    message = PLAIN_WORDS.get(first.get("type", ""))
    if first.get("type") == "literal_error":
        expected = str(first.get("ctx", {}).get("expected", ""))
        message = "must be one of " + expected.replace("'", "").replace(" or ", ", ")
    if message is None:
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        message = message[:1].lower() + message[1:]
    return f"{field}: {message}{shown}{more}"


#: pydantic's error types in the words our other messages use.
PLAIN_WORDS = {
    "int_parsing": "expected a number",
    "int_from_float": "expected a whole number",
    "int_type": "expected a whole number",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "string_type": "expected a text",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "tuple_type": "expected a list",
    "list_type": "expected a list",
    "dict_type": "expected an object of name: value",
    "model_type": "expected an object of name: value",
}


def check_run_manifest(data: dict[str, Any], source: str) -> Any:
    """The parts of a run's manifest that ``--resume``, ``--from-manifest`` and
    ``progression`` rely on, checked: a hand-edited manifest with a wrong type or value is an
    InputError naming the file and the field (``m.json: steps_done: expected a number``).
    ``config`` is checked separately by :func:`check_settings` (``config.<field>``)."""
    from painterly.errors import InputError

    model = _run_manifest_model()
    check_depth(data, source)
    try:
        return model.model_validate(data)
    except Exception as exc:  # pydantic.ValidationError
        if not hasattr(exc, "errors"):
            raise
        raise InputError(f"{source}: {describe_nested_error(exc)}") from None


def describe_nested_error(exc: Any) -> str:
    """One line for the first error of a nested model: dotted field path and problem."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    field = ".".join(str(p) for p in first.get("loc", ())) or "manifest"
    message = PLAIN_WORDS.get(first.get("type", "")) or str(first.get("msg", "invalid"))
    if first.get("type") == "missing":
        message = "missing"
    elif first.get("type") == "too_short":
        message = "must not be empty"
    value = first.get("input")
    shown = "" if first.get("type") == "missing" else f", got {short_repr(value)}"
    return f"{field}: {message[:1].lower()}{message[1:]}{shown}"


@functools.cache
def _run_manifest_model() -> Any:
    from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

    Count = typing.Annotated[int, BeforeValidator(_no_bool), Field(ge=0)]
    Seed = typing.Annotated[int, BeforeValidator(_no_bool)]

    class InputRef(BaseModel):
        model_config = ConfigDict(extra="allow")
        path: str = Field(min_length=1)
        sha256: str = ""

    class RunInputs(BaseModel):
        model_config = ConfigDict(extra="allow")
        content: InputRef
        styles: list[InputRef] = Field(min_length=1)
        init: InputRef | None = None

    class RunManifest(BaseModel):
        model_config = ConfigDict(extra="allow")
        status: str = ""
        steps_done: Count = 0
        output: str | None = Field(default=None, min_length=1)
        seed: Seed | None = None
        config: dict[str, Any]
        inputs: RunInputs

    return RunManifest


def check_depth(value: Any, label: str, limit: int = MAX_DEPTH) -> None:
    """Refuse containers nested deeper than ``limit`` (iteratively: no recursion to blow)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise ConfigError(f"{label}: nested more than {limit} levels deep")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend((v, depth + 1) for v in item)


def type_name(value: Any) -> str:
    """What a value is, for messages: 'a string', 'a list', 'nothing'."""
    if value is None:
        return "nothing (null)"
    names = {str: "a string", list: "a list", dict: "an object", bool: "true/false", int: "a number"}
    return names.get(type(value), f"a {type(value).__name__}")


def short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = ["check_depth", "check_settings", "settings_model"]
