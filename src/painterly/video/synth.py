"""Synthetic clips with known motion, made from a still photo: what the tests and
bench/video.py paint (no video file needs to ship with the package).

The camera pans and zooms over the photo (an affine crop per frame), and a disc moves
across it on its own path, so the clip has global motion, a moving object and the
occlusions it causes. Written with PyAV, optionally with a sine-tone audio track.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from painterly.images import to_rgb


def camera_frames(
    photo: Image.Image,
    count: int,
    size: tuple[int, int],
    pan: tuple[float, float] = (2.0, 0.5),
    zoom: float = 1.004,
    moving_object: bool = True,
) -> list[np.ndarray]:
    """``count`` H×W×3 uint8 frames of a camera moving over ``photo``.

    Each frame the view shifts by ``pan`` pixels (in output pixels; the scene moves the
    other way) and magnifies by ``zoom`` about its centre; a disc crosses the view.
    """
    w, h = size
    photo = to_rgb(photo)
    # Room for the whole camera path: the photo scaled so the first view covers a 1.4× area.
    room = 1.4 + (abs(pan[0]) + abs(pan[1])) * count / min(w, h)
    scale = room * max(w / photo.width, h / photo.height)
    big = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.Resampling.LANCZOS)
    cx0, cy0 = big.width / 2 - pan[0] * count / 2, big.height / 2 - pan[1] * count / 2
    frames = []
    for t in range(count):
        z = zoom**t
        cx, cy = cx0 + pan[0] * t, cy0 + pan[1] * t
        # Output pixel (x, y) shows big pixel (cx + (x - w/2)/z, cy + (y - h/2)/z).
        inv = (1 / z, 0, cx - w / (2 * z), 0, 1 / z, cy - h / (2 * z))
        view = big.transform((w, h), Image.Transform.AFFINE, inv, resample=Image.Resampling.BILINEAR)
        if moving_object:
            draw = ImageDraw.Draw(view)
            r = min(w, h) * 0.12
            ox = w * (0.2 + 0.6 * t / max(1, count - 1))
            oy = h * (0.5 + 0.2 * math.sin(t / max(1, count - 1) * math.pi))
            draw.ellipse(
                (ox - r, oy - r, ox + r, oy + r), fill=(200, 40, 40), outline=(250, 220, 60), width=3
            )
            draw.ellipse((ox - r / 3, oy - r / 3, ox + r / 3, oy + r / 3), fill=(30, 30, 120))
        frames.append(np.asarray(view))
    return frames


def write_clip(
    frames: Sequence[np.ndarray],
    path: str | os.PathLike[str],
    fps: float = 25,
    tone_hz: float | None = None,
    sample_rate: int = 44100,
) -> Path:
    """Write frames as an H.264 mp4 (or any container PyAV picks from the suffix), with a
    sine tone as AAC audio when ``tone_hz`` is given."""
    import av

    path = Path(path)
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=rate, options={"crf": "12", "preset": "veryfast"})
        h, w = frames[0].shape[:2]
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        audio = None
        if tone_hz:
            audio = out.add_stream("aac", rate=sample_rate)
            audio.layout = "mono"
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts = i
            frame.time_base = 1 / rate
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if audio is not None and tone_hz:
            total = int(len(frames) / float(rate) * sample_rate)
            chunk = 1024
            for start in range(0, total, chunk):
                n = min(chunk, total - start)
                t = (np.arange(start, start + n) / sample_rate).astype(np.float32)
                samples = (0.3 * np.sin(2 * math.pi * tone_hz * t)).astype(np.float32)[None]
                frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
                frame.sample_rate = sample_rate
                frame.pts = start
                out.mux(audio.encode(frame))
            out.mux(audio.encode(None))
    return path
