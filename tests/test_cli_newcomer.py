"""Issue #18, the command line as a newcomer meets it: --photo/--style, glob-shaped input,
fast --skip-existing, --device cuda:N, Windows paths in --mask, long-run warnings, the README's
Python example, progression captions, 16-bit output and ICC profiles, and the packaging."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import numpy as np
import pytest
import tomllib
import torch
from PIL import Image, ImageCms
from tests.conftest import ROOT, make_image

from painterly.cli import run_command
from painterly.config import TransferConfig, check_device_name
from painterly.errors import ConfigError

fast_models = pytest.importorskip("painterly.fast.models")


def have_fast_models() -> bool:
    try:
        fast_models.find_models()
        return True
    except Exception:
        return False


needs_fast = pytest.mark.skipif(not have_fast_models(), reason="fast-mode models not installed")


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1] if text.strip() else ""


# --- --photo and --style; a glob is refused ------------------------------------------------


@pytest.fixture
def glob_folder(tmp_path: Path) -> tuple[Path, Path]:
    """Three photos alone in a folder (what `photos/*.png` expands to) and a painting elsewhere."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, name in enumerate(("a.png", "b.png", "c.png")):
        make_image(photos / name, (40, 32), seed=i)
    art = tmp_path / "art"
    art.mkdir()
    return photos, make_image(art / "scream.png", (32, 40), seed=9)


