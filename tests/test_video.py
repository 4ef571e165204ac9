"""Video (issue #11): flow and warping against known motion, constant-rate sampling of a
variable-rate clip, audio copied, resume equal to an uninterrupted run, the temporal
modes cutting the warping error, and bad inputs as one line with exit code 2."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from painterly.cli import run_command
from painterly.config import VideoConfig
from painterly.errors import ConfigError
from painterly.events import FrameProgress
from painterly.losses import temporal_loss
from painterly.video import stylize_video
from painterly.video.flow import FlowEstimator, reliability, warp, warping_error
from painterly.video.media import probe, read_frames
from painterly.video.synth import camera_frames, write_clip

av = pytest.importorskip("av")
ROOT = Path(__file__).resolve().parents[1]
PAINTING = ROOT / "examples" / "styles" / "starry_night.jpg"
PHOTO = ROOT / "examples" / "content" / "chelsea.jpg"


def texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth random RGB texture (flow needs structure at several scales)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (h // 8 + 2, w // 8 + 2, 3), dtype=np.uint8)
    big = Image.fromarray(small).resize((w + 16, h + 16), Image.Resampling.BICUBIC)
    noise = rng.integers(0, 40, (h + 16, w + 16, 3))
    return np.clip(np.asarray(big).astype(int) + noise, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 frames, 96×54, 10 fps, camera pan + zoom + a moving disc, a 440 Hz tone."""
    frames = camera_frames(Image.open(PHOTO), 8, (96, 54))
    return write_clip(frames, tmp_path_factory.mktemp("clip") / "clip.mp4", fps=10, tone_hz=440)


def test_flow_and_warp_follow_a_known_shift():
    base = texture(64, 96)
    dx, dy = 3, 2
    prev, cur = base[8:-8, 8:-8], base[8 - dy : -8 - dy, 8 - dx : -8 - dx]  # the scene moves by (+3, +2)
    est = FlowEstimator("medium")
    back = est(est.grey(cur), est.grey(prev))
    fwd = est(est.grey(prev), est.grey(cur))
    inner = (slice(8, -8), slice(8, -8))
    assert np.allclose(np.median(back[inner].reshape(-1, 2), 0), (-dx, -dy), atol=0.25)
    assert np.allclose(np.median(fwd[inner].reshape(-1, 2), 0), (dx, dy), atol=0.25)
    mask = reliability(back, fwd)
    assert mask[inner].mean() > 0.9
    moved = warp(prev, back)
    assert np.abs(moved[inner].astype(int) - cur[inner].astype(int)).mean() < 6
    assert warping_error(cur, prev, back, mask) < np.abs(cur.astype(int) - prev.astype(int)).mean() / 3


def test_reliability_marks_pixels_that_appear():
    """An object that moves reveals background: those pixels have no source in the last frame."""
    bg = texture(64, 96, seed=1)
    patch = texture(24, 24, seed=2)[:24, :24]
    prev, cur = bg.copy(), bg.copy()
    prev[20:44, 20:44] = patch
    cur[20:44, 32:56] = patch  # moved 12 px right; x 20..31 is uncovered in `cur`
    est = FlowEstimator("medium")
    back = est(est.grey(cur), est.grey(prev))
    mask = reliability(back, est(est.grey(prev), est.grey(cur)))
    assert mask[24:40, 22:30].mean() < mask[:, 70:].mean() - 0.4


def test_temporal_loss_counts_only_reliable_pixels():
    image = torch.zeros(1, 3, 4, 4)
    warped = torch.ones(1, 3, 4, 4)
    mask = torch.zeros(1, 1, 4, 4)
    assert float(temporal_loss(image, warped, mask)) == 0
    mask[..., :2, :] = 1
    assert float(temporal_loss(image, warped, mask)) == pytest.approx(0.5)


