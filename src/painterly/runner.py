"""One optimisation run as a job: plan it (every input checked), execute it (checkpoints,
manifest, loss history), return what happened. No printing, no exits.

`painterly run` and `painterly batch` (issue #12) both go through here, so a batch's pair
leaves exactly the files a single run leaves, and resumes the same way: while it runs a
job keeps ``<out>.partial.png`` and its manifest up to date (status "running") every
``checkpoint_every`` steps; a job stopped by Ctrl-C, a NaN or a crash is carried on by
:func:`plan_resume` from that manifest.

Side files failing (a full disk) never cost the picture: they become warnings through
the ``warn`` callback. ``guard`` is a context-manager factory the caller gives to hold
stop signals while files are written (the CLI's :func:`painterly.cli.signals.deferred`).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from painterly.config import INIT_KEYWORDS, TransferConfig, config_from_dict
from painterly.errors import ConfigError, InputError, OutputError
from painterly.events import NoticeCallback, Progress, ProgressCallback
from painterly.images import check_output_path, open_image, save_image
from painterly.library.resolve import resolve_run_styles
from painterly.records import (
    RunPaths,
    build_manifest,
    plot_history,
    read_history_csv,
    read_manifest,
    write_history_csv,
    write_manifest,
)

if TYPE_CHECKING:
    from painterly.backbones.vgg import VGG19Features
    from painterly.transfer import TransferResult

DEFAULT_CHECKPOINT_EVERY = 20

Warn = Callable[[str], None]
Guard = Callable[[], contextlib.AbstractContextManager[Any]]


def _no_warning(message: str) -> None:
    """Default ``warn``: a library caller that passes nothing hears nothing."""


class Job:
    """Everything a run needs, gathered and checked before any long work starts."""

    def __init__(
        self,
        content: str,
        styles: list[str],
        config: TransferConfig,
        paths: RunPaths,
        steps_before: int = 0,
        history_before: list[dict[str, float]] | None = None,
        resumed_from: str | None = None,
        original_init: str | None = None,
        original_config: TransferConfig | None = None,
    ) -> None:
        self.content, self.styles, self.config, self.paths = content, styles, config, paths
        self.steps_before = steps_before
        self.history_before = history_before or []
        self.resumed_from = resumed_from
        self.original_init = original_init or config.init
        self.original_config = original_config
        #: What library names became (issue #10), for the manifest.
        self.library: list[dict[str, Any]] = []
        #: Bits per channel of the picture (issue #18).
        self.bit_depth = 8
        #: More facts for the manifest (a batch's key for its pair, issue #12).
        self.extra: dict[str, Any] = {}

    @property
    def total_steps(self) -> int:
        """Steps of the whole run, those done before a resume included."""
        return self.steps_before + self.config.total_steps()


@dataclass
class Outcome:
    """What :func:`execute` did: the status, where the picture went, the engine's result."""

    status: str
    steps: int
    picture: Path
    paths: RunPaths
    message: str = ""
    losses: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    result: TransferResult | None = None
    maps: Any = None

    @property
    def finished(self) -> bool:
        return self.status == "finished"


def plan_job(
    content: str, styles: list[str], config: TransferConfig, output: str | Path, *, overwrite: bool = False
) -> Job:
    """A new run: library names made concrete, every input opened, the output checked."""
    styles, config, library = resolve_run_styles(styles, config)  # issue #10: library names → files
    check_inputs(content, styles, config)
    target = check_output_path(output, overwrite, inputs=[content, *styles, *init_file(config)])
    job = Job(content, styles, config, RunPaths(target))
    job.library = library
    return job


def plan_resume(
    manifest_path: str | Path,
    *,
    output: str | Path | None = None,
    overwrite: bool = False,
    given: dict[str, Any] | None = None,
    warn: Warn = _no_warning,
) -> Job:
    """Carry on an interrupted run from its manifest (``given``: settings that override it)."""
    source = str(manifest_path)
    manifest = read_run_manifest(source)
    if manifest.status == "finished":
        raise InputError(f"{source}: this run already finished; nothing to resume")
    if not output and not manifest.output:
        raise InputError(f"{source}: output: missing (give -o OUT)")
    paths = RunPaths(Path(output or manifest.output or ""))
    if not output and paths.manifest.resolve() != Path(source).resolve():
        # A run's files sit beside each other; a manifest whose output points elsewhere was
        # moved or edited, and resuming it would write over files it never made.
        raise InputError(
            f"{source}: output: {paths.output} is not this manifest's picture (that would be "
            f"{Path(source).with_suffix(paths.output.suffix or '.png')}); give -o OUT to choose"
        )
    if not paths.partial.is_file():
        raise InputError(f"{source}: its latest image {paths.partial} is missing; cannot resume")
    from painterly.transfer import remaining_schedule

    with naming(source):
        original = config_from_dict(TransferConfig, {**manifest.config, **(given or {})})
    done = manifest.steps_done
    config = remaining_schedule(original, done).replace(init=str(paths.partial))
    content = manifest.inputs.content.path
    styles = [s.path for s in manifest.inputs.styles]
    check_inputs(content, styles, config)
    history = history_until(paths.history_csv, done, warn)
    # An unfinished run has not written its picture: a file there is someone else's.
    check_output_path(paths.output, overwrite=overwrite, inputs=[content, *styles])
    return Job(
        content,
        styles,
        config,
        paths,
        done,
        history,
        resumed_from=str(Path(source).resolve()),
        original_init=original.init,
        original_config=original,
    )


