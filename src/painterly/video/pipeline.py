"""Paint a clip frame by frame, each frame tied to the previous output by optical flow.

Fast mode paints every frame with the feed-forward network, then blends in the previous
output moved by the flow where the flow is reliable, so the strokes travel with the
scene instead of being redrawn (and flickering) on every frame. Optimise mode follows
Ruder et al. 2016: each later frame starts from the moved previous output, with a
temporal loss pulling it there on reliable pixels, so it needs far fewer steps than the
first frame. ``temporal_weight`` 0 paints every frame on its own: the baseline.

Frames are written as they are finished into a work folder (``OUT.frames/``) with a
manifest, so an interrupted run keeps them and ``resume=True`` carries on from the last
finished one, giving the same frames as an uninterrupted run; the mp4 or GIF is made
from them at the end.
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from painterly.config import VideoConfig
from painterly.errors import ConfigError, InputError, OutputError
from painterly.events import FrameCallback, FrameProgress, RunStatus, Stop
from painterly.images import ImageSource, fit_size, load_styles
from painterly.video.media import ClipInfo, DecodeStats, estimate_count, probe, read_frames

OutputKind = Literal["mp4", "gif", "folder"]
#: The temporal loss is a mean squared pixel difference (~1e-3 for a visible shift), far
#: smaller than the engine's style loss at its default β; this scale brings it level. At
#: temporal_weight 0.7 it cut the warping error 2.1× with the style loss within 9 %
#: (bench/video.py --optimise, docs/guides/video.md); other scales were not swept.
TEMPORAL_LOSS_SCALE = 2e4
#: Optimise mode: share of the photo in the starting image where the flow is unreliable
#: (the rest is the moved previous output). 1 left those places unpainted after 10 steps
#: (style loss +45 %); 0 let a small fast object fade out; 0.5 kept it, and with 20 steps
#: after a 40-step first frame the style loss was within 9 % (bench/video.py --optimise).
PHOTO_FILL = 0.5
WORK_MANIFEST = "video.json"
WORK_VERSION = 1


@dataclass
class VideoResult:
    """What a video run produced. ``frames`` counts finished frames (``resumed`` of them
    from an earlier run); ``output`` exists only when ``status`` is "finished"."""

    output: Path
    frames_dir: Path
    status: RunStatus
    frames: int
    resumed: int
    fps: Fraction
    size: tuple[int, int]
    audio: bool
    bad_packets: int
    timings: dict[str, float] = field(default_factory=dict)
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "finished"


def output_kind(path: str | os.PathLike[str]) -> OutputKind:
    """mp4 or gif by suffix; no suffix (or an existing folder) means a folder of frames."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".mp4", ".gif"):
        return "mp4" if suffix == ".mp4" else "gif"
    if suffix == "" or path.is_dir():
        return "folder"
    raise OutputError(f"{path}: unknown video output {suffix!r}; use .mp4, .gif or a folder name")


def frames_dir_for(output: Path) -> Path:
    """Where finished frames go while a run lasts: ``OUT.frames/`` (a folder output is its own)."""
    return output if output_kind(output) == "folder" else output.with_name(output.stem + ".frames")


def frame_path(folder: Path, index: int) -> Path:
    """The file of output frame ``index`` (0-based; files count from 1)."""
    return folder / f"frame_{index + 1:06d}.png"


def work_size(info: ClipInfo, longest: int, even: bool) -> tuple[int, int]:
    """The painted frames' (w, h): the clip's, shrunk to ``longest`` (never enlarged); even for H.264."""
    w, h = (info.width, info.height)
    if max(w, h) > longest:
        w, h = fit_size(w, h, longest)
    if even:
        w, h = max(2, w - w % 2), max(2, h - h % 2)
    return w, h


class FastPainter:
    """Fast mode: the feed-forward network, blended with the moved previous output."""

    def __init__(self, paintings: Sequence[Image.Image], config: VideoConfig, stylizer: Any = None) -> None:
        from painterly.fast.stylizer import FastStylizer, blend_vectors

        self.stylizer = stylizer or FastStylizer(config.threads)
        vectors = [self.stylizer.style_vector(p) for p in paintings]
        self.vector = blend_vectors(vectors, [1 / len(vectors)] * len(vectors))
        self.weight = config.temporal_weight
        self.scale = config.style_scale

    def paint(self, rgb: np.ndarray, warped: np.ndarray | None, mask: np.ndarray | None) -> np.ndarray:
        h, w = rgb.shape[:2]
        if self.scale != 1:  # paint smaller (bigger strokes, faster), then back to the frame size
            small = _resize(rgb, (max(8, round(w * self.scale)), max(8, round(h * self.scale))))
            painted = _resize(self.stylizer.paint(small.astype(np.float32) / 255.0, self.vector), (w, h))
        else:
            painted = self.stylizer.paint(rgb.astype(np.float32) / 255.0, self.vector)
        if warped is not None and mask is not None and self.weight:
            keep = (self.weight * mask)[..., None]
            painted = painted * (1 - keep) + (warped.astype(np.float32) / 255.0) * keep
        return (np.clip(painted, 0, 1) * 255.0 + 0.5).astype(np.uint8)


