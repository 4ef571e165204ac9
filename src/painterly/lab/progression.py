"""Progression videos: a run's intermediate images as an MP4 or GIF, each frame
captioned with its step and losses, so that one can watch the picture form.

`painterly run --save-every N -o OUT.png` leaves ``OUT.steps/step_00010.png`` … and
``OUT.losses.csv``; :func:`find_run` accepts the output image, its ``.steps`` folder or
its manifest and finds the rest.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from painterly.errors import InputError
from painterly.images import check_output_path, open_image
from painterly.lab.sheets import font
from painterly.records import RunPaths, read_history_csv, read_manifest

STEP_FILE = re.compile(r"^step_(\d+)\.(png|jpe?g|webp|bmp|tiff?)$", re.IGNORECASE)
VIDEO_SUFFIXES = (".mp4", ".gif")
#: Frames narrower than this are enlarged (a caption needs room).
MIN_WIDTH = 384
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
ACCEPTS = (
    "a run's output image (OUT.png), its intermediate-image folder (OUT.steps) or its manifest (OUT.json)"
)


@dataclass(frozen=True)
class RunFrames:
    """A run's intermediate images by step, its loss history and its final image (if any)."""

    steps_dir: Path
    frames: list[tuple[int, Path]]
    history: dict[int, dict[str, float]]
    final: Path | None
    total_steps: int


def find_run(path: str | os.PathLike[str]) -> RunFrames:
    """Locate a run's frames and losses from ``path`` (see :data:`ACCEPTS`)."""
    p = Path(path)
    output: Path | None = None
    if p.suffix.lower() == ".json":
        from painterly.schema import short_repr

        output_name = read_manifest(p).get("output")
        if not isinstance(output_name, str) or not output_name:  # issue #15: was a KeyError
            got = (
                "missing"
                if output_name is None
                else f"expected the picture's path, got {short_repr(output_name)}"
            )
            raise InputError(f"{p}: output: {got} (the manifest names no picture)")
        output = Path(output_name)
        steps_dir = RunPaths(output).steps_dir
    elif p.is_dir():
        steps_dir = p
        if p.name.endswith(".steps"):
            stem = p.name[: -len(".steps")]
            output = next(
                (
                    c
                    for c in sorted(p.parent.glob(stem + ".*"))
                    if c.is_file() and c.stem == stem and c.suffix.lower() in IMAGE_SUFFIXES
                ),
                None,
            )
    elif p.is_file():
        output = p
        steps_dir = RunPaths(p).steps_dir
    else:
        raise InputError(f"{p}: not found; give {ACCEPTS}")
    if not steps_dir.is_dir():
        raise InputError(
            f"{p}: no intermediate images ({steps_dir} is missing); make them with "
            "`painterly run --save-every N`"
        )
    frames = sorted(
        (int(m.group(1)), f) for f in steps_dir.iterdir() if (m := STEP_FILE.match(f.name)) is not None
    )
    if not frames:
        raise InputError(
            f"{steps_dir}: no step_NNNNN images in it; make them with `painterly run --save-every N`"
        )
    csv_path = (
        RunPaths(output).history_csv
        if output
        else steps_dir.with_name(steps_dir.name[: -len(".steps")] + ".losses.csv")
    )
    history: dict[int, dict[str, float]] = {}
    if csv_path.is_file():
        try:
            history = {int(row["step"]): row for row in read_history_csv(csv_path) if "step" in row}
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(f"{csv_path}: not a readable loss history ({exc})") from None
    total = max([frames[-1][0], *history])
    final = output if output is not None and output.is_file() else None
    return RunFrames(steps_dir, frames, history, final, total)


def caption(step: int, total: int, losses: dict[str, float] | None) -> str:
    """'step 40/200 · total 1.2e+03 · content 310 · style 890'."""
    text = f"step {step}/{total}"
    for name in ("total", "content", "style"):
        if losses and name in losses:
            text += f"{SEPARATOR}{name} {losses[name]:.3g}"
    return text


#: Left and right margin of a caption, px.
CAPTION_MARGIN = 6
#: What separates the parts of a caption; lines break only there.
SEPARATOR = " · "