def read_run_manifest(path: str) -> Any:
    """A run's manifest, checked by the one schema (InputError naming file and field)."""
    from painterly.schema import check_run_manifest, check_settings

    data = read_manifest(path)
    manifest = check_run_manifest(data, path)
    with naming(path):
        check_settings(TransferConfig, manifest.config, "config.")
    return manifest


@contextlib.contextmanager
def naming(source: str | None) -> Iterator[None]:
    """Prefix a ConfigError with the manifest it came from."""
    try:
        yield
    except ConfigError as exc:
        if source and not str(exc).startswith(source):
            raise ConfigError(f"{source}: {exc}") from None
        raise


def history_until(path: Path, done: int, warn: Warn = _no_warning) -> list[dict[str, float]]:
    """The loss rows of the steps a resumed run keeps (a checkpoint may trail the CSV)."""
    if not path.is_file():
        return []
    try:
        rows = read_history_csv(path)
    except (OSError, ValueError, KeyError):
        warn(f"{path} is unreadable; the loss history starts afresh")
        return []
    return [row for row in rows if row.get("step", 0) <= done]


def init_file(config: TransferConfig) -> list[str]:
    return [] if config.init in INIT_KEYWORDS else [config.init]


def check_inputs(content: str, styles: list[str], config: TransferConfig) -> None:
    """Open every input once so that a bad file fails now, not after the network loads."""
    from painterly.masks import check_mask_files, parse_mask_spec

    for path in [content, *styles, *init_file(config)]:
        open_image(path)
    check_mask_files([parse_mask_spec(spec) for spec in config.masks])
    if config.color_reference:
        open_image(config.color_reference)
    from painterly.backbones.store import resolve_weights  # issue #14: a missing backbone fails now

    resolve_weights(config.backbone, config.weights_file)
    check_portrait_inputs(config)
    from painterly.devices import resolve_device  # issue #18: cuda:7 on a 1-GPU machine fails now

    resolve_device(config.device)


def check_portrait_inputs(config: Any) -> None:
    """Portrait mode (issue #9): the runtime is there, the portrait files can be read."""
    if not getattr(config, "portrait", False):
        return
    from painterly.errors import MissingDependencyError
    from painterly.portrait import INSTALL_HINT, runtime_available

    if not runtime_available():
        raise MissingDependencyError(
            f"portrait mode needs the LiteRT runtime (ai-edge-litert): {INSTALL_HINT}"
        )
    for name in ("person_style", "background_style", "mask_person"):
        if getattr(config, name):
            open_image(getattr(config, name))


