"""What a batch is made of (issue #12): photos × paintings (or pairs from a CSV) as tasks,
each with a predictable output name and a key that says when its output is still good.

A task is plain data (picklable, JSON-able) so that a local process or a Ray actor can run
it. Whether a task is skipped (finished with the same key), resumed (its checkpoint has
the same key) or made afresh is decided by :func:`state_of` from the files alone, so the
driver and a worker that retries a pair after a crash decide the same way.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from painterly.errors import ConfigError, InputError
from painterly.records import RunPaths, file_sha256

Mode = Literal["optimise", "fast"]
State = Literal["new", "resume", "skip"]

#: Files a folder or glob contributes; anything else there is left alone.
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}

#: Settings that do not change the picture's meaning: a batch resumed with another split of
#: threads, or on another machine, still counts its finished outputs.
UNKEYED = ("threads", "device", "preview_every", "cache")


@dataclass(frozen=True)
class Task:
    """One pair: a photo, a painting (file or library name), where its picture goes."""

    index: int
    photo: str
    painting: str
    output: str
    mode: Mode
    config: dict[str, Any]
    key: str
    checkpoint_every: int = 20
    styles: tuple[str, ...] = ()
    library: tuple[dict[str, Any], ...] = field(default=())

    @property
    def paths(self) -> RunPaths:
        return RunPaths(Path(self.output))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def expand_images(sources: list[str], what: str) -> list[str]:
    """Files, folders (their image files, sorted) and globs → files, in the order given.
    Library names (``movement:fauvism``, an id) pass through for paintings."""
    from painterly.library.resolve import is_query

    found: list[str] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            files = sorted(
                str(p) for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
            if not files:
                raise InputError(f"{source}: no image files in this folder")
            found += files
        elif path.is_file():
            found.append(str(path))
        elif any(ch in source for ch in "*?["):
            files = sorted(
                f for f in glob.glob(source, recursive=True) if Path(f).suffix.lower() in IMAGE_SUFFIXES
            )
            if not files:
                raise InputError(f"{source}: no image files match this pattern")
            found += files
        elif what == "painting" and is_query(source):
            found.append(source)
        else:
            raise InputError(f"{source}: no such {what} file, folder or pattern")
    if not found:
        raise ConfigError(f"give at least one {what}")
    return found


def read_pairs(path: str) -> list[tuple[str, str, str]]:
    """A CSV of pairs: columns ``photo,painting[,output]`` (a header row naming them, or
    none); relative paths are relative to the CSV's folder."""
    csv_path = Path(path)
    try:
        rows = list(csv.reader(csv_path.read_text(encoding="utf-8").splitlines()))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the pairs CSV ({exc})") from None
    rows = [
        [c.strip() for c in r] for r in rows if r and any(c.strip() for c in r) and not r[0].startswith("#")
    ]
    if rows and [c.lower() for c in rows[0][:2]] == ["photo", "painting"]:
        rows = rows[1:]
    if not rows:
        raise InputError(f"{path}: no pairs (columns: photo,painting[,output])")
    pairs = []
    for number, row in enumerate(rows, 1):
        if len(row) < 2 or not row[0] or not row[1]:
            raise InputError(f"{path}: row {number}: give photo,painting[,output]")

        def local(p: str) -> str:
            from painterly.library.resolve import is_query

            if Path(p).is_absolute() or (is_query(p) and not (csv_path.parent / p).exists()):
                return p
            return str(csv_path.parent / p)

        output = row[2] if len(row) > 2 else ""
        pairs.append((local(row[0]), local(row[1]), output))
    return pairs


def label(source: str) -> str:
    """A file-name-safe short name: a file's stem, or a library name with ``:`` as ``-``."""
    from painterly.library.resolve import is_query

    text = source if is_query(source) and not Path(source).exists() else Path(source).stem
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "image"


def output_names(pairs: list[tuple[str, str, str]], out_dir: Path, fmt: str) -> list[Path]:
    """``OUT/<photo>__<painting>.<fmt>`` for every pair (or the CSV's own name); names
    that would collide get ``-2``, ``-3``, ... in the order of the pairs."""
    names: list[Path] = []
    seen: set[str] = set()
    for photo, painting, given in pairs:
        base = Path(given) if given else Path(f"{label(photo)}__{label(painting)}.{fmt}")
        stem, suffix = base.stem, base.suffix or f".{fmt}"
        name, n = f"{stem}{suffix}", 1
        while name.lower() in seen:
            n += 1
            name = f"{stem}-{n}{suffix}"
        seen.add(name.lower())
        names.append(out_dir / name)
    return names


def task_key(mode: Mode, config: dict[str, Any], photo: str, styles: list[str]) -> str:
    """A digest of what shapes the picture: the settings and the inputs' bytes."""
    settings = {k: v for k, v in sorted(config.items()) if k not in UNKEYED}
    payload = {
        "mode": mode,
        "config": settings,
        "photo": file_sha256(photo),
        "styles": [file_sha256(s) for s in styles],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]


def state_of(task: Task) -> State:
    """skip: finished with this key and its picture is there; resume: a checkpoint with this
    key; new: anything else (no output, other settings or inputs, a stranger's file)."""
    paths = task.paths
    try:
        manifest = json.loads(paths.manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "new"
    if not isinstance(manifest, dict) or (manifest.get("batch") or {}).get("key") != task.key:
        return "new"
    status = manifest.get("status")
    if status == "finished" and paths.output.is_file():
        return "skip"
    if task.mode == "optimise" and status != "finished" and paths.partial.is_file():
        return "resume"
    return "new"


def clear(task: Task) -> None:
    """Remove what an earlier, different run left under this task's name (the batch owns
    its output folder), so that a fresh run neither refuses nor resumes a stranger's file."""
    paths = task.paths
    for path in (paths.output, paths.partial, paths.manifest, paths.history_csv, paths.history_plot):
        path.unlink(missing_ok=True)