def caption_face(width: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The caption's font for a frame ``width`` px wide."""
    return font(max(10, min(16, width // 28)))


def caption_lines(text: str, face: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> list[str]:
    """``text`` broken at its separators into lines that fit ``width`` px between the margins
    (issue #18: a long caption used to run off the right edge of the frame)."""
    room = width - 2 * CAPTION_MARGIN
    lines: list[str] = []
    for part in text.split(SEPARATOR):
        joined = lines[-1] + SEPARATOR + part if lines else part
        if lines and face.getlength(joined) <= room:
            lines[-1] = joined
        else:
            lines.append(part)
    return lines


def captioned(
    image: Image.Image, text: str, size: tuple[int, int], line_count: int | None = None
) -> Image.Image:
    """The image scaled to ``size`` with a white caption band below it, the caption wrapped
    to the frame's width in ``line_count`` lines' room (default: its own); the frame's sides
    are even (H.264 in yuv420p needs that)."""
    face = caption_face(size[0])
    lines = caption_lines(text, face, size[0])
    line_height = int(face.size * 1.25) if hasattr(face, "size") else 14
    band = line_height * max(len(lines), line_count or 0) + line_height // 2
    width, height = size[0] + size[0] % 2, size[1] + band
    height += height % 2
    frame = Image.new("RGB", (width, height), (255, 255, 255))
    frame.paste(image.convert("RGB").resize(size, Image.Resampling.LANCZOS), (0, 0))
    draw = ImageDraw.Draw(frame)
    for n, line in enumerate(lines):
        y = size[1] + line_height // 4 + n * line_height
        draw.text((CAPTION_MARGIN, y), line, fill=(20, 20, 20), font=face)
    return frame


def build_frames(run: RunFrames, max_side: int = 512) -> list[Image.Image]:
    """Captioned frames in step order, the final image last (all one size)."""
    items = [(step, path) for step, path in run.frames]
    if run.final is not None and run.total_steps > items[-1][0]:
        items.append((run.total_steps, run.final))
    elif run.final is not None:
        items[-1] = (items[-1][0], run.final)
    images = [(step, open_image(path)) for step, path in items]
    w, h = images[-1][1].size
    # Small runs are enlarged so that the caption fits under the picture.
    scale = min(max(1.0, MIN_WIDTH / w), max_side / max(w, h))
    size = (max(2, round(w * scale)), max(2, round(h * scale)))
    texts = [caption(step, run.total_steps, run.history.get(step)) for step, _ in images]
    face = caption_face(size[0])
    most = max(len(caption_lines(t, face, size[0])) for t in texts)  # every frame one size
    return [captioned(img, text, size, most) for (_, img), text in zip(images, texts)]


def check_video_path(path: str | os.PathLike[str], overwrite: bool, inputs: Sequence[Path]) -> Path:
    """Fail before any frame is drawn if the video cannot or must not be written."""
    return check_output_path(path, overwrite, inputs, suffixes=VIDEO_SUFFIXES, kind="video")


def write_video(
    frames: Sequence[Image.Image], path: str | os.PathLike[str], fps: float = 8.0, hold: float = 1.5
) -> Path:
    """Write frames as an MP4 (H.264 through PyAV) or an
    animated GIF (Pillow), holding the last frame ``hold`` seconds; atomically."""
    path = Path(path)
    if not frames:
        raise InputError("no frames to write")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent or ".")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if path.suffix.lower() == ".gif":
            durations = [round(1000 / fps)] * len(frames)
            durations[-1] += round(hold * 1000)
            frames[0].save(
                tmp,
                format="GIF",
                save_all=True,
                append_images=list(frames[1:]),
                duration=durations,
                loop=0,
                optimize=True,
            )
        else:
            _write_mp4(frames, tmp, fps, hold)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a video is for sharing
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _write_mp4(frames: Sequence[Image.Image], path: Path, fps: float, hold: float) -> None:
    """H.264 (yuv420p) through PyAV, the same media library as `painterly video` (issue #11)."""
    from fractions import Fraction

    import numpy as np  # here, not at import: `painterly --help` lists this command (issue #16)

    from painterly.video.media import H264_OPTIONS, _av

    av = _av()
    rate = Fraction(fps).limit_denominator(1000)
    w, h = frames[0].size
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=rate, options=dict(H264_OPTIONS))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for i, image in enumerate([*frames, *[frames[-1]] * max(0, round(hold * fps))]):
            rgb = np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = i, 1 / rate
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
