"""Before the work (issue #12): the predicted peak memory and time of a run, and while it
runs, an honest time left (issue #18).

Memory is a model, not a measurement: a base (Python, torch, the network's weights) plus
bytes per pixel for VGG's activations kept for the backward pass, the L-BFGS history
(two vectors of the image's size per remembered step) and the painting's forward pass.
The constants were fitted to peak RSS measured in child processes (bench/scale.py). Time
comes from a quick calibration: one loss-and-gradient evaluation at two small sizes gives
this machine's fixed cost per step and cost per pixel *now*, and the schedule (pixels per
scale × steps per scale, tiles counted with their overlap) does the rest.

Nothing here imports torch at module import; :func:`estimate_run` loads the network.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from painterly.errors import ConfigError

if TYPE_CHECKING:
    from painterly.config import TransferConfig
    from painterly.events import Progress, ProgressCallback
    from painterly.images import ImageSource

GIB = 1024**3
#: Share of the machine's RAM a run may plan to use when --max-memory is not given: room
#: for the OS, the allocator's slack and whatever else runs beside it.
DEFAULT_MEMORY_SHARE = 0.6
#: Share of the budget the tile planner fills: the memory model was within −8.5 %…+3 % of
#: measured peaks (256–1024 px), so a plan made to the byte would land over the budget
#: whenever the model is low. A run is still only refused when its estimate exceeds the
#: budget itself.
PLAN_SHARE = 0.9
#: Peak RSS of a run whose images are tiny (interpreter, torch, VGG19's weights to conv5_1).
BASE_BYTES = 400 * 1024**2
#: Measured peak bytes of VGG's forward+backward per float of activation it keeps.
ACTIVATION_FACTOR = 1.4
#: L-BFGS's history (make_optimizer's history_size) and its working vectors. 25 pairs, not
#: torch's 100 (issue #16, bench/history.py, seed 0). 50 first: the best loss moved -0.75...+0.14 %
#: against 100 (4 pairs at 128 px, 300 steps on one scale; 2 pairs at 256 px) where a
#: rounding-only change moves it -0.36...+0.51 %. Then 25 against 50 (10 runs, 4 pairs: quality
#: at 128 and 256 px, balanced at 256 px): -0.79...+0.78 %, mean +0.04 %, where the rounding-only
#: change moved it -0.21...+0.95 %, mean +0.17 %. A full history costs a quarter of 100's:
#: 2 × 25 float32 pictures to keep and read twice a step (with the working vectors 0.5 GB at
#: 1024 px, 0.9 with 50, 1.8 with 100).
LBFGS_HISTORY, LBFGS_WORK_VECTORS = 25, 8
#: Bytes per pixel of the image-sized tensors a scale keeps (photo, image, best image,
#: gradient, colour source; 3 float32 channels each).
IMAGE_BYTES_PER_PX = 6 * 3 * 4
#: Fixed cost of a step in pixel equivalents when nothing better is known. Measured on the
#: idle machine, balanced at 512 px, a step costs 11.1, 10.9, 10.0, 10.5 and 11.5 µs per
#: pixel at 128, 181, 256, 362 and 512 px: proportional to the pixels, no fixed share (the
#: 20 000 once assumed here came from a machine at load 20 and halved the time left).
DEFAULT_OVERHEAD_PX = 0
#: A scale's start (its targets, the first evaluation at new shapes) costs about 0.6 of a
#: step more than its other steps (1.56–1.7 steps measured at 181–512 px, same run).
SCALE_START_STEPS = 0.6
#: CPU seconds per pixel of one loss-and-gradient evaluation (a step without a line search),
#: when nothing has been calibrated: the one figure behind the uncalibrated estimate (whether
#: a run is long enough to calibrate and announce) and the CLI's warning before long sweeps
#: and reconstructions (painterly.cli.estimate). Measured on this project's idle 2-core CPU,
#: 2 threads, ``--preset balanced`` at 512 px (bench/scale.py eta): 11.1, 10.9, 10.0, 10.5
#: and 11.5 µs per pixel-step at 128, 181, 256, 362 and 512 px. A fast desktop is a few
#: times quicker, a loaded machine slower; the calibrated estimate replaces it.
SECONDS_PER_PIXEL_STEP = 10.8e-6


class MemoryError_(ConfigError):
    """The run would not fit in the memory budget; the message says what to do."""


def total_ram() -> int:
    """Bytes of RAM this process may use: the machine's, or its cgroup's limit if lower."""
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = open(path, encoding="ascii").read().strip()  # noqa: SIM115
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < ram:
            ram = int(text)
    return ram


def memory_budget(max_memory_gib: float = 0.0) -> int:
    """The budget in bytes: ``max_memory_gib`` if given, else a safe share of the RAM."""
    if max_memory_gib:
        return int(max_memory_gib * GIB)
    return int(total_ram() * DEFAULT_MEMORY_SHARE)


def planning_budget(max_memory_gib: float = 0.0) -> int:
    """What the tile planner aims at: PLAN_SHARE of :func:`memory_budget` (the margin
    absorbs the memory model's error)."""
    return int(memory_budget(max_memory_gib) * PLAN_SHARE)


def activation_floats_per_px(config: TransferConfig) -> float:
    """Floats per input pixel that VGG keeps for the backward pass, up to the deepest
    layer the config uses (a conv's and its ReLU's output; pools; each block at ¼ the
    pixels of the one before)."""
    from painterly.taps import VGG_BLOCKS, VGG_CHANNELS, tap_names

    taps = tap_names(config.backbone)
    deepest = max(taps.index(t) for t in (*config.content_layers, *config.style_layers))
    floats = 0.0
    blocks = VGG_BLOCKS.get(config.backbone, VGG_BLOCKS["vgg19"])
    seen = 0
    for block, (convs, channels) in enumerate(zip(blocks, VGG_CHANNELS)):
        for _ in range(convs):
            if seen > deepest:
                return floats
            floats += 2 * channels / 4**block
            seen += 2
        if seen > deepest:
            return floats
        floats += channels / 4 ** (block + 1)
        seen += 1
    return floats


def _style_px(config: TransferConfig, style_sizes: Sequence[tuple[int, int]], longest: int) -> int:
    from painterly.images import fit_size

    side = config.style_size or max(1, round(longest * config.style_scale))
    return max((math.prod(fit_size(w, h, side)) for w, h in style_sizes), default=longest * longest)


def optimise_bytes(config: TransferConfig, px: int, steps: int) -> int:
    """Peak bytes of optimising ``px`` pixels for ``steps`` steps (activations, L-BFGS)."""
    act = ACTIVATION_FACTOR * 4 * activation_floats_per_px(config) * px
    history = 0
    if config.optimizer == "lbfgs":
        # issue #17: L-BFGS holds the pixel pyramid's levels (1 + 1/4 + 1/16 + ... of the pixels)
        levels = sum(0.25**i for i in range(config.pyramid_levels))
        history = int((2 * min(steps, LBFGS_HISTORY) + LBFGS_WORK_VECTORS) * 12 * px * levels)
    else:
        history = 3 * 12 * px  # Adam's two moments and the gradient
    return int(act + history)


def forward_bytes(px: int) -> int:
    """Peak bytes of a forward pass without gradients (two conv1 activations at once)."""
    return int(2 * 64 * 4 * px * 1.5)


def scale_peak_bytes(
    config: TransferConfig,
    content_wh: tuple[int, int],
    style_sizes: Sequence[tuple[int, int]],
    longest: int,
    steps: int,
    tile: int,
) -> int:
    """Predicted peak RSS while one scale runs (``tile`` 0: untiled)."""
    px = content_wh[0] * content_wh[1]
    style_px = _style_px(config, style_sizes, longest)
    whole = IMAGE_BYTES_PER_PX * px + 12 * style_px * max(1, len(style_sizes))
    if not tile:
        work = max(forward_bytes(max(px, style_px)), optimise_bytes(config, px, steps))
        return BASE_BYTES + whole + work
    tile_px = min(tile, content_wh[0]) * min(tile, content_wh[1])
    strip = 12 * min(tile, content_wh[1]) * content_wh[0]  # the row of tiles being put together
    work = max(
        forward_bytes(tile * tile),
        optimise_bytes(config, tile_px, steps) + IMAGE_BYTES_PER_PX * tile_px + strip,
    )
    return BASE_BYTES + whole + work


def largest_tile(
    config: TransferConfig,
    content_wh: tuple[int, int],
    style_sizes: Sequence[tuple[int, int]],
    longest: int,
    steps: int,
    budget: int,
) -> int:
    """The largest tile side (a multiple of 128, at least tiling.MIN_TILE) whose scale fits
    ``budget``; tiling.MIN_TILE when none does (the caller's estimate then refuses)."""
    from painterly.tiling import MIN_TILE

    tile = max(MIN_TILE, max(content_wh) // 128 * 128)
    while (
        tile > MIN_TILE and scale_peak_bytes(config, content_wh, style_sizes, longest, steps, tile) > budget
    ):
        tile -= 128
    return max(MIN_TILE, tile)


# --- the estimate before a run ---------------------------------------------------------------
@dataclass(frozen=True)
class ScaleEstimate:
    """One scale of the schedule as the estimate sees it."""

    size: tuple[int, int]
    steps: int
    tile: int  # 0: untiled
    tiles: int
    peak_bytes: int
    seconds: float


@dataclass(frozen=True)
class Estimate:
    """Predicted peak memory and time of a run (:func:`estimate_run`)."""

    peak_bytes: int
    seconds: float
    budget_bytes: int
    scales: tuple[ScaleEstimate, ...]
    #: Per-step time model t(px) = fixed + per_px·px from the calibration (seconds).
    fixed_seconds: float
    seconds_per_px: float
    calibrated: bool
    #: Why the run cannot go ahead ("" when it fits).
    refusal: str = ""

    @property
    def fits(self) -> bool:
        return not self.refusal

    def summary(self) -> str:
        """One line: peak memory against the budget, time, and the tiles if any."""
        tiled = [s for s in self.scales if s.tile]
        tiles = ""
        if tiled:
            last = tiled[-1]
            tiles = (
                f"; {len(tiled)} scale(s) tiled ({last.tiles} tiles of {last.tile} px at {max(last.size)} px)"
            )
        how = "" if self.calibrated else " (uncalibrated)"
        return (
            f"estimate: peak memory ~{self.peak_bytes / GIB:.1f} GiB of a {self.budget_bytes / GIB:.1f} GiB "
            f"budget, time ~{format_seconds(self.seconds)}{how}{tiles}"
        )

    def check(self) -> None:
        """Raise MemoryError_ (a ConfigError: exit 2) when the run would not fit."""
        if self.refusal:
            raise MemoryError_(self.refusal)


def format_seconds(seconds: float) -> str:
    """90 → "1 min 30 s", 4000 → "1 h 07 min"."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def plan_estimate(
    config: TransferConfig,
    content_wh: tuple[int, int],
    style_sizes: Sequence[tuple[int, int]],
    costs: Calibration | None = None,
    *,
    unsupported: str = "",
) -> Estimate:
    """The estimate from a per-step time model (no network needed): what the engine will
    tile, the peak memory per scale, and the time."""
    from painterly.images import fit_size
    from painterly.tiling import plan_tiles, tile_boxes

    budget = memory_budget(config.max_memory)
    plan = plan_tiles(config, content_wh, style_sizes, unsupported=unsupported)
    rows = []
    for longest, steps, tile in zip(config.scale_sizes(), config.steps_per_scale(), plan):
        w, h = fit_size(*content_wh, longest)
        peak = scale_peak_bytes(config, (w, h), style_sizes, longest, steps, tile)
        boxes = tile_boxes(h, w, tile) if tile else [(0, 0, h, w)]
        evals = _evals_per_step(config)
        c = costs or Calibration(
            0.0, SECONDS_PER_PIXEL_STEP, 1.0, 0.0, SCALE_START_STEPS * SECONDS_PER_PIXEL_STEP
        )
        seconds = sum(
            steps * evals * (c.fixed + c.per_px * (b - t) * (r - left))
            + c.start_fixed
            + c.start_per_px * (b - t) * (r - left)
            for t, left, b, r in boxes
        )
        rows.append(ScaleEstimate((w, h), steps, tile, len(boxes), peak, seconds))
    peak = max(r.peak_bytes for r in rows)
    refusal = ""
    if peak > budget:
        worst = max(rows, key=lambda r: r.peak_bytes)
        need = f"a {max(worst.size)} px scale needs ~{worst.peak_bytes / GIB:.1f} GiB, over the memory budget of {budget / GIB:.1f} GiB (--max-memory)"
        if config.tile:
            fits = largest_tile(
                config,
                worst.size,
                style_sizes,
                max(worst.size),
                worst.steps,
                planning_budget(config.max_memory),
            )
            where = (
                f" in tiles of {worst.tile} px"
                if worst.tile
                else f" (--tile {config.tile} does not split it)"
            )
            refusal = f"{need}{where}: use a smaller --tile (e.g. {min(fits, config.tile // 2)}) or a smaller --size"
        elif worst.tile:
            refusal = f"{need} even in tiles of {worst.tile} px: use a smaller --size or raise --max-memory"
        elif unsupported:
            refusal = f"{need}, and tiling does not work with {unsupported} yet: use a smaller --size"
        else:
            refusal = f"{need}: use a smaller --size or --tile 512"
    return Estimate(
        peak_bytes=peak,
        seconds=(costs.load if costs else 1.0) + sum(r.seconds for r in rows),
        budget_bytes=budget,
        scales=tuple(rows),
        fixed_seconds=costs.fixed if costs else 0.0,
        seconds_per_px=costs.per_px if costs else SECONDS_PER_PIXEL_STEP,
        calibrated=costs is not None,
        refusal=refusal,
    )


def _evals_per_step(config: TransferConfig) -> float:
    """Loss evaluations per step: one, or a strong-Wolfe line search's few (measured ~1.6)."""
    return 1.6 if config.optimizer == "lbfgs" and config.line_search == "strong_wolfe" else 1.0


@dataclass(frozen=True)
class Calibration:
    """This machine's costs now. A step: fixed + per_px·px seconds. Starting a scale (its
    targets' forward passes, the first evaluation at a new size, when oneDNN builds its
    kernels for the new shapes, and the last update's evaluation): start_fixed +
    start_per_px·px. A run with few steps per scale is mostly these starts."""

    fixed: float
    per_px: float
    load: float = 1.0
    start_fixed: float = 0.0
    start_per_px: float = 0.0


def _line(points: Sequence[tuple[float, float]], floor_share: float = 0.25) -> tuple[float, float]:
    """(intercept, slope) through two (px, seconds) points; one point: the default fixed share."""
    if len(points) == 1:
        px, t = points[0]
        per_px = t / (px + DEFAULT_OVERHEAD_PX)
        return per_px * DEFAULT_OVERHEAD_PX, per_px
    (p0, t0), (p1, t1) = points
    slope = max((t1 - t0) / max(1, p1 - p0), t1 / p1 * floor_share)  # noise can make it tiny
    return max(0.0, t1 - slope * p1), slope


def calibrate(
    config: TransferConfig, content: Any, styles: Sequence[Any], network: Any = None
) -> Calibration:
    """Time the network's load, then at two small sizes the targets and three loss-and-
    gradient evaluations of the real photo and painting (the first builds the kernels for
    the new shapes; the mean of the other two is a step)."""
    from painterly.devices import resolve_device
    from painterly.images import fit_size, pil_to_tensor, resize
    from painterly.threads import torch_threads
    from painterly.transfer import build_network, compute_losses, compute_targets

    device = resolve_device(config.device)
    with torch_threads(config.threads):
        start = time.perf_counter()
        net = network or build_network(config, device)
        load = time.perf_counter() - start
        steps, starts = [], []
        for side in sorted({min(128, config.size), min(256, config.size)}):
            size = fit_size(*content.size, side)
            photo = pil_to_tensor(resize(content, size), device)
            paintings = [pil_to_tensor(resize(s, fit_size(*s.size, side)), device) for s in styles]
            t0 = time.perf_counter()
            targets = compute_targets(net, photo, paintings, config)
            target_seconds = time.perf_counter() - t0
            image = photo.clone().requires_grad_(True)
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                parts = compute_losses(net, image, targets, config)
                parts["total"].backward()
                image.grad = None
                times.append(time.perf_counter() - t0)
            step = (times[1] + times[2]) / 2
            px = size[0] * size[1]
            steps.append((px, step))
            starts.append((px, target_seconds + max(0.0, times[0] - step) + step / 3))
    fixed, per_px = _line(steps)
    start_fixed, start_per_px = _line(starts, floor_share=0.0)
    return Calibration(fixed, per_px, load, start_fixed, start_per_px)


def estimate_run(
    content: ImageSource,
    styles: ImageSource | Sequence[ImageSource],
    config: TransferConfig | None = None,
    *,
    calibrate_time: bool = True,
    network: Any = None,
) -> Estimate:
    """Predicted peak memory and time of ``stylize(content, styles, config)`` on this machine,
    and whether it fits the memory budget (``Estimate.check()`` raises when not).

    With ``calibrate_time`` (the default) it loads the network and times two small
    evaluations (a few seconds); without, the time uses a fixed idle-machine rate."""
    from painterly.config import TransferConfig
    from painterly.images import load_image, load_styles, resolve_styles

    config = config or TransferConfig()
    photo = load_image(content, "content")
    choice = resolve_styles(styles, config.style_blend_weights, "style_blend_weights", config.style_group)
    weights = choice.weights if choice.expanded else config.style_blend_weights
    paintings = load_styles(choice.sources, weights, "style_blend_weights")
    from painterly.tiling import check_tileable

    unsupported = check_tileable(config)
    sizes = [p.size for p in paintings]
    if not calibrate_time:
        return plan_estimate(config, photo.size, sizes, None, unsupported=unsupported)
    costs = calibrate(config, photo, paintings, network)
    return plan_estimate(config, photo.size, sizes, costs, unsupported=unsupported)


# --- while the run goes: the time left (issue #18) --------------------------------------------
class ScheduleClock:
    """Time left from the schedule: the current scale's measured time per step for its
    own remaining steps, and for the later, larger scales a per-step model
    t(px) = fixed + per_px·px fitted to the scales measured so far (with one scale only,
    its fixed share assumed from DEFAULT_OVERHEAD_PX). The mean step so far would price a
    512 px step like the 128 px ones before it."""

    def __init__(self, scales: Sequence[tuple[float, int]], overhead_px: float = DEFAULT_OVERHEAD_PX) -> None:
        #: (pixels of one evaluation, evaluations: steps × tiles) per scale.
        self.scales = list(scales)
        self.overhead_px = overhead_px
        self.measured: dict[int, tuple[float, float]] = {}  # scale -> (px, seconds per evaluation)

    def seconds_left(self, scale: int, done: float, elapsed: float) -> float | None:
        """Seconds to the end when ``done`` (0–1) of scale ``scale`` took ``elapsed`` s."""
        if not 0 <= scale < len(self.scales) or done <= 0:
            return None
        px, units = self.scales[scale]
        per_unit = elapsed / (done * units)
        self.measured[scale] = (px, per_unit)
        fixed, per_px = self._model()
        later = sum((n + SCALE_START_STEPS) * (fixed + per_px * p) for p, n in self.scales[scale + 1 :])
        return (1 - done) * units * per_unit + later

    def _model(self) -> tuple[float, float]:
        points = list(self.measured.values())
        xs = [p for p, _ in points]
        if len(set(xs)) >= 2:
            mx, my = sum(xs) / len(xs), sum(t for _, t in points) / len(points)
            sxx = sum((x - mx) ** 2 for x in xs)
            slope = sum((x - mx) * (t - my) for x, t in points) / sxx
            if slope > 0:
                return max(0.0, my - slope * mx), slope
        px, t = points[-1]
        per_px = t / (px + self.overhead_px)
        return per_px * self.overhead_px, per_px

    def wrap(
        self, callback: ProgressCallback | None, scale: int, steps_before: int, steps: int
    ) -> ProgressCallback | None:
        """``callback`` with ``eta`` filled in on each event of scale ``scale`` (whose
        ``steps`` steps follow ``steps_before`` ones)."""
        if callback is None:
            return None

        def forward(event: Progress) -> None:
            done = event.scale_done or (event.step - steps_before) / max(1, steps)
            eta = self.seconds_left(scale, min(1.0, done), event.elapsed)
            callback(dataclasses.replace(event, eta=eta, scale_done=done))

        return forward
