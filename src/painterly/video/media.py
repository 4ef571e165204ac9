"""Reading clips and writing the painted ones, through PyAV (FFmpeg's libraries).

Inputs: any container FFmpeg reads (mp4, mov, webm, mkv, animated GIF) or a folder of
numbered frames. Frames come out at a constant rate (the clip's average rate, or the
one asked for): a clip with a variable frame rate is sampled at that rate, each slot
showing the latest frame due by then, so the output keeps the clip's timing. Outputs:
mp4 (H.264, yuv420p, even sides, the audio packets copied), GIF, or a folder of PNGs.
PyAV is imported inside functions (optional dependency, ``painterly[video]``).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from painterly.errors import InputError, OutputError, import_optional
from painterly.images import to_rgb

#: Frame rate of a folder of frames when none is given.
DEFAULT_FOLDER_FPS = Fraction(25)
#: Files a folder of frames may hold.
FRAME_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}
#: Audio codecs an mp4 can carry as they are; others are re-encoded to AAC.
MP4_AUDIO_CODECS = {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"}
#: H.264 settings: visually lossless enough for paintings, and fast.
H264_OPTIONS = {"crf": "18", "preset": "veryfast"}


def _av() -> Any:
    return import_optional("av", "video needs PyAV: pip install 'painterly[video]'")


@dataclass
class ClipInfo:
    """What we know of an input before decoding it."""

    path: Path
    width: int
    height: int
    fps: Fraction
    duration: float  # seconds; 0 when unknown
    has_audio: bool
    frames: list[Path] = field(default_factory=list)  # a folder's frame files, in order

    @property
    def is_folder(self) -> bool:
        return self.path.is_dir()


def _natural_key(path: Path) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name.lower())]


def probe(path: str | os.PathLike[str], fps: float = 0.0) -> ClipInfo:
    """Open a clip or a folder of frames and read its size, rate and length, or raise InputError."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_dir():
        files = sorted(
            (p for p in path.iterdir() if p.is_file() and p.suffix.lower() in FRAME_SUFFIXES),
            key=_natural_key,
        )
        if not files:
            raise InputError(f"{path}: no frame images ({', '.join(sorted(FRAME_SUFFIXES))}) in this folder")
        try:
            with Image.open(files[0]) as first:
                width, height = first.size
        except OSError as exc:
            raise InputError(f"{files[0]}: not a readable image ({exc})") from None
        rate = Fraction(fps).limit_denominator(1001) if fps else DEFAULT_FOLDER_FPS
        return ClipInfo(path, width, height, rate, len(files) / rate, False, files)
    av = _av()
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InputError(f"{path}: has no video stream")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            duration = 0.0
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / 1_000_000
            has_audio = bool(container.streams.audio)
    except av.FFmpegError as exc:
        raise InputError(f"{path}: not a readable video ({_describe(exc)})") from None
    if not width or not height:
        raise InputError(f"{path}: the video stream has no frame size")
    if fps:
        rate = Fraction(fps).limit_denominator(1001)
    if not rate or rate <= 0 or rate > 1000:
        rate = DEFAULT_FOLDER_FPS
    return ClipInfo(path, width, height, Fraction(rate), duration, has_audio)


def _describe(exc: Exception) -> str:
    """FFmpeg's own words, without the errno and the repeated file name."""
    text = str(getattr(exc, "strerror", None) or exc).strip() or type(exc).__name__
    return text.splitlines()[0]


@dataclass
class DecodeStats:
    """What went wrong while decoding without stopping it: packets FFmpeg could not read."""

    bad_packets: int = 0
    decoded: int = 0


def _timed_frames(info: ClipInfo, start: float, stats: DecodeStats) -> Iterator[tuple[float, np.ndarray]]:
    """(time in seconds, H×W×3 uint8 RGB) of every frame, in presentation order."""
    if info.is_folder:
        for i, file in enumerate(info.frames):
            t = float(i / info.fps)
            if t + float(1 / info.fps) < start:
                continue
            try:
                with Image.open(file) as img:
                    rgb = to_rgb(img)
            except OSError as exc:
                raise InputError(f"{file}: not a readable image ({exc})") from None
            if rgb.size != (info.width, info.height):
                raise InputError(
                    f"{file}: is {rgb.size[0]}×{rgb.size[1]}, the first frame {info.width}×{info.height}"
                )
            stats.decoded += 1
            yield t, np.asarray(rgb)
        return
    av = _av()
    try:
        container = av.open(str(info.path))
    except av.FFmpegError as exc:
        raise InputError(f"{info.path}: not a readable video ({_describe(exc)})") from None
    with container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        base = stream.time_base or Fraction(1, 1_000_000)
        first = stream.start_time or 0
        if start > 0:
            # lands on the keyframe before `start`; earlier frames are skipped by read_frames
            with contextlib.suppress(av.FFmpegError):
                container.seek(int(start / base) + first, stream=stream)
        last = -math.inf
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except (av.error.InvalidDataError, av.error.UndefinedError, ValueError):
                stats.bad_packets += 1
                continue
            except av.FFmpegError:
                stats.bad_packets += 1
                continue
            for frame in frames:
                if frame.pts is None:
                    t = last + float(1 / info.fps) if last > -math.inf else 0.0
                else:
                    t = float((frame.pts - first) * base)
                if t <= last:  # a repeated or out-of-order timestamp: keep the rate honest
                    t = last + 1e-6
                last = t
                stats.decoded += 1
                yield t, frame.to_ndarray(format="rgb24")


@dataclass(frozen=True)
class Slot:
    """One output frame: its index, the time it shows, and the input frame due then."""

    index: int
    time: float
    image: np.ndarray


