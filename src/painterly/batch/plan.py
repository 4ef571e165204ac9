"""Planning a batch and writing its summary (issue #12): pairs → tasks with their state,
then ``batch.json``, ``batch.csv`` and a contact sheet from the workers' records."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from painterly.batch.jobs import Mode, Task, output_names, state_of, task_key
from painterly.errors import InputError, OutputError, PainterlyError
from painterly.images import atomic_write_bytes, atomic_write_text

SUMMARY_JSON, SUMMARY_CSV, SHEET = "batch.json", "batch.csv", "contact_sheet.png"
CSV_COLUMNS = (
    "index",
    "photo",
    "painting",
    "output",
    "status",
    "reason",
    "steps",
    "seconds",
    "attempts",
    "worker",
)


@dataclass
class BatchPlan:
    """The tasks to run, the pairs that failed already while planning, and step counts."""

    out_dir: Path
    mode: Mode
    tasks: list[Task] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    states: dict[int, str] = field(default_factory=dict)
    totals: dict[int, int] = field(default_factory=dict)
    done_before: dict[int, int] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.tasks) + len(self.failed)

    @property
    def to_run(self) -> list[Task]:
        return [t for t in self.tasks if self.states[t.index] != "skip"]


def plan_batch(
    pairs: list[tuple[str, str, str]],
    out_dir: str | Path,
    mode: Mode,
    config: Any,
    fmt: str = "png",
    checkpoint_every: int = 20,
) -> BatchPlan:
    """Every pair checked and named; a pair whose inputs are bad is recorded as failed
    (with the reason) instead of stopping the others."""
    from painterly.images import WRITABLE_SUFFIXES, open_image
    from painterly.library.resolve import resolve_run_styles

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: is a file; the batch output must be a folder")
    if not out.parent.is_dir():
        raise OutputError(f"{out}: folder {out.parent} does not exist")
    if f".{fmt}" not in WRITABLE_SUFFIXES:
        raise OutputError(f"--format {fmt}: use one of {', '.join(sorted(s[1:] for s in WRITABLE_SUFFIXES))}")
    out.mkdir(exist_ok=True)
    plan = BatchPlan(out, mode)
    opened: dict[str, str] = {}  # path → error ("" if fine): every file is opened once

    def check(path: str) -> None:
        if path not in opened:
            try:
                open_image(path)
                opened[path] = ""
            except PainterlyError as exc:
                opened[path] = str(exc)
        if opened[path]:
            raise InputError(opened[path])  # the pair fails with this reason

    names = output_names(pairs, out, fmt)
    for index, ((photo, painting, _), output) in enumerate(zip(pairs, names)):
        try:
            if output.suffix.lower() not in WRITABLE_SUFFIXES:
                raise OutputError(f"{output}: unknown image format {output.suffix!r}")
            styles, resolved, library = resolve_run_styles([painting], config)
            for path in [photo, *styles]:
                check(path)
            settings = resolved.to_dict()
            task = Task(
                index=index,
                photo=photo,
                painting=painting,
                output=str(output),
                mode=mode,
                config=settings,
                key=task_key(mode, settings, photo, styles),
                checkpoint_every=checkpoint_every,
                styles=tuple(styles),
                library=tuple(library),
            )
        except PainterlyError as exc:
            plan.failed.append(
                {
                    "index": index,
                    "photo": photo,
                    "painting": painting,
                    "output": str(output),
                    "status": "failed",
                    "reason": str(exc),
                    "steps": 0,
                    "attempts": 0,
                }
            )
            continue
        plan.tasks.append(task)
        state = state_of(task)
        plan.states[index] = state
        plan.totals[index] = 1 if mode == "fast" else resolved.total_steps()
        plan.done_before[index] = _steps_done(task) if state == "resume" else 0
        if state == "skip":
            plan.done_before[index] = plan.totals[index]
    return plan


def _steps_done(task: Task) -> int:
    try:
        return int(json.loads(task.paths.manifest.read_text(encoding="utf-8")).get("steps_done", 0))
    except (OSError, ValueError, TypeError):
        return 0


def write_summary(
    plan: BatchPlan, records: list[dict[str, Any]], settings: dict[str, Any], seconds: float, backend: str
) -> dict[str, Any]:
    """batch.json (everything), batch.csv (a row per pair) and the contact sheet; returns the
    summary. A pair never run (the batch was interrupted first) is ``not run``."""
    by_index = {r["index"]: r for r in [*plan.failed, *records]}
    rows = []
    for task in plan.tasks:
        rows.append(
            by_index.get(
                task.index,
                {
                    "index": task.index,
                    "photo": task.photo,
                    "painting": task.painting,
                    "output": task.output,
                    "status": "not run",
                    "reason": "the batch stopped before this pair",
                },
            )
        )
    rows += plan.failed
    rows.sort(key=lambda r: r["index"])
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    summary = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "mode": plan.mode,
        "backend": backend,
        "pairs": len(rows),
        "counts": counts,
        "ok": all(r["status"] in ("finished", "skipped") for r in rows),
        "seconds": round(seconds, 3),
        "settings": settings,
        "results": rows,
    }
    atomic_write_text(plan.out_dir / SUMMARY_JSON, json.dumps(summary, indent=2, default=str) + "\n")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                k: (f"{row[k]:.2f}" if k == "seconds" and row.get(k) is not None else row.get(k, ""))
                for k in CSV_COLUMNS
            }
        )
    atomic_write_bytes(plan.out_dir / SUMMARY_CSV, buffer.getvalue().encode())
    write_sheet(plan.out_dir / SHEET, rows)
    return summary


def write_sheet(path: Path, rows: list[dict[str, Any]], cell: int = 160) -> None:
    """Photos down, paintings across, the finished pictures in the cells (grey: not made)."""
    from painterly.batch.jobs import label
    from painterly.images import open_image, save_image
    from painterly.lab.sheets import contact_sheet

    photos = list(dict.fromkeys(r["photo"] for r in rows))
    paintings = list(dict.fromkeys(r["painting"] for r in rows))
    cells: list[list[Any]] = [[None] * len(paintings) for _ in photos]
    captions = [[""] * len(paintings) for _ in photos]
    for row in rows:
        i, j = photos.index(row["photo"]), paintings.index(row["painting"])
        captions[i][j] = row["status"]
        if row["status"] in ("finished", "skipped") and Path(row["output"]).is_file():
            try:
                cells[i][j] = open_image(row["output"])
            except PainterlyError:
                captions[i][j] = "unreadable"
    sheet = contact_sheet(
        cells,
        row_labels=[label(p) for p in photos],
        column_labels=[label(p) for p in paintings],
        captions=captions,
        title="painterly batch",
        cell=cell,
        row_header="photos",
        column_header="paintings",
    )
    save_image(sheet, path)
