"""Run every combination of a sweep, keep each run's records, and summarise them.

``DIR`` after a sweep::

    DIR/runs/<NN_key-value_...>.png    each output, with .json manifest and .losses.csv
    DIR/sheet.png                      contact sheet: rows and columns are the grid's axes
    DIR/losses.png                     every run's total loss against step and against time
    DIR/report.md                      table of final losses and times, fixed settings
    DIR/sweep.json                     the plan and each run's outcome, for machines

Runs share one loaded network per (pooling, activation, device, backbone, weights), built
as deep as the deepest layer any of them needs, and the input images are decoded once. A
run whose backbone's weights file is not installed is skipped with a note on the sheet and
in the report (saying how to install it); the others still run. A run whose
output exists beside a manifest saying it ended ("finished" or "diverged") with the
same settings is skipped, so an interrupted sweep carries on where it stopped.
"""

from __future__ import annotations

import io
import itertools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from PIL import Image

from painterly.backbones.store import MissingWeightsError
from painterly.backbones.vgg import VGG19Features, deepest_tap
from painterly.config import INIT_KEYWORDS, TransferConfig
from painterly.devices import resolve_device
from painterly.errors import ConfigError, OutputError, PainterlyError
from painterly.events import Progress
from painterly.images import atomic_write_bytes, atomic_write_text, check_output_path, open_image, save_image
from painterly.lab.sheets import contact_sheet
from painterly.lab.specs import STYLE_AXIS, SweepRun, SweepSpec, format_value, plan_runs
from painterly.records import (
    RunPaths,
    build_manifest,
    read_history_csv,
    read_manifest,
    write_history_csv,
    write_manifest,
)
from painterly.transfer import stylize

#: Statuses after which a run is not repeated on resume (a divergence is a result too).
DONE = ("finished", "diverged")

NetworkFactory = Callable[[str, str, str, torch.device], VGG19Features]
RunState = Literal["skipped", "running", "done", "stopped"]


def load_network(
    pooling: str,
    activation: str,
    last_tap: str,
    device: torch.device,
    backbone: str = "vgg19",
    weights_file: str = "",
) -> VGG19Features:
    """The pretrained backbone (VGG19 by default) as deep as ``last_tap`` (tests swap in a
    tiny random one). A factory is called with ``backbone``/``weights_file`` keywords only
    when a run asks for something other than the VGG19 that ships."""
    from painterly.backbones.networks import build_backbone

    return build_backbone(  # type: ignore[return-value]
        backbone,
        weights_file=weights_file,
        pooling=pooling,
        activation=activation,
        last_tap=last_tap,
        device=device,
    )


@dataclass(frozen=True)
class SweepProgress:
    """One event of a sweep: a run was skipped, stepped, or ended."""

    run: SweepRun
    number: int
    count: int
    state: RunState
    progress: Progress | None = None


@dataclass
class RunRecord:
    """What one run of a sweep left: its status, losses, time and history."""

    run: SweepRun
    paths: RunPaths
    status: str = "pending"
    losses: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    per_step: float = 0.0
    steps: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    skipped: bool = False
    message: str = ""  # why a run did not run (e.g. its backbone's weights are missing)


@dataclass
class SweepOutcome:
    """The whole sweep: a record per run and where the summaries went."""

    records: list[RunRecord]
    out_dir: Path
    sheet: Path | None = None
    plot: Path | None = None
    report: Path | None = None
    complete: bool = True

    @property
    def ran(self) -> int:
        return sum(1 for r in self.records if r.status in DONE and not r.skipped)

    @property
    def skipped(self) -> int:
        return sum(1 for r in self.records if r.skipped)


def check_inputs(spec: SweepSpec) -> tuple[Image.Image, list[Image.Image]]:
    """Open the photo and the paintings once (InputError naming a bad file)."""
    if any(a.key == STYLE_AXIS for a in spec.axes) and spec.content:  # each run names its own (#10)
        return open_image(spec.content), []
    if not spec.content or not spec.styles:
        raise ConfigError(
            f"{spec.source}: give a content image and at least one style image "
            "(on the command line or as content/styles in the spec)"
        )
    return open_image(spec.content), [open_image(s) for s in spec.styles]