def test_variable_frame_rate_gif_keeps_its_timing(tmp_path):
    frames = [Image.new("RGB", (20, 12), (v, 0, 0)) for v in (0, 100, 200)]
    gif = tmp_path / "vfr.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=[100, 300, 100], loop=0)
    info = probe(gif, fps=10)
    shown = [int(s.image[0, 0, 0]) // 100 for s in read_frames(info)]
    assert shown == [0, 1, 1, 1, 2]  # 0.5 s at 10 fps: the long middle frame shows three times
    assert [int(s.image[0, 0, 0]) // 100 for s in read_frames(info, start=0.2, duration=0.2)] == [1, 1]
    assert len(list(read_frames(info, every=2))) == 3


def test_fast_mode_keeps_audio_and_cuts_warping_error(clip, tmp_path):
    per = stylize_video(
        clip, PAINTING, tmp_path / "per.mp4", VideoConfig(temporal_weight=0), keep_frames=True
    )
    tem = stylize_video(
        clip, PAINTING, tmp_path / "tem.mp4", VideoConfig(temporal_weight=0.7), keep_frames=True
    )
    assert per.ok and tem.ok and tem.audio
    with av.open(str(tmp_path / "tem.mp4")) as out, av.open(str(clip)) as src:
        v, a = out.streams.video[0], out.streams.audio[0]
        assert (v.codec_context.name, v.codec_context.pix_fmt) == ("h264", "yuv420p")
        assert v.average_rate == 10 and v.frames == 8
        assert a.codec_context.name == "aac" and a.rate == src.streams.audio[0].rate
        samples = np.concatenate([f.to_ndarray()[0] for f in out.decode(a)])
    assert len(samples) / a.rate == pytest.approx(0.8, abs=0.05)
    spectrum = np.abs(np.fft.rfft(samples))
    assert np.fft.rfftfreq(len(samples), 1 / a.rate)[spectrum.argmax()] == pytest.approx(440, abs=5)

    frames = camera_frames(Image.open(PHOTO), 8, (96, 54))
    est = FlowEstimator("medium")

    def error(folder: Path) -> float:
        outs = [np.asarray(Image.open(p)) for p in sorted(folder.glob("frame_*.png"))]
        total = []
        for i in range(1, len(outs)):
            g0, g1 = est.grey(frames[i - 1]), est.grey(frames[i])
            b = est(g1, g0)
            mask = reliability(b, est(g0, g1), frames[i], frames[i - 1])
            total.append(warping_error(outs[i], outs[i - 1], b, mask))
        return float(np.mean(total))

    assert error(tem.frames_dir) * 2 < error(per.frames_dir)


@pytest.mark.parametrize(
    "config",
    [
        VideoConfig(size=64, threads=1),
        VideoConfig(mode="optimise", size=32, iterations=3, later_iterations=2, threads=1),
    ],
    ids=["fast", "optimise"],
)
def test_resume_gives_the_frames_of_an_uninterrupted_run(clip, tmp_path, config):
    shared = {}
    if config.mode == "optimise":  # one VGG19 for the three runs
        from painterly.config import TransferConfig
        from painterly.transfer import build_network

        shared["network"] = build_network(TransferConfig(), torch.device("cpu"))
    whole = stylize_video(clip, PAINTING, tmp_path / "whole.mp4", config, keep_frames=True, **shared)
    assert whole.ok and whole.frames == 8

    def interrupt_after_three(event: FrameProgress) -> None:
        if event.frame == 3:
            raise KeyboardInterrupt

    cut = stylize_video(clip, PAINTING, tmp_path / "cut.mp4", config, interrupt_after_three, **shared)
    assert cut.status == "interrupted" and cut.frames == 3 and not (tmp_path / "cut.mp4").exists()
    assert len(list(cut.frames_dir.glob("frame_*.png"))) == 3
    seen: list[FrameProgress] = []
    rest = stylize_video(
        clip, PAINTING, tmp_path / "cut.mp4", config, seen.append, resume=True, keep_frames=True, **shared
    )
    assert rest.ok and rest.resumed == 3 and rest.frames == 8 and seen[0].frame == 4
    for i in range(1, 9):
        a = np.asarray(Image.open(whole.frames_dir / f"frame_{i:06d}.png"))
        b = np.asarray(Image.open(rest.frames_dir / f"frame_{i:06d}.png"))
        assert np.array_equal(a, b), f"frame {i} differs after resume"
    with pytest.raises(ConfigError, match="other settings"):
        stylize_video(
            clip, PAINTING, tmp_path / "cut.mp4", config.replace(temporal_weight=0.1), resume=True, **shared
        )


def cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = run_command([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_writes_a_gif_and_a_single_frame_clip(capsys, clip, tmp_path):
    code, out, _ = cli(
        capsys, "video", clip, PAINTING, "-o", tmp_path / "o.gif", "--size", "48", "--every", "3"
    )
    assert code == 0 and "3 frames" in out
    with Image.open(tmp_path / "o.gif") as gif:
        assert gif.n_frames == 3 and gif.size == (48, 27)
    one = tmp_path / "one.png"
    Image.fromarray(camera_frames(Image.open(PHOTO), 1, (33, 21))[0]).save(one)
    folder = tmp_path / "frames"
    folder.mkdir()
    one.rename(folder / "0001.png")
    code, out, err = cli(capsys, "video", folder, PAINTING, "-o", tmp_path / "one.mp4", "-q")
    assert code == 0 and "1 frames, 32×20" in out, err  # odd sides made even for H.264


@pytest.mark.parametrize(
    ("make", "flags", "fragment"),
    [
        (lambda p: p / "missing.mp4", (), "no such file"),
        (lambda p: (p / "text.mp4").write_text("not a video") and p / "text.mp4", (), "not a readable video"),
        (lambda p: p / "clip", ("--start", "5"), "past the end"),
        (lambda p: p / "clip", ("--every", "0"), "every must be"),
        (lambda p: p / "clip", ("--resume",), "nothing to resume"),
        (lambda p: p / "clip", ("-o", "out.avi"), "unknown video output"),
    ],
)
def test_cli_bad_inputs_exit_2_with_one_line(capsys, clip, tmp_path, make, flags, fragment):
    source = clip if make(tmp_path) == tmp_path / "clip" else make(tmp_path)
    output = ["-o", tmp_path / "o.mp4"] if "-o" not in flags else ["-o", tmp_path / flags[1]]
    flags = () if "-o" in flags else flags
    code, _, err = cli(capsys, "video", source, PAINTING, *output, *flags)
    assert code == 2
    assert fragment in err and len(err.strip().splitlines()) == 1, err
    assert not math.isnan(0)


def test_a_damaged_clip_still_paints(clip, tmp_path):
    """Bytes scrambled inside two video packets: the decoder conceals or skips them; the
    run still writes every frame (or says how many packets it skipped), never a traceback."""
    data = bytearray(clip.read_bytes())
    with av.open(str(clip)) as c:
        offsets = [p.pos for p in c.demux(c.streams.video[0]) if p.pos]
    for start in offsets[3:5]:
        for i in range(start + 16, start + 120):
            data[i] = (data[i] * 7 + 13) % 256
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    result = stylize_video(damaged, PAINTING, tmp_path / "out.mp4", VideoConfig(size=32, threads=1))
    assert result.ok and result.frames >= 6
    assert (tmp_path / "out.mp4").stat().st_size > 0


def test_reliability_catches_a_small_fast_object_the_flow_misses():
    """A small patch jumps further than the flow's search: both flows agree on the background's
    motion there, so only the photometric check can tell that the pixels do not match."""
    bg = texture(64, 96, seed=3)
    prev, cur = bg.copy(), bg.copy()
    prev[30:36, 10:16] = 255
    cur[30:36, 40:46] = 255
    est = FlowEstimator("fast")
    gp, gc = est.grey(prev), est.grey(cur)
    back, fwd = est(gc, gp), est(gp, gc)
    assert reliability(back, fwd, cur, prev)[30:36, 40:46].mean() < 0.2
    assert reliability(back, fwd, cur, prev)[:, 70:].mean() > 0.8
