"""The weight files a user has installed: ``user_data_dir()/models``, with ``installed.json``
recording each file's backbone, input format and SHA-256.

Adding a file verifies it before it is used: its checksum against the registry when it is
a known file (the official name with another checksum is refused), its keys and shapes
against the backbone, and its format from the registry, or from the user when the file is
not a known one (never guessed from the tensors, which look the same either way).
Nothing here imports torch except the shape check, so listing stays instant.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from painterly import paths
from painterly.backbones.registry import (
    INPUT_FORMATS,
    KnownWeights,
    by_digest,
    by_filename,
    entries,
    known,
    suggested,
)
from painterly.errors import ConfigError, InputError, MissingDependencyError, OutputError
from painterly.taps import check_backbone

INDEX = "installed.json"
Registry = tuple[KnownWeights, ...]


class ChecksumError(InputError):
    """A weight file's SHA-256 is not the one the registry records: it is refused."""


class MissingWeightsError(MissingDependencyError):
    """A run needs a backbone whose weight file is not installed; the message says how to get it."""


@dataclass(frozen=True)
class InstalledModel:
    """One installed weight file and what is known about it."""

    name: str
    backbone: str
    format: str
    layout: str
    file: str  # file name inside the models folder
    sha256: str
    size: int
    source: str  # the URL it came from or the path it was added from
    known: str = ""  # the registry entry it matched, if any
    added: float = 0.0

    def path(self, models_dir: Path | None = None) -> Path:
        return (models_dir or default_models_dir()) / self.file