def execute(
    job: Job,
    *,
    save_every: int = 0,
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    on_progress: ProgressCallback | None = None,
    network: VGG19Features | None = None,
    guard: Guard = contextlib.nullcontext,
    final_guard: Guard | None = None,
    warn: Warn = _no_warning,
    notice: NoticeCallback | None = None,
) -> Outcome:
    """Run a planned job: checkpoints while it runs, then the picture, then its side files.

    ``on_progress`` sees every step with the steps before a resume counted in (``step``
    and ``total_steps`` cover the whole run). ``network`` shares a loaded VGG19 between
    jobs (a batch worker loads one). ``final_guard`` (default ``guard``) wraps the final writes:
    `painterly run` gives one that only notes a signal there, since those writes are the clean
    stop itself. Raises OutputError if the picture cannot be written;
    anything else the run did (finished, interrupted, diverged) is in the Outcome.
    """
    from painterly.transfer import stylize

    paths, config = job.paths, job.config
    intervals = [n for n in (save_every, checkpoint_every) if n]
    if intervals and not config.preview_every:
        config = config.replace(preview_every=math.gcd(*intervals))

    def manifest_for(
        result: TransferResult | None, status: str, steps: int, losses: dict[str, float]
    ) -> dict:
        return build_manifest(
            kind="transfer",
            config={**config.to_dict(), **_schedule_of(job), "init": job.original_init},
            inputs={"content": job.content, "styles": job.styles, "init": (init_file(config) or [None])[0]},
            output=paths.output,
            status=status,
            steps=steps,
            device=result.device if result else config.device,
            timings=result.timings if result else {},
            losses=losses,
            message=result.message if result else "",
            extra=_extra(job),
        )

    if save_every:
        paths.steps_dir.mkdir(exist_ok=True)
    # Rows of this run as they arrive, so a checkpoint keeps the loss history too: after a
    # crash (even SIGKILL) --resume finds the steps before it in OUT.losses.csv (issue #15).
    live: list[dict[str, float]] = []
    warned: set[str] = set()

    def side_file(what: str, write: Callable[[], object]) -> bool:
        """Write a side file; its failure (a full disk) is a warning, never the run's end."""
        try:
            write()
            return True
        except OSError as exc:
            if what not in warned:
                warned.add(what)
                warn(f"could not write {what} ({exc.strerror or str(exc)})")
            return False

    def progress(event: Progress) -> None:
        if on_progress is not None:
            on_progress(offset_event(event, job.steps_before))
        step = event.step + job.steps_before
        live.append({"step": step, "scale": event.scale, "elapsed": event.elapsed, **event.losses})
        if event.image is None:
            return
        if save_every and step % save_every == 0:
            side_file("intermediate images", lambda: save_image(event.image, paths.step_image(step)))
        if checkpoint_every and step % checkpoint_every == 0:
            with guard():
                if side_file("the checkpoint", lambda: save_image(event.image, paths.partial)):
                    side_file(
                        "the checkpoint",
                        lambda: write_manifest(
                            paths.manifest, manifest_for(None, "running", step, event.losses)
                        ),
                    )
                    side_file(
                        "the loss history",
                        lambda: write_history_csv(paths.history_csv, job.history_before + live),
                    )

    maps = None
    if config.portrait:  # issue #9: masks and weight maps from painterly.portrait
        from painterly.portrait import stylize_portrait

        portrait = stylize_portrait(job.content, job.styles, config, progress, network=network, notice=notice)
        result, maps = portrait.result, portrait.maps
    else:
        result = stylize(job.content, job.styles, config, progress, network=network)

    steps = job.steps_before + result.steps
    history = job.history_before + [{**row, "step": row["step"] + job.steps_before} for row in result.history]
    # An interrupt can land between a step's loss row and its count: keep the two in step.
    history = [row for row in history if row["step"] <= steps]
    finished = result.status == "finished"
    picture = paths.output if finished else paths.partial
    with (final_guard or guard)():  # a second Ctrl-C or SIGTERM must not cut the picture in half
        # The picture first: side files failing (a full disk) must never cost it.
        try:
            if finished and job.bit_depth == 16:  # issue #18
                from painterly.images import save_image_16bit

                save_image_16bit(result.tensor, picture)
            else:
                save_image(result.image, picture)
        except OSError as exc:
            raise OutputError(f"{picture}: could not write the picture ({exc.strerror or exc})") from None
        status = result.status
        side_file(
            f"the manifest {paths.manifest}",
            lambda: write_manifest(paths.manifest, manifest_for(result, status, steps, result.losses)),
        )
        if history:
            side_file(
                f"the loss history {paths.history_csv}", lambda: write_history_csv(paths.history_csv, history)
            )
            side_file(
                f"the loss plot {paths.history_plot}",
                lambda: plot_history(paths.history_plot, history, title=paths.output.name),
            )
        if finished:
            paths.partial.unlink(missing_ok=True)
    return Outcome(
        status=result.status,
        steps=steps,
        picture=picture,
        paths=paths,
        message=result.message,
        losses=dict(result.losses),
        timings=dict(result.timings),
        result=result,
        maps=maps,
    )


def _extra(job: Job) -> dict[str, Any] | None:
    """Side facts for the manifest: where a resumed run came from, what library names became."""
    extra: dict[str, Any] = {}
    if job.resumed_from:
        extra["resumed_from"] = job.resumed_from
    if job.library:
        extra["library"] = job.library
    if job.bit_depth != 8:  # issue #18
        extra["bit_depth"] = job.bit_depth
    extra.update(job.extra)
    return extra or None


def _schedule_of(job: Job) -> dict[str, Any]:
    """The scale schedule to record: the original run's, also when resuming."""
    names = ("iterations", "scales", "multiscale", "scale_iterations")
    if job.resumed_from is None:
        return {}
    original = job.original_config or job.config
    return {k: v for k, v in original.to_dict().items() if k in names}


def offset_event(event: Progress, steps_before: int) -> Progress:
    """An engine event counted over the whole run (the steps before a resume added)."""
    if not steps_before:
        return event
    return Progress(
        event.step + steps_before,
        event.total_steps + steps_before,
        event.losses,
        event.elapsed,
        event.scale,
        event.scale_count,
        event.image,
    )