def prepare(spec: SweepSpec, out_dir: str | os.PathLike[str]) -> tuple[list[SweepRun], Path]:
    """Everything that can fail before a run starts: every config, every input, the folder."""
    runs = plan_runs(spec)
    check_inputs(spec)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder")
    try:
        (out / "runs").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot create the sweep folder ({exc.strerror})") from None
    inputs = [spec.content or "", *spec.styles]
    for run in runs:
        for painting in run.styles:
            open_image(painting)
        for init in [] if run.config.init in INIT_KEYWORDS else [run.config.init]:
            open_image(init)
        check_output_path(out / "runs" / f"{run.name}.png", overwrite=True, inputs=inputs)
    return runs, out


def is_done(run: SweepRun, paths: RunPaths) -> bool:
    """True when this exact run already ended and its picture is there."""
    if not paths.output.is_file() or not paths.manifest.is_file():
        return False
    try:
        manifest = read_manifest(paths.manifest)
        return manifest.get("status") in DONE and TransferConfig.from_dict(manifest["config"]) == run.config
    except PainterlyError:
        return False


def run_sweep(
    spec: SweepSpec,
    out_dir: str | os.PathLike[str],
    callback: Callable[[SweepProgress], None] | None = None,
    *,
    rerun: bool = False,
    network_factory: NetworkFactory | None = None,
) -> SweepOutcome:
    """Run (or resume) every combination of ``spec`` into ``out_dir`` and write the
    contact sheet, loss plot and report. Stops early, keeping what is done, when a
    run is interrupted or stopped; run it again to carry on."""
    runs, out = prepare(spec, out_dir)
    content, styles = check_inputs(spec)
    factory = network_factory or load_network
    # One network per (pooling, activation, device, backbone, weights), as deep as its deepest user needs.
    deepest: dict[tuple[str, ...], str] = {}
    for run in runs:
        key = _network_key(run.config)
        layers = run.config.content_layers + run.config.style_layers
        deepest[key] = deepest_tap([*layers, deepest.get(key, layers[0])], run.config.backbone)
    networks: dict[tuple[str, ...], VGG19Features] = {}
    missing: dict[tuple[str, ...], str] = {}
    records = [RunRecord(run, RunPaths(out / "runs" / f"{run.name}.png")) for run in runs]
    outcome = SweepOutcome(records, out)
    for number, record in enumerate(records, start=1):
        run, paths = record.run, record.paths
        if not rerun and is_done(run, paths):
            _load_record(record)
            if callback:
                callback(SweepProgress(run, number, len(runs), "skipped"))
            continue
        key = _network_key(run.config)
        if key not in networks and key not in missing:
            device = resolve_device(run.config.device)
            extra = {} if key[3:] == ("vgg19", "") else {"backbone": key[3], "weights_file": key[4]}
            try:
                networks[key] = factory(key[0], key[1], deepest[key], device, **extra)
            except MissingWeightsError as exc:  # skip this backbone's runs, keep the others
                missing[key] = str(exc)
        if key in missing:
            record.status, record.message = "missing", missing[key]
            if callback:
                callback(SweepProgress(run, number, len(runs), "skipped"))
            continue

        def relay(event: Progress, run: SweepRun = run, number: int = number) -> None:
            if callback:
                callback(SweepProgress(run, number, len(runs), "running", event))

        paintings = [open_image(s) for s in run.styles] if run.styles else styles
        result = stylize(content, paintings, run.config, relay, network=networks[key])
        record.status, record.losses, record.steps = result.status, result.losses, result.steps
        record.seconds, record.per_step = result.timings["total"], result.timings["per_step"]
        record.history = result.history
        if result.history:
            write_history_csv(paths.history_csv, result.history)
        save_image(result.image, paths.output if result.status in DONE else paths.partial)
        write_manifest(
            paths.manifest,
            build_manifest(
                kind="transfer",
                config=run.config.to_dict(),
                inputs={"content": spec.content, "styles": list(run.styles or spec.styles)},
                output=paths.output,
                status=result.status,
                steps=result.steps,
                device=result.device,
                timings=result.timings,
                losses=result.losses,
                message=result.message,
                extra={
                    "sweep": {"source": spec.source, "run": number, "values": run.labels},
                    **({"library": list(run.library)} if run.library else {}),
                },
            ),
        )
        if result.status in DONE:
            paths.partial.unlink(missing_ok=True)
        if callback:
            callback(SweepProgress(run, number, len(runs), "done" if result.status in DONE else "stopped"))
        if result.status not in DONE:
            outcome.complete = False
            break
    write_summaries(spec, outcome)
    return outcome


