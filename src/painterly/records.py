"""What a run leaves beside its picture so that it can be understood and made again.

For an output ``out/cat.png`` a run writes:
  * ``out/cat.json``        the manifest: every setting, seed, inputs (with SHA-256),
                            versions, device, timings, final losses, status
  * ``out/cat.losses.csv``  one row per step with every partial loss
  * ``out/cat.losses.png``  the loss curves
  * ``out/cat.steps/``      intermediate images (when asked for)
  * ``out/cat.partial.png`` the latest image of a run that did not finish (removed when it does)
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import platform
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from painterly.errors import InputError
from painterly.images import atomic_write_bytes, atomic_write_text

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class RunPaths:
    """The files of one run, all derived from the output path."""

    output: Path

    @property
    def manifest(self) -> Path:
        return self.output.with_suffix(".json")

    @property
    def history_csv(self) -> Path:
        return self.output.with_name(self.output.stem + ".losses.csv")

    @property
    def history_plot(self) -> Path:
        return self.output.with_name(self.output.stem + ".losses.png")

    @property
    def steps_dir(self) -> Path:
        return self.output.with_name(self.output.stem + ".steps")

    @property
    def partial(self) -> Path:
        return self.output.with_name(self.output.stem + ".partial" + self.output.suffix)

    def step_image(self, step: int) -> Path:
        return self.steps_dir / f"step_{step:05d}{self.output.suffix}"


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, to tell later whether an input changed."""
    with open(path, "rb") as handle:
        if hasattr(hashlib, "file_digest"):  # Python 3.11+ (issue #18: the library's own loop)
            return hashlib.file_digest(handle, "sha256").hexdigest()
        digest = hashlib.sha256()
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def versions() -> dict[str, str]:
    """Versions of what shapes the picture: Python, torch, painterly, the platform."""
    from painterly import __version__

    return {
        "painterly": __version__,
        "torch": _torch_version(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def _torch_version() -> str:
    """torch's version without importing it (1.6 s) when the run did not need it (fast mode)."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return str(torch.__version__)
    from importlib import metadata

    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return "not installed"


def fast_manifest(
    config: Any,
    content: str,
    styles: list[str],
    output: str | os.PathLike[str],
    result: Any,
    threads: int,
    library: list[Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest of one fast-mode picture (``result`` a FastResult): the same for
    `painterly fast` and a fast batch, so either can be read or remade the same way."""
    return build_manifest(
        kind="fast",
        config=config.to_dict(),
        inputs={"content": content, "styles": styles},
        output=output,
        status="finished",
        steps=0,
        device=f"cpu (onnxruntime, {threads} threads)",
        timings=result.timings,
        losses={},
        extra={
            "size": list(result.size),
            "work_size": list(result.work_size),
            **({"library": list(library)} if library else {}),
            **(extra or {}),
        },
    )


def build_manifest(
    *,
    kind: str,
    config: dict[str, Any],
    inputs: dict[str, Any],
    output: str | os.PathLike[str],
    status: str,
    steps: int,
    device: str,
    timings: dict[str, float],
    losses: dict[str, float],
    message: str = "",
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest as a JSON-ready dict. ``inputs`` maps roles to paths or lists of paths."""

    def describe(path: str) -> dict[str, str]:
        p = Path(path)
        return {"path": str(p.resolve()), "sha256": file_sha256(p) if p.is_file() else ""}

    described = {
        role: [describe(p) for p in value] if isinstance(value, (list, tuple)) else describe(value)
        for role, value in inputs.items()
        if value is not None
    }
    return {
        "manifest_version": MANIFEST_VERSION,
        "kind": kind,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "status": status,
        "steps_done": steps,
        "output": str(Path(output).resolve()),
        "inputs": described,
        "config": config,
        "seed": config.get("seed"),
        "device": device,
        "versions": versions(),
        "timings": {k: round(v, 4) for k, v in timings.items()},
        "final_losses": losses,
        "message": message,
        **(extra or {}),
    }


def write_manifest(path: str | os.PathLike[str], manifest: dict[str, Any]) -> Path:
    """Write a manifest atomically."""
    return atomic_write_text(path, json.dumps(manifest, indent=2, sort_keys=False) + "\n")


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a manifest, or raise InputError naming the problem."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such manifest") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a readable JSON manifest ({exc})") from None
    if not isinstance(data, dict) or "config" not in data or "inputs" not in data:
        raise InputError(f"{path}: not a painterly manifest (no config or inputs)")
    return data


def write_history_csv(path: str | os.PathLike[str], history: list[dict[str, float]]) -> Path:
    """One row per step; columns are the union of all loss names (first seen order)."""
    columns: list[str] = []
    for row in history:
        columns += [k for k in row if k not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: _fmt(v) for k, v in row.items()})
    return atomic_write_bytes(path, buffer.getvalue().encode())


def read_history_csv(path: str | os.PathLike[str]) -> list[dict[str, float]]:
    """The rows written by :func:`write_history_csv`, as floats."""
    with open(path, newline="") as handle:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(handle)]


def plot_history(path: str | os.PathLike[str], history: list[dict[str, float]], title: str = "") -> Path:
    """Loss curves (total, content, style, each style layer) on a log scale, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    steps = [row["step"] for row in history]
    names = [k for k in ("total", "content", "style", "tv") if history and k in history[0]]
    layers = sorted({k for row in history for k in row if k.startswith("style/")})
    plotted = False
    for name in names + layers:
        # Zeros (the content loss at step 1) have no place on a log scale.
        values = [v if (v := row.get(name, float("nan"))) > 0 else float("nan") for row in history]
        if all(v != v for v in values):
            continue
        main = name in names
        ax.plot(steps, values, label=name, linewidth=2 if main else 0.8, alpha=1 if main else 0.7)
        plotted = True
    if plotted:
        ax.set_yscale("log")
        ax.legend(fontsize=7, ncol=2)
    ax.set_xlabel("step")
    ax.set_ylabel("weighted loss")
    ax.set_title(title or "loss history")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return atomic_write_bytes(path, buffer.getvalue())


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:.6g}"