@pytest.mark.parametrize("command", ["run", "fast"])
def test_a_shell_glob_of_photos_is_refused_in_one_line(
    command: str, glob_folder: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos, scream = glob_folder
    globbed = [str(p) for p in sorted(photos.iterdir())]
    code = run_command([command, *globbed, str(scream), "-o", str(tmp_path / "out.png")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "b.png, c.png" in err and "--style" in err and "painterly batch" in err
    assert not (tmp_path / "out.png").exists()


def test_run_plans_photo_and_styles_from_options(glob_folder: tuple[Path, Path], tmp_path: Path) -> None:
    from painterly.cli import build_parser
    from painterly.cli.run import plan_run

    photos, scream = glob_folder
    out = tmp_path / "out.png"
    args = build_parser().parse_args(
        [
            "run",
            "--photo",
            str(photos / "a.png"),
            "--style",
            str(scream),
            "--style",
            str(photos / "b.png"),
            "-o",
            str(out),
            "--size",
            "32",
        ]
    )
    job = plan_run(args)  # paintings named by --style are trusted, even from the photo's folder
    assert job.content == str(photos / "a.png")
    assert job.styles == [str(scream), str(photos / "b.png")]
    # --photo with positional paintings: every positional image is a painting
    args = build_parser().parse_args(["run", str(scream), "--photo", str(photos / "c.png"), "-o", str(out)])
    job = plan_run(args)
    assert (job.content, job.styles) == (str(photos / "c.png"), [str(scream)])


def test_one_painting_beside_the_photo_among_several_is_a_warning(
    glob_folder: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from painterly.cli.inputs import check_ambiguous

    photos, scream = glob_folder
    check_ambiguous(str(photos / "a.png"), [str(photos / "b.png"), str(scream)])
    assert "warning" in capsys.readouterr().err
    # a photo and one painting side by side (the everyday case) says nothing
    check_ambiguous(str(photos / "a.png"), [str(photos / "b.png")])
    # not every file of the folder, or not in a glob's order: a warning, not a refusal
    check_ambiguous(str(photos / "c.png"), [str(photos / "a.png"), str(photos / "b.png")])
    assert "warning" in capsys.readouterr().err
    # library names are not files in any folder
    check_ambiguous(str(photos / "a.png"), ["movement:cubism", "artist:van_gogh"])
    assert capsys.readouterr().err == ""


@needs_fast
def test_fast_with_photo_and_repeated_style_options(glob_folder: tuple[Path, Path], tmp_path: Path) -> None:
    photos, scream = glob_folder
    out = tmp_path / "out.png"
    second = make_image(tmp_path / "art" / "second.png", (36, 36), seed=5)
    code = run_command(
        [
            "fast",
            "--photo",
            str(photos / "a.png"),
            "--style",
            str(scream),
            "--style",
            str(second),
            "-o",
            str(out),
            "-q",
        ]
    )
    assert code == 0 and out.is_file()
    manifest = json.loads(out.with_suffix(".json").read_text())
    assert [Path(s["path"]).name for s in manifest["inputs"]["styles"]] == ["scream.png", "second.png"]


# --- fast folder mode: --skip-existing -------------------------------------------------------


@needs_fast
def test_fast_folder_skip_existing_paints_only_the_missing_ones(
    glob_folder: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos, scream = glob_folder
    out = tmp_path / "painted"
    out.mkdir()
    (out / "a.png").write_bytes(b"an earlier run's picture")
    # without the flag an existing output stops the command before any work (exit 2)
    assert run_command(["fast", str(photos), str(scream), "-o", str(out), "-q"]) == 2
    assert "already exists" in last_line(capsys.readouterr().err)
    assert run_command(["fast", str(photos), str(scream), "-o", str(out), "-q", "--skip-existing"]) == 0
    assert (out / "a.png").read_bytes() == b"an earlier run's picture"
    assert Image.open(out / "b.png").size == (40, 32) and (out / "c.png").is_file()
    # everything done: a second run has nothing to do and says so
    assert run_command(["fast", str(photos), str(scream), "-o", str(out), "-q", "--skip-existing"]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert (
        run_command(["fast", str(photos), str(scream), "-o", str(out), "--skip-existing", "--overwrite"]) == 2
    )


# --- --device cuda:N -------------------------------------------------------------------------


def test_device_names_take_any_cuda_index() -> None:
    for name in ("auto", "cpu", "cuda", "mps", "cuda:0", "cuda:1", "cuda:12"):
        assert check_device_name(name) == name
        assert TransferConfig(device=name).device == name
    for bad in ("gpu", "cuda:", "cuda:x", "cuda:-1", "cuda:01", "cpu:0", "CUDA"):
        with pytest.raises(ConfigError, match="cuda:N"):
            TransferConfig(device=bad)


def test_a_gpu_index_that_is_not_there_fails_before_the_run(
    monkeypatch: pytest.MonkeyPatch, photo: Path, painting: Path, tmp_path: Path
) -> None:
    from painterly.devices import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(ConfigError, match=r"cuda:2: this machine has 2 CUDA GPU\(s\), numbered 0 to 1"):
        resolve_device("cuda:2")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        resolve_device("cuda:1")


def test_cli_device_flag(
    photo: Path, painting: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.png"
    base = ["run", str(photo), str(painting), "-o", str(out), "--size", "32", "-n", "1", "-q"]
    assert run_command([*base, "--device", "cuda:x"]) == 2
    assert "device 'cuda:x'" in last_line(capsys.readouterr().err)
    if torch.cuda.is_available():
        n = torch.cuda.device_count()
        assert run_command([*base, "--device", f"cuda:{n}"]) == 2
        assert f"numbered 0 to {n - 1}" in last_line(capsys.readouterr().err)
        assert run_command([*base, "--device", f"cuda:{n - 1}"]) == 0
        assert json.loads(out.with_suffix(".json").read_text())["device"] == f"cuda:{n - 1}"
    else:
        assert run_command([*base, "--device", "cuda:1"]) == 2
        assert "no CUDA GPU" in last_line(capsys.readouterr().err)
        assert not out.exists()


# --- --mask with Windows paths -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "mask", "style", "weight"),
    [
        (r"C:\masks\sky.png:D:\art\sunset.jpg:0.5", r"C:\masks\sky.png", r"D:\art\sunset.jpg", 0.5),
        (r"C:\masks\sky.png:none", r"C:\masks\sky.png", None, 1.0),
        ("C:/masks/sky.png:movement:cubism:2", "C:/masks/sky.png", "movement:cubism", 2.0),
        (r"sky.png:E:\art\a.jpg", "sky.png", r"E:\art\a.jpg", 1.0),
        ("sky.png:art/a.jpg:3", "sky.png", "art/a.jpg", 3.0),
    ],
)
def test_mask_specs_keep_windows_drive_letters(
    spec: str, mask: str, style: str | None, weight: float
) -> None:
    from painterly.masks import parse_mask_spec

    parsed = parse_mask_spec(spec)
    assert (parsed.mask, parsed.style, parsed.weight) == (mask, style, weight)


# --- warnings before an hour on the CPU ----------------------------------------------------------


def test_the_readme_sweep_warns_before_an_hour_of_cpu(
    photo: Path, painting: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grid = ["--grid", "style_weight=1e2,1e3,1e4", "--grid", "pooling=max,avg", "--device", "cpu"]
    big = ["sweep", str(photo), str(painting), *grid, "-o", str(tmp_path / "s"), "--dry-run"]
    assert run_command([*big, "--size", "512"]) == 0  # the README's example at its defaults
    err = capsys.readouterr().err
    assert "warning: sweep: 6 run(s) of 500 steps at 512 px" in err and "--size 128" in err
    assert re.search(r"about (\d+ min|[\d.]+ h)", err)
    assert run_command([*big, "--size", "64", "--iterations", "20"]) == 0
    assert capsys.readouterr().err == ""  # small: nothing to warn about


def test_reconstruct_warns_before_starting(
    photo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import painterly.lab.reconstruct as lab

    def never(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # the warning must come before any work

    monkeypatch.setattr(lab, "reconstruct", never)
    out = str(tmp_path / "r")
    code = run_command(["reconstruct", str(photo), "-o", out, "--size", "512", "--device", "cpu", "-q"])
    err = capsys.readouterr().err
    assert code == 130 and "warning: reconstruct: 10 run(s) of 200 steps at 512 px" in err


def test_cpu_estimate_counts_every_scale() -> None:
    from painterly.cli.estimate import cpu_seconds
    from painterly.estimate import SECONDS_PER_PIXEL_STEP

    single = cpu_seconds(TransferConfig(size=512, iterations=100), 1.0)
    assert single == pytest.approx(512 * 512 * 100 * SECONDS_PER_PIXEL_STEP)
    multi = TransferConfig(size=512, scales=(256,), scale_iterations=(100, 100))
    assert cpu_seconds(multi, 1.0) == pytest.approx(single * 1.25)


# --- the README's Python example stops ---------------------------------------------------------


@pytest.mark.slow
def test_the_python_example_stop_condition_fires(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs the README's Python API block with tiny sizes."""
    text = (ROOT / "README.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "raise Stop" in b)
    content, style = ROOT / "examples" / "content" / "chelsea.jpg", ROOT / "examples" / "styles"
    code = (
        block.replace("size=384", "size=64")
        .replace('"photo.jpg"', repr(str(content)))
        .replace('["starry_night.jpg", "movement:fauvism"]', repr([str(style / "starry_night.jpg")]))
        .replace('"out.png"', repr(str(tmp_path / "out.png")))
    )
    assert code != block and "< 1e3" not in code
    monkeypatch.setattr("builtins.print", lambda *a, **k: None)
    scope: dict[str, object] = {}
    exec(compile(code, "README example", "exec"), scope)
    result = scope["result"]
    assert result.status == "stopped" and 1 < result.steps < 200  # type: ignore[attr-defined]
    assert (tmp_path / "out.png").is_file()


# --- progression captions fit the frame ----------------------------------------------------------


def test_progression_captions_wrap_inside_the_frame(tmp_path: Path) -> None:
    from painterly.lab.progression import build_frames, caption, caption_face, caption_lines, find_run

    losses = {"total": 1.4523e6, "content": 2.4612e5, "style": 1.2062e6}
    text = caption(200, 200, losses)
    face = caption_face(384)
    lines = caption_lines(text, face, 384)
    assert len(lines) >= 2 and " · ".join(lines) == text
    assert all(face.getlength(line) <= 384 - 12 for line in lines)

    steps = tmp_path / "run.steps"
    steps.mkdir()
    for step in (10, 20):
        Image.new("RGB", (64, 48), (0, 0, 200)).save(steps / f"step_{step:05d}.png")
    rows = [{"step": s, "total": 1.4523e6 * s, "content": 2.4612e5, "style": 1.2062e6} for s in (10, 20)]
    (tmp_path / "run.losses.csv").write_text(
        "step,total,content,style\n"
        + "".join(f"{r['step']},{r['total']},{r['content']},{r['style']}\n" for r in rows)
    )
    frames = build_frames(find_run(steps))
    assert len({f.size for f in frames}) == 1
    for frame in frames:
        band = np.asarray(frame)[288:]  # below the 384×288 picture: the caption
        ink = band.min(axis=2) < 128
        assert ink.any() and not ink[:, -4:].any(), "caption runs into the right edge"
    assert run_command(["progression", str(steps), "-o", str(tmp_path / "p.gif")]) == 0
    with Image.open(tmp_path / "p.gif") as gif:
        assert gif.n_frames == 2 and gif.size == frames[0].size


# --- 16-bit output, ICC profiles ------------------------------------------------------------------


def write_ramp16(path: Path) -> Path:
    """A 16-bit RGB PNG whose rows climb 0.40 → 0.42: six 8-bit levels, ~1300 16-bit ones."""
    cv2 = pytest.importorskip("cv2")
    ramp = np.linspace(0.40, 0.42, 96)[None, :, None] * np.ones((64, 1, 3))
    cv2.imwrite(str(path), (ramp * 65535 + 0.5).astype(np.uint16))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_photo_keeps_its_precision_to_a_16bit_output(
    suffix: str, tmp_path: Path, painting: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cv2 = pytest.importorskip("cv2")
    ramp = write_ramp16(tmp_path / "ramp16.png")
    out = tmp_path / f"out{suffix}"
    # β = 0 and the photo as the start: the picture stays the photo, so its levels show
    base = ["run", str(ramp), str(painting), "--size", "64", "-n", "2", "-b", "0", "-q", "--device", "cpu"]
    assert run_command([*base, "-o", str(out), "--bit-depth", "16"]) == 0
    raw = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint16 and raw.shape == (43, 64, 3)
    assert len(np.unique(raw[20, :, 0])) > 30  # an 8-bit path would give at most 6 levels
    assert abs(raw[20, :, 0].astype(float).mean() / 65535 - 0.41) < 0.005
    assert json.loads(out.with_suffix(".json").read_text())["bit_depth"] == 16
    plain = tmp_path / f"plain{suffix}"
    assert run_command([*base, "-o", str(plain)]) == 0
    assert cv2.imread(str(plain), cv2.IMREAD_UNCHANGED).dtype == np.uint8
    assert run_command([*base, "-o", str(tmp_path / "out.jpg"), "--bit-depth", "16"]) == 2
    assert "--bit-depth 16" in last_line(capsys.readouterr().err)


SRGB_COLORANTS = ((0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141))
PROPHOTO_COLORANTS = ((0.7977, 0.2880, 0.0), (0.1352, 0.7119, 0.0), (0.0313, 0.0001, 0.8249))


def matrix_profile(
    colorants=SRGB_COLORANTS, gamma: float | None = None, name: bytes = b"linear RGB"
) -> bytes:
    """A minimal ICC v2 matrix/TRC RGB profile: the given D50 colorants and a power curve
    (None: linear, a curve without entries)."""

    def s15(x: float) -> bytes:
        return struct.pack(">i", round(x * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + b"\0" * 4 + s15(x) + s15(y) + s15(z)

    if gamma is None:
        curve = b"curv" + b"\0" * 4 + struct.pack(">I", 0)
    else:
        curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, round(gamma * 256))
    desc_text = name + b"\0"
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(desc_text)) + desc_text + b"\0" * (4 + 4 + 2 + 1 + 67)
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(*colorants[0])),
        (b"gXYZ", xyz(*colorants[1])),
        (b"bXYZ", xyz(*colorants[2])),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        body += b"\0" * (-len(body) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = struct.pack(">I", size) + b"lcms" + bytes([2, 0x10, 0, 0]) + b"mntr" + b"RGB " + b"XYZ "
    header += b"\0" * 12 + b"acsp" + b"\0" * 28 + s15(0.9642) + s15(1.0) + s15(0.8249)
    header += b"\0" * (128 - len(header))
    return header + struct.pack(">I", len(tags)) + table + data


def linear_rgb_profile() -> bytes:
    return matrix_profile()


def test_icc_profiles_are_converted_to_srgb_and_outputs_tagged(tmp_path: Path) -> None:
    from painterly.images import is_srgb_profile, open_image, save_image

    icc = linear_rgb_profile()
    ImageCms.ImageCmsProfile(__import__("io").BytesIO(icc))  # a profile LittleCMS accepts
    tagged = tmp_path / "linear.png"
    Image.new("RGB", (8, 8), (128, 128, 128)).save(tagged, icc_profile=icc)
    untagged = tmp_path / "plain.png"
    Image.new("RGB", (8, 8), (128, 128, 128)).save(untagged)
    # linear 0.5 is sRGB 188: the tagged photo is read as it looks, the untagged as it is
    assert abs(int(np.asarray(open_image(tagged))[4, 4, 0]) - 188) <= 2
    assert np.asarray(open_image(untagged))[4, 4, 0] == 128
    for suffix in (".png", ".jpg", ".tif", ".webp"):
        out = save_image(open_image(tagged), tmp_path / f"out{suffix}")
        with Image.open(out) as img:
            assert is_srgb_profile(img.info["icc_profile"]), suffix
    assert not is_srgb_profile(icc)


# --- packaging ---------------------------------------------------------------------------------


def test_packaging_licence_version_and_bundled_examples() -> None:
    import painterly

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    meta = project["project"]
    assert meta["license"] == "MIT" and "MIT License" in (ROOT / "LICENSE").read_text()
    assert "version" not in meta and meta["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "painterly.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", painterly.__version__)
    assert "sse-starlette" in " ".join(meta["optional-dependencies"]["web"])
    assert not any("imageio" in d for d in meta["dependencies"])
    # the wheel's examples: the package's examples/ (a link to the repository's) and its globs
    data = project["tool"]["setuptools"]["package-data"]["painterly"]
    bundled = Path(painterly.__file__).parent / "examples"
    for kind in ("content", "styles"):
        assert f"examples/{kind}/*.jpg" in data
        assert sorted(p.name for p in (bundled / kind).glob("*.jpg")) == sorted(
            p.name for p in (ROOT / "examples" / kind).glob("*.jpg")
        )
    from painterly.web.app import find_examples

    found = find_examples(None)
    assert "chelsea" in found["content"] and "starry_night" in found["styles"]
    script = (ROOT / ".ci" / "wheel_check.sh").read_text()
    assert "wheel_check.sh" in (ROOT / ".ci" / "run").read_text()
    assert "torch==2.13.0" in script and 'painterly" serve' in script and 'painterly" run' in script


@pytest.mark.parametrize(
    "icc",
    [matrix_profile(), matrix_profile(PROPHOTO_COLORANTS, 1.8, b"ProPhoto-like")],
    ids=["linear", "prophoto"],
)
def test_16bit_photos_with_a_profile_are_converted_in_float(icc: bytes, tmp_path: Path) -> None:
    """A 16-bit photo in a wide-gamut profile: converted to sRGB at full precision, and to the
    same colours LittleCMS gives the 8-bit picture."""
    cv2 = pytest.importorskip("cv2")
    from painterly.images import FINE_KEY, MatrixProfile, open_image, srgb_profile

    assert MatrixProfile.parse(srgb_profile()) is not None  # LittleCMS's own sRGB is matrix/TRC
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 65536, size=(24, 32, 3), dtype=np.uint16)
    pixels[0] = np.linspace(30000, 30300, 32)[:, None].astype(np.uint16)  # a smooth ramp
    path = tmp_path / "wide.png"
    cv2.imwrite(str(path), pixels[:, :, ::-1])
    with Image.open(path) as img:
        rgb8 = img.convert("RGB")  # Pillow reads 48-bit PNGs as 8-bit RGB
    # Pillow cannot write 16-bit RGB with a profile: add the iCCP chunk the PNG way
    import zlib

    from painterly.images import _png_with_chunk

    data = _png_with_chunk(path.read_bytes(), b"iCCP", b"wide\0\0" + zlib.compress(icc))
    path.write_bytes(data)
    img = open_image(path)
    fine = img.info[FINE_KEY]
    assert len(np.unique(np.round(fine[0, :, 1] * 65535))) > 20  # the ramp keeps its steps
    # the float conversion against LittleCMS's, on the same 8-bit input
    reference = ImageCms.profileToProfile(
        rgb8,
        ImageCms.ImageCmsProfile(__import__("io").BytesIO(icc)),
        ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")),
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
        outputMode="RGB",
    )
    ours = MatrixProfile.parse(icc).to_srgb(np.asarray(rgb8, dtype=np.float64) / 255.0)
    gap = np.abs(ours * 255 - np.asarray(reference, dtype=np.float64))
    assert np.percentile(gap, 99) < 1.5 and gap.max() < 3, gap.max()
    # and the 16-bit picture agrees with the 8-bit one open_image gives everything else
    assert np.abs(fine * 255 - np.asarray(img, dtype=np.float64)).mean() < 2