class OptimisePainter:
    """Optimise mode (Ruder et al. 2016): the Gatys engine, later frames started from the
    moved previous output and held to it by the temporal loss on reliable pixels."""

    def __init__(
        self,
        paintings: Sequence[Image.Image],
        config: VideoConfig,
        size: tuple[int, int],
        network: Any = None,
    ) -> None:
        import torch

        from painterly.config import TransferConfig
        from painterly.devices import resolve_device
        from painterly.transfer import build_network, check_fits_layers

        self.paintings = list(paintings)
        self.video = config
        self.transfer = TransferConfig(
            size=max(size), iterations=config.iterations, style_weight=config.style_weight, seed=config.seed
        )
        check_fits_layers(size, self.transfer, f"frames at {size[0]}×{size[1]} px")
        if config.threads:
            torch.set_num_threads(config.threads)
        self.network = network or build_network(self.transfer, resolve_device(self.transfer.device))

    def paint(self, rgb: np.ndarray, warped: np.ndarray | None, mask: np.ndarray | None) -> np.ndarray:
        import torch

        from painterly.losses import temporal_loss
        from painterly.transfer import stylize

        photo = Image.fromarray(rgb, "RGB")
        if warped is None or mask is None or not self.video.temporal_weight:
            result = stylize(photo, self.paintings, self.transfer, network=self.network)
        else:
            moved = torch.from_numpy(warped.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
            weights = torch.from_numpy(mask)[None, None]
            # Ruder et al. start from the moved previous output everywhere. With a few steps a
            # frame, what was not in the last frame (a moving object, a revealed background)
            # then never appears; from the photo alone it stays unpainted. Where the flow is
            # unreliable we start from a mix of the two (PHOTO_FILL of the photo).
            photo_t = torch.from_numpy(rgb.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
            fill = PHOTO_FILL * photo_t + (1 - PHOTO_FILL) * moved
            init = (weights * moved + (1 - weights) * fill).contiguous()
            scale = TEMPORAL_LOSS_SCALE * self.video.temporal_weight

            def extra(image: torch.Tensor) -> dict[str, torch.Tensor]:
                return {
                    "temporal": scale * temporal_loss(image, moved.to(image.device), weights.to(image.device))
                }

            later = self.transfer.replace(iterations=self.video.later_iterations)
            result = stylize(
                photo, self.paintings, later, network=self.network, init_image=init, extra_loss=extra
            )
        if result.status == "interrupted":  # the engine caught Ctrl-C: this frame is not done
            raise KeyboardInterrupt
        arr = result.tensor[0].clamp(0, 1).permute(1, 2, 0).numpy()
        return (arr * 255.0 + 0.5).astype(np.uint8)


def _resize(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if (rgb.shape[1], rgb.shape[0]) == size:
        return np.ascontiguousarray(rgb)
    import cv2

    shrink = size[0] < rgb.shape[1]
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def _replace_into(path: Path, data: bytes) -> None:
    """Write through a temp file and rename: a frame or the state is whole or absent after
    Ctrl-C. No fsync (unlike images.atomic_write_bytes): two per frame cost more than the
    painting of a small frame, and the work folder only has to survive an interrupted run."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _save_png(image: np.ndarray, path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(image, "RGB").save(buffer, format="PNG", compress_level=1)
    _replace_into(path, buffer.getvalue())


def _describe_inputs(clip: Path, styles: Sequence[ImageSource]) -> dict[str, Any]:
    """What must not change between a run and its resumption: the clip (by size and
    time, hashing a long clip is slow) and the paintings (by content)."""
    from painterly.records import file_sha256

    stat = clip.stat()
    described = []
    for s in styles:
        if isinstance(s, Image.Image):
            import hashlib

            described.append(hashlib.sha256(s.tobytes()).hexdigest())
        else:
            described.append(file_sha256(s))
    clip_id = {"path": str(clip.resolve()), "mtime": int(stat.st_mtime)}
    if clip.is_file():
        clip_id["bytes"] = stat.st_size
    return {"clip": clip_id, "styles": described}


def _prepare_work_dir(
    folder: Path, output: Path, kind: OutputKind, identity: dict[str, Any], resume: bool, overwrite: bool
) -> int:
    """Make the work folder ready and return how many frames are already done."""
    manifest = folder / WORK_MANIFEST
    if resume:
        if not manifest.is_file():
            if kind != "folder" and output.exists():
                raise InputError(f"{output}: that run finished already; nothing to resume")
            raise InputError(f"{folder}: nothing to resume (no {WORK_MANIFEST}); run without --resume")
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{manifest}: unreadable ({exc}); run again with --overwrite") from None
        if data.get("identity") != identity:
            raise ConfigError(
                f"{folder}: made with other settings or inputs; run without --resume and with --overwrite"
            )
        done = int(data.get("frames_done", 0))
        while done and not frame_path(folder, done - 1).is_file():  # trust the files, not the count
            done -= 1
        return done
    if kind != "folder" and output.exists() and not overwrite:
        raise OutputError(f"{output}: already exists (use --overwrite to replace it)")
    if folder.exists():
        if not folder.is_dir():
            raise OutputError(f"{folder}: is a file")
        if manifest.exists() or any(folder.glob("frame_*.png")):
            if not overwrite:
                raise OutputError(
                    f"{folder}: holds frames of an earlier run; --resume continues it, --overwrite starts again"
                )
            manifest.unlink(missing_ok=True)
            for old in folder.glob("frame_*.png"):
                old.unlink()
        elif kind == "folder" and any(folder.iterdir()) and not overwrite:
            raise OutputError(f"{folder}: folder is not empty (use --overwrite to write into it)")
    if not folder.parent.is_dir():
        raise OutputError(f"{output}: folder {folder.parent} does not exist")
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create the frames folder ({exc.strerror})") from None
    if not os.access(folder, os.W_OK):
        raise OutputError(f"{folder}: is not writable")
    return 0


def stylize_video(
    clip: str | os.PathLike[str],
    styles: ImageSource | Sequence[ImageSource],
    output: str | os.PathLike[str],
    config: VideoConfig | None = None,
    callback: FrameCallback | None = None,
    *,
    resume: bool = False,
    overwrite: bool = False,
    keep_frames: bool = False,
    stylizer: Any = None,
    network: Any = None,
) -> VideoResult:
    """Paint ``clip`` (a video file, animated GIF or folder of numbered frames) in the
    style of ``styles`` and write ``output`` (.mp4, .gif, or a folder of PNG frames).

    ``callback`` gets a :class:`~painterly.events.FrameProgress` after every frame and
    may raise :class:`~painterly.events.Stop`; Ctrl-C ends the run the same way. Either
    keeps the finished frames in ``OUT.frames/`` for ``resume=True``. ``stylizer`` (fast)
    or ``network`` (optimise) reuse loaded models.
    """
    from painterly.video.flow import FlowEstimator, reliability, warp

    config = config or VideoConfig()
    clock = time.perf_counter()
    clip, output = Path(clip), Path(output)
    kind = output_kind(output)
    paintings = load_styles(styles, (), "styles")
    style_list = [styles] if isinstance(styles, (str, os.PathLike, Image.Image)) else list(styles)
    info = probe(clip, config.fps)
    if info.duration and config.start >= info.duration:
        raise ConfigError(f"start {config.start:g} s is past the end of {clip} ({info.duration:.2f} s long)")
    size = work_size(info, config.size, even=kind == "mp4")
    out_fps = info.fps / config.every
    folder = frames_dir_for(output)
    for target in {output, folder}:
        if target.exists() and clip.exists() and target.resolve() == clip.resolve():
            raise OutputError(f"{target}: is the input clip; refusing to write over it")
    identity = {
        "version": WORK_VERSION,
        "config": config.to_dict(),
        "inputs": _describe_inputs(clip, style_list),
        "size": list(size),
        "fps": str(info.fps),
    }
    done = _prepare_work_dir(folder, output, kind, identity, resume, overwrite)
    resumed = done
    total = estimate_count(info, config.start, config.duration, config.every)

    t0 = time.perf_counter()
    painter: FastPainter | OptimisePainter
    if config.mode == "fast":
        painter = FastPainter(paintings, config, stylizer)
    else:
        painter = OptimisePainter(paintings, config, size, network)
    flow = FlowEstimator(threads=config.threads)
    timings = {"prepare": t0 - clock, "load_models": time.perf_counter() - t0}

    def write_state(status: str) -> None:
        state = {**{"identity": identity}, "frames_done": done, "status": status, "total_estimate": total}
        _replace_into(folder / WORK_MANIFEST, (json.dumps(state, indent=2) + "\n").encode())

    stats = DecodeStats()
    status: RunStatus = "finished"
    message = ""
    prev_grey: np.ndarray | None = None
    prev_rgb: np.ndarray | None = None
    prev_out: np.ndarray | None = None
    painted = 0
    start = time.perf_counter()
    timings.update(flow=0.0, paint=0.0, save=0.0)
    write_state("running")
    try:
        for slot in read_frames(info, config.start, config.duration, config.every, stats):
            rgb = _resize(slot.image, size)
            grey = flow.grey(rgb)
            if slot.index < done:  # finished by an earlier run: only its flow input is needed
                if slot.index == done - 1:
                    with Image.open(frame_path(folder, slot.index)) as img:
                        prev_out = np.asarray(img.convert("RGB"))
                prev_grey, prev_rgb = grey, rgb
                continue
            warped = mask = None
            if (
                prev_out is not None
                and prev_grey is not None
                and prev_rgb is not None
                and config.temporal_weight
            ):
                t = time.perf_counter()
                backward, forward = flow(grey, prev_grey), flow(prev_grey, grey)
                mask = reliability(backward, forward, rgb, prev_rgb)
                warped = warp(prev_out, backward)
                timings["flow"] += time.perf_counter() - t
            t = time.perf_counter()
            out = painter.paint(rgb, warped, mask)
            timings["paint"] += time.perf_counter() - t
            t = time.perf_counter()
            _save_png(out, frame_path(folder, slot.index))
            done, painted = slot.index + 1, painted + 1
            write_state("running")
            timings["save"] += time.perf_counter() - t
            prev_grey, prev_rgb, prev_out = grey, rgb, out
            if callback is not None:
                elapsed = time.perf_counter() - start
                callback(
                    FrameProgress(
                        frame=done,
                        total_frames=max(total, done),
                        elapsed=elapsed,
                        fps=painted / elapsed if elapsed > 0 else 0.0,
                        resumed=resumed,
                        image=out,
                    )
                )
    except Stop:
        status, message = "stopped", f"stopped after frame {done}"
    except KeyboardInterrupt:
        status, message = "interrupted", f"interrupted after frame {done}"
    timings["frames"] = time.perf_counter() - start
    result = VideoResult(
        output, folder, status, done, resumed, out_fps, size, False, stats.bad_packets, timings
    )
    if status != "finished":
        write_state(status)
        result.message = message + f"; {done} frames kept in {folder}"
        return result
    if done == 0:
        write_state("empty")
        what = "could be decoded" if not stats.decoded else "fall in the chosen part of the clip"
        raise InputError(f"{clip}: no frames {what}")
    write_state("painted")
    t = time.perf_counter()
    frames = [frame_path(folder, i) for i in range(done)]
    if kind == "mp4":
        end = config.start + config.duration if config.duration else math.inf
        audio = (clip, config.start, end) if info.has_audio else None
        result.audio = _encode_mp4(frames, output, out_fps, audio)
    elif kind == "gif":
        from painterly.video.media import encode_gif

        encode_gif(frames, output, out_fps)
    timings["encode"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - clock
    _write_output_manifest(output, kind, folder, config, clip, style_list, result)
    if kind != "folder" and not keep_frames:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        write_state("finished")
    if stats.bad_packets:
        result.message = f"skipped {stats.bad_packets} packet(s) that could not be decoded"
    return result


def _encode_mp4(frames: list[Path], output: Path, fps: Fraction, audio: Any) -> bool:
    from painterly.video.media import encode_mp4

    try:
        return encode_mp4(frames, output, fps, audio)
    except OSError as exc:
        raise OutputError(f"{output}: cannot write the video ({exc})") from None


def _write_output_manifest(
    output: Path,
    kind: OutputKind,
    folder: Path,
    config: VideoConfig,
    clip: Path,
    styles: Sequence[ImageSource],
    result: VideoResult,
) -> None:
    """The config, inputs and timings beside the output (``OUT.json``, or manifest.json in a folder)."""
    from painterly.records import build_manifest, write_manifest

    target = folder / "manifest.json" if kind == "folder" else output.with_suffix(".json")
    manifest = build_manifest(
        kind="video",
        config=config.to_dict(),
        inputs={"clip": str(clip), "styles": [str(s) for s in styles if not isinstance(s, Image.Image)]},
        output=output,
        status=result.status,
        steps=result.frames,
        device="cpu",
        timings=result.timings,
        losses={},
        message=result.message,
        extra={
            "frames": result.frames,
            "fps": str(result.fps),
            "size": list(result.size),
            "audio": result.audio,
            "bad_packets": result.bad_packets,
        },
    )
    write_manifest(target, manifest)