def _network_key(config: TransferConfig) -> tuple[str, ...]:
    device = str(resolve_device(config.device))
    return config.pooling, config.activation, device, config.backbone, config.weights_file


def _load_record(record: RunRecord) -> None:
    """Fill a skipped run's record from what it left on disk."""
    manifest = read_manifest(record.paths.manifest)
    record.skipped = True
    record.status = manifest.get("status", "finished")
    record.losses = manifest.get("final_losses", {})
    record.steps = int(manifest.get("steps_done", 0))
    timings = manifest.get("timings", {})
    record.seconds, record.per_step = timings.get("total", 0.0), timings.get("per_step", 0.0)
    try:
        record.history = read_history_csv(record.paths.history_csv)
    except (OSError, ValueError):
        record.history = []


def grid_shape(spec: SweepSpec) -> tuple[list[str], list[str], Callable[[tuple[int, ...]], tuple[int, int]]]:
    """Row labels, column labels and position → (row, column): the last axis runs
    along the columns, every other axis (combined) down the rows."""
    axes = spec.axes
    if not axes:
        return ["default"], [""], lambda pos: (0, 0)
    cols = [axes[-1].label(i) for i in range(len(axes[-1].values))]
    if len(axes) == 1:
        return [""], cols, lambda pos: (0, pos[0])
    rows: list[str] = []
    sizes = [len(a.values) for a in axes[:-1]]
    for pos in itertools.product(*(range(n) for n in sizes)):
        rows.append("\n".join(f"{a.key}={a.label(i)}" for a, i in zip(axes[:-1], pos)))

    def place(pos: tuple[int, ...]) -> tuple[int, int]:
        row = 0
        for size, i in zip(sizes, pos[:-1]):
            row = row * size + i
        return row, pos[-1]

    return rows, cols, place


def fixed_settings(spec: SweepSpec, records: list[RunRecord]) -> dict[str, Any]:
    """The settings every run shares that differ from the defaults (for the sheet's notes)."""
    if not records:
        return {}
    defaults = TransferConfig().to_dict()
    first = records[0].run.config.to_dict()
    swept = {a.key for a in spec.axes}
    shared = {k: v for k, v in first.items() if all(r.run.config.to_dict()[k] == v for r in records)}
    return {k: v for k, v in shared.items() if k not in swept and v != defaults.get(k)}