def read_frames(
    info: ClipInfo,
    start: float = 0.0,
    duration: float = 0.0,
    every: int = 1,
    stats: DecodeStats | None = None,
) -> Iterator[Slot]:
    """The input sampled at its constant rate from ``start`` for ``duration`` seconds
    (0: to the end), keeping every ``every``-th slot.

    Slot j shows the latest frame whose time is at most start + j/fps (half a frame of
    slack for rounded timestamps): a clip with a variable frame rate repeats or drops
    frames as a player would, rather than playing too fast or too slow.
    """
    stats = stats if stats is not None else DecodeStats()
    step = float(1 / info.fps)
    slack = step / 2
    end = start + duration if duration > 0 else math.inf
    j = 0
    current: np.ndarray | None = None
    last_t = -math.inf

    def slot_time(k: int) -> float:
        return start + k * step

    for t, image in _timed_frames(info, start, stats):
        while current is not None and t > slot_time(j) + slack:
            if slot_time(j) >= end - 1e-9:
                return
            if j % every == 0:
                yield Slot(j // every, slot_time(j), current)
            j += 1
        current, last_t = image, t
    if current is None:
        return
    # The last frame shows for one frame time.
    while slot_time(j) < min(end - 1e-9, last_t + step - slack + 1e-9):
        if j % every == 0:
            yield Slot(j // every, slot_time(j), current)
        j += 1


def estimate_count(info: ClipInfo, start: float, duration: float, every: int) -> int:
    """How many frames :func:`read_frames` will give (a progress bar's total; 0: unknown)."""
    total = info.duration - start if info.duration else 0.0
    if duration > 0:
        total = min(total, duration) if total > 0 else duration
    if total <= 0:
        return 0
    return max(1, math.ceil(round(total * info.fps, 3) / every))


def encode_mp4(
    frames: Sequence[Path],
    output: Path,
    fps: Fraction,
    audio: tuple[Path, float, float] | None = None,
) -> bool:
    """Write H.264 (yuv420p) frames, plus the audio of ``audio`` = (clip, start, end)
    copied packet by packet (re-encoded to AAC only if mp4 cannot carry its codec).

    Writes to a temporary file beside ``output`` and renames it into place; returns
    whether audio was written.
    """
    av = _av()
    tmp = output.with_name(f".{output.name}.part.mp4")
    wrote_audio = False
    try:
        with av.open(str(tmp), "w", format="mp4") as out:
            first = np.asarray(Image.open(frames[0]).convert("RGB"))
            h, w = first.shape[:2]
            if w % 2 or h % 2:
                raise OutputError(f"{output}: H.264 needs even sides, the frames are {w}×{h}")
            video = out.add_stream("libx264", rate=fps, options=dict(H264_OPTIONS))
            video.width, video.height, video.pix_fmt = w, h, "yuv420p"
            source = _open_audio(audio[0]) if audio else None
            audio_out = None
            if source is not None:
                audio_out = _add_audio_stream(out, source.streams.audio[0])
            for i, path in enumerate(frames):
                rgb = first if i == 0 else np.asarray(Image.open(path).convert("RGB"))
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                frame.pts = i
                frame.time_base = Fraction(1) / fps
                out.mux(video.encode(frame))
            out.mux(video.encode(None))
            if source is not None and audio_out is not None and audio is not None:
                with source:
                    wrote_audio = _copy_audio(out, source, audio_out, audio[1], audio[2])
        os.replace(tmp, output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return wrote_audio


def _open_audio(path: Path) -> Any:
    av = _av()
    try:
        container = av.open(str(path))
    except av.FFmpegError:
        return None
    if not container.streams.audio:
        container.close()
        return None
    return container


def _add_audio_stream(out: Any, source: Any) -> Any:
    if source.codec_context.name in MP4_AUDIO_CODECS:
        return out.add_stream_from_template(source)
    stream = out.add_stream("aac", rate=source.codec_context.sample_rate or 48000)
    # Same channel count (PyAV resamples each frame to the encoder's format); a layout
    # without a channel order ("1 channels") is refused by the encoder, so name it.
    channels = source.codec_context.channels or 2
    stream.layout = {1: "mono", 2: "stereo"}.get(channels, "stereo")
    return stream


def _copy_audio(out: Any, source: Any, target: Any, start: float, end: float) -> bool:
    """Copy (or re-encode) the audio between ``start`` and ``end`` seconds; True if any was written."""
    av = _av()
    stream = source.streams.audio[0]
    base = stream.time_base
    origin = stream.start_time or 0
    offset = round(start / base) + origin if base else origin
    copy = target.codec_context.name == stream.codec_context.name
    if start > 0:
        with contextlib.suppress(av.FFmpegError):
            source.seek(offset, stream=stream)
    wrote = False
    for packet in source.demux(stream):
        if packet.dts is None or packet.pts is None:
            continue
        t = float((packet.pts - origin) * base)
        if t < start - 1e-6:
            continue
        if t >= end:
            break
        if copy:
            packet.pts -= offset
            packet.dts -= offset
            packet.stream = target
            out.mux(packet)
            wrote = True
            continue
        try:
            decoded = packet.decode()
        except av.FFmpegError:
            continue
        for frame in decoded:
            frame.pts = None
            out.mux(target.encode(frame))
            wrote = True
    if not copy:
        out.mux(target.encode(None))
    return wrote


def encode_gif(frames: Sequence[Path], output: Path, fps: Fraction) -> None:
    """An animated GIF that loops (GIF counts time in 10 ms units, so 30 fps plays at ~33)."""
    from painterly.images import atomic_write_bytes

    images = [Image.open(p).convert("RGB") for p in frames]
    import io

    buffer = io.BytesIO()
    duration = max(20, round(1000 / float(fps)))
    images[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=duration,
        loop=0,
        optimize=False,
    )
    atomic_write_bytes(output, buffer.getvalue())