def default_models_dir() -> Path:
    """Where installed weight files live (not created)."""
    return paths.user_data_dir() / "models"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """The file's SHA-256 as hex."""
    with open(path, "rb") as handle:
        if hasattr(hashlib, "file_digest"):  # Python 3.11+ (issue #18: the library's own loop)
            return hashlib.file_digest(handle, "sha256").hexdigest()
        digest = hashlib.sha256()
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def installed(models_dir: Path | None = None) -> list[InstalledModel]:
    """Every installed model, oldest first (InputError if the index is damaged)."""
    index = (models_dir or default_models_dir()) / INDEX
    if not index.is_file():
        return []
    try:
        data = json.loads(index.read_text(encoding="utf-8"))
        return [InstalledModel(**item) for item in data["models"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"{index}: damaged index of installed models ({exc}); remove it and add the files again"
        ) from None


def _write_index(models_dir: Path, models: list[InstalledModel]) -> None:
    text = json.dumps({"models": [asdict(m) for m in models]}, indent=2) + "\n"
    _atomic_write(models_dir / INDEX, text.encode("utf-8"))


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def find_installed(name: str, models_dir: Path | None = None) -> InstalledModel | None:
    """The installed model called ``name`` (or whose file is called that), or None."""
    models = installed(models_dir)
    return next((m for m in models if m.name == name), None) or next(
        (m for m in models if m.file == name), None
    )


def for_backbone(backbone: str, models_dir: Path | None = None) -> InstalledModel | None:
    """The installed file a run of ``backbone`` uses: the one named like the backbone, else
    the latest added for it."""
    models = [m for m in installed(models_dir) if m.backbone == backbone]
    return next((m for m in models if m.name == backbone), None) or (models[-1] if models else None)


def missing_message(backbone: str, registry: Registry | None = None) -> str:
    """One line: which file a backbone needs and the commands that install it."""
    entry = suggested(backbone, registry)
    if entry is None:
        return (
            f"backbone {backbone} needs a weights file: add one with "
            f"`painterly models add FILE --as {backbone} --format torchvision|caffe`"
        )
    size = f"{entry.size_mb:.0f} MB, " if entry.size_mb else ""
    return (
        f"backbone {backbone} needs {entry.filename} ({size}{entry.url}): "
        f"`painterly models download {entry.name}`, or if you have the file, "
        f"`painterly models add FILE --as {backbone}`"
    )


def add_model(
    file: str | os.PathLike[str],
    backbone: str,
    input_format: str | None = None,
    name: str | None = None,
    *,
    models_dir: Path | None = None,
    registry: Registry | None = None,
) -> InstalledModel:
    """Verify a weight file (checksum, keys, shapes) and copy it into the models folder."""
    source = Path(file)
    _check_choice(backbone, input_format)
    if not source.is_file():
        raise InputError(f"{source}: no such file")
    digest = sha256_file(source)
    return _install(
        source, digest, backbone, input_format, name, str(source.resolve()), models_dir, registry, move=False
    )


def _check_choice(backbone: str, input_format: str | None) -> None:
    try:
        check_backbone(backbone)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if input_format is not None and input_format not in INPUT_FORMATS:
        raise ConfigError(f"unknown weights format {input_format!r}; use torchvision or caffe")


def _install(
    source: Path,
    digest: str,
    backbone: str,
    input_format: str | None,
    name: str | None,
    origin: str,
    models_dir: Path | None,
    registry: Registry | None,
    *,
    move: bool,
    official_name: str | None = None,
) -> InstalledModel:
    models_dir = models_dir or default_models_dir()
    named = by_filename(official_name or source.name, registry)
    if named is not None and not named.matches(digest):
        raise ChecksumError(
            f"{source}: SHA-256 {digest[:16]}… is not the official {named.filename}'s ({named.sha256}…): "
            "the file is damaged or not the official one; refused"
        )
    entry = by_digest(digest, registry)
    if entry is not None:
        if entry.backbone != backbone:
            raise InputError(f"{source}: this is the {entry.backbone} file {entry.filename}, not {backbone}")
        if input_format is not None and input_format != entry.format:
            raise InputError(
                f"{source}: the registry records {entry.filename} as {entry.format} format, not {input_format}"
            )
        input_format, layout = entry.format, entry.layout
    elif input_format is None:
        raise InputError(
            f"{source}: not a file painterly knows (SHA-256 {digest[:16]}…), so say how it expects its input: "
            "--format torchvision (RGB, ImageNet mean/std) or --format caffe (BGR, 0–255, mean subtracted)"
        )
    else:
        layout = ""
    raw_layout = _check_weights(source, backbone, layout or None)
    layout = layout or raw_layout
    name = name or (entry.name if entry else backbone)
    target_name = entry.filename if entry else f"{name}-{digest[:8]}{source.suffix or '.pth'}"
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
        target = models_dir / target_name
        if source.resolve() != target.resolve():
            if move:
                os.replace(source, target)
            else:
                _copy_atomic(source, target)
    except OSError as exc:
        raise OutputError(f"{models_dir}: cannot write the weights file ({exc.strerror})") from None
    model = InstalledModel(
        name=name,
        backbone=backbone,
        format=input_format,
        layout=layout,
        file=target_name,
        sha256=digest,
        size=target.stat().st_size,
        source=origin,
        known=entry.name if entry else "",
        added=time.time(),
    )
    models = [m for m in installed(models_dir) if m.name != name and m.file != target_name]
    _write_index(models_dir, [*models, model])
    return model


def _copy_atomic(source: Path, target: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check_weights(path: Path, backbone: str, layout: str | None) -> str:
    """Keys and shapes: every conv of the backbone, exactly. Returns the key layout found."""
    from painterly.backbones.weights import load_backbone_weights, read_state_dict

    raw = read_state_dict(path)
    if layout is None:
        layout = "features" if any(k.startswith("features.") for k in raw) else "named"
    load_backbone_weights(path, backbone, layout, raw=raw)
    return layout


def remove_model(name: str, models_dir: Path | None = None) -> InstalledModel:
    """Forget an installed model and delete its file."""
    models_dir = models_dir or default_models_dir()
    models = installed(models_dir)
    model = next((m for m in models if m.name == name), None) or next(
        (m for m in models if m.file == name), None
    )
    if model is None:
        names = ", ".join(m.name for m in models) or "none"
        raise InputError(f"no installed model {name!r} (installed: {names})")
    _write_index(models_dir, [m for m in models if m is not model])
    if not any(m.file == model.file for m in models if m is not model):
        (models_dir / model.file).unlink(missing_ok=True)
    return model


@dataclass(frozen=True)
class ResolvedWeights:
    """The file a run loads and how to read it."""

    path: Path
    backbone: str
    format: str
    layout: str
    sha256: str = ""
    name: str = ""


def resolve_weights(
    backbone: str,
    weights_file: str = "",
    *,
    models_dir: Path | None = None,
    registry: Registry | None = None,
) -> ResolvedWeights | None:
    """Which weight file a run of ``backbone`` uses, or None for the VGG19 that ships.

    ``weights_file`` is an installed model's name or a path; a path must be an installed
    file or a registry file (checked by SHA-256), since only then is its format known.
    Raises MissingWeightsError with the way to get the file when nothing fits.
    """
    models_dir = models_dir or default_models_dir()
    if weights_file:
        model = find_installed(weights_file, models_dir)
        if model is None:
            path = Path(weights_file).expanduser()
            if not path.is_file():
                raise InputError(f"weights_file {weights_file!r}: no such file or installed model")
            model = next(
                (m for m in installed(models_dir) if m.path(models_dir).resolve() == path.resolve()), None
            )
            if model is None:
                digest = sha256_file(path)
                entry = by_digest(digest, registry)
                if entry is None:
                    raise InputError(
                        f"{path}: painterly does not know this file's input format; add it with "
                        f"`painterly models add {path} --as {backbone} --format torchvision|caffe`"
                    )
                if entry.backbone != backbone:
                    raise InputError(f"{path}: this is the {entry.backbone} file, not {backbone}")
                return ResolvedWeights(path, backbone, entry.format, entry.layout, digest, entry.name)
    else:
        if backbone == "vgg19":
            return None
        model = for_backbone(backbone, models_dir)
        if model is None:
            raise MissingWeightsError(missing_message(backbone, registry))
    if model.backbone != backbone:
        raise InputError(f"installed model {model.name} is for {model.backbone}, not {backbone}")
    path = model.path(models_dir)
    if not path.is_file() or path.stat().st_size != model.size:
        raise MissingWeightsError(
            f"{path}: the installed {model.name} file is missing or changed; "
            f"`painterly models remove {model.name}` and add it again"
        )
    return ResolvedWeights(path, backbone, model.format, model.layout, model.sha256, model.name)


def listing(models_dir: Path | None = None, registry: Registry | None = None) -> dict[str, Any]:
    """What is installed and what is known, for `painterly models list`."""
    models_dir = models_dir or default_models_dir()
    models = installed(models_dir)
    have = {m.known for m in models if m.known}
    return {
        "folder": str(models_dir),
        "installed": [asdict(m) for m in models],
        "known": [
            {**asdict(k), "filename": k.filename, "installed": k.name in have} for k in entries(registry)
        ],
    }


__all__ = [
    "ChecksumError",
    "InstalledModel",
    "MissingWeightsError",
    "ResolvedWeights",
    "add_model",
    "default_models_dir",
    "find_installed",
    "for_backbone",
    "installed",
    "known",
    "listing",
    "missing_message",
    "remove_model",
    "resolve_weights",
    "sha256_file",
]