def write_summaries(spec: SweepSpec, outcome: SweepOutcome) -> None:
    """Contact sheet, loss plot, report and sweep.json from the records."""
    out, records = outcome.out_dir, outcome.records
    title = spec.title or f"sweep over {', '.join(a.key for a in spec.axes) or 'nothing'}"
    rows, cols, place = grid_shape(spec)
    cells: list[list[Image.Image | None]] = [[None] * len(cols) for _ in rows]
    captions = [[""] * len(cols) for _ in rows]
    for rec in records:
        r, c = place(rec.run.position)
        if rec.status in DONE and rec.paths.output.is_file():
            cells[r][c] = open_image(rec.paths.output)
            captions[r][c] = f"total {rec.losses.get('total', float('nan')):.3g} · {rec.seconds:.1f} s" + (
                " · diverged" if rec.status == "diverged" else ""
            )
        elif rec.status == "missing":
            captions[r][c] = f"skipped: no {rec.run.config.backbone} weights installed"
    fixed = fixed_settings(spec, records)
    notes = [
        "content: "
        + Path(spec.content or "").name
        + "   style: "
        + (", ".join(Path(s).name for s in spec.styles) or "one per column or row (style axis)"),
        "fixed: " + "; ".join(f"{k}={format_value(_tuple(v))}" for k, v in fixed.items()),
        *dict.fromkeys(f"skipped: {r.message}" for r in records if r.status == "missing"),
    ]
    sheet = contact_sheet(
        cells,
        row_labels=rows if any(rows) else (),
        column_labels=cols if any(cols) else (),
        captions=captions,
        title=title,
        notes=notes,
        column_header=spec.axes[-1].key if spec.axes else "",
        row_header=", ".join(a.key for a in spec.axes[:-1]),
    )
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    outcome.sheet = atomic_write_bytes(out / "sheet.png", buffer.getvalue())
    outcome.plot = plot_sweep(out / "losses.png", records, title)
    outcome.report = atomic_write_text(out / "report.md", report_markdown(spec, outcome, fixed))
    atomic_write_text(out / "sweep.json", json.dumps(sweep_summary(spec, outcome), indent=2) + "\n")


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def plot_sweep(path: Path, records: list[RunRecord], title: str) -> Path:
    """Every run's total loss on a log scale, against step (left) and seconds (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (by_step, by_time) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=100)
    for rec in records:
        rows = [r for r in rec.history if "total" in r]
        if not rows:
            continue
        totals = [r["total"] for r in rows]
        (line,) = by_step.plot([r["step"] for r in rows], totals, linewidth=1.4, label=rec.run.label)
        by_time.plot([r.get("elapsed", 0.0) for r in rows], totals, linewidth=1.4, color=line.get_color())
    for ax, xlabel in ((by_step, "step"), (by_time, "seconds (optimisation only)")):
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("total loss")
        ax.grid(True, which="both", alpha=0.3)
    by_step.set_title(title, fontsize=10)
    if any(r.history for r in records):
        by_step.legend(fontsize=7)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return atomic_write_bytes(path, buffer.getvalue())


def report_markdown(spec: SweepSpec, outcome: SweepOutcome, fixed: dict[str, Any]) -> str:
    """A Markdown report: what was compared, the sheet, the curves and a table."""
    lines = [f"# {spec.title or 'Sweep'}", ""]
    if spec.description:
        lines += [spec.description.strip(), ""]
    lines += [
        f"- spec: `{spec.source}`",
        f"- content: `{spec.content}`; style: {', '.join(f'`{s}`' for s in spec.styles)}",
        f"- swept: {', '.join(f'`{a.key}`' for a in spec.axes) or 'nothing'}",
        "- fixed: " + (", ".join(f"`{k}={format_value(_tuple(v))}`" for k, v in fixed.items()) or "defaults"),
        "",
    ]
    if not outcome.complete:
        lines += ["**The sweep stopped before its end; run the same command again to finish it.**", ""]
    for message in dict.fromkeys(r.message for r in outcome.records if r.status == "missing"):
        lines += [f"**Skipped:** {message}", ""]
    lines += ["![contact sheet](sheet.png)", "", "![loss curves](losses.png)", ""]
    loss_names = ["content", "style", "total"]
    header = ["run", *[a.key for a in spec.axes], "status", "steps", *loss_names, "seconds", "s/step"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for rec in outcome.records:
        cells = [
            f"[{rec.run.index + 1}](runs/{rec.paths.output.name})",
            *[rec.run.labels[a.key] for a in spec.axes],
            rec.status + (" (earlier run)" if rec.skipped else ""),
            str(rec.steps),
            *[f"{rec.losses[k]:.4g}" if k in rec.losses else "" for k in loss_names],
            f"{rec.seconds:.1f}" if rec.status in DONE else "",
            f"{rec.per_step:.3f}" if rec.status in DONE else "",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Times include loading the images and computing targets; the network load is shared."]
    return "\n".join(lines) + "\n"


def sweep_summary(spec: SweepSpec, outcome: SweepOutcome) -> dict[str, Any]:
    return {
        "title": spec.title,
        "source": spec.source,
        "content": spec.content,
        "styles": list(spec.styles),
        "axes": [{"key": a.key, "values": [format_value(v) for v in a.values]} for a in spec.axes],
        "complete": outcome.complete,
        "runs": [
            {
                "name": r.run.name,
                "values": r.run.labels,
                "status": r.status,
                "message": r.message,
                "skipped": r.skipped,
                "steps": r.steps,
                "seconds": round(r.seconds, 3),
                "losses": r.losses,
                "output": str(r.paths.output),
            }
            for r in outcome.records
        ],
    }


__all__ = [
    "DONE",
    "RunRecord",
    "SweepOutcome",
    "SweepProgress",
    "is_done",
    "load_network",
    "prepare",
    "run_sweep",
]
