import numpy as np
import pytest
import torch
from PIL import Image

from painterly.errors import InputError, OutputError
from painterly.images import check_output_path, load_tensor, open_image, save_image, tensor_to_pil


def test_modes_become_rgb(tmp_path):
    base = Image.new("RGB", (8, 6), (200, 100, 50))
    cases = {
        "cmyk.jpg": base.convert("CMYK"),
        "gray.png": base.convert("L"),
        "palette.png": base.convert("P"),
        "bw.png": base.convert("1"),
    }
    for name, img in cases.items():
        img.save(tmp_path / name)
        out = open_image(tmp_path / name)
        assert out.mode == "RGB" and out.size == (8, 6), name


def test_alpha_is_composited_on_white(tmp_path):
    img = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    img.putpixel((0, 0), (255, 0, 0, 255))
    img.save(tmp_path / "a.png")
    out = open_image(tmp_path / "a.png")
    assert out.getpixel((0, 0)) == (255, 0, 0)
    assert out.getpixel((3, 3)) == (255, 255, 255)


def test_sixteen_bit_is_scaled_not_clipped(tmp_path):
    arr = np.full((4, 4), 32768, dtype=np.uint16)
    Image.fromarray(arr).save(tmp_path / "deep.png")
    out = open_image(tmp_path / "deep.png")
    assert abs(out.getpixel((0, 0))[0] - 128) <= 1


def test_exif_rotation_is_applied(tmp_path):
    img = Image.new("RGB", (30, 10), (0, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    img.save(tmp_path / "rot.jpg", exif=exif)
    assert open_image(tmp_path / "rot.jpg").size == (10, 30)


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda p: None, "no such file"),
        (lambda p: p.write_bytes(b""), "file is empty"),
        (lambda p: p.write_bytes(b"hello, not a picture"), "not an image"),
        (lambda p: p.mkdir(), "is a folder"),
    ],
)
def test_bad_files(tmp_path, setup, message):
    path = tmp_path / "x.png"
    setup(path)
    with pytest.raises(InputError, match=message) as info:
        open_image(path)
    assert "x.png" in str(info.value)


def test_truncated_file(tmp_path):
    Image.new("RGB", (64, 64), (1, 2, 3)).save(tmp_path / "full.jpg")
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    with pytest.raises(InputError, match=r"cut\.jpg: corrupt"):
        open_image(tmp_path / "cut.jpg")


def test_decompression_bomb_guard_stays_on(tmp_path, monkeypatch):
    Image.new("RGB", (100, 100)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(InputError, match="too large"):
        open_image(tmp_path / "big.png")


def test_load_tensor_resizes_longest_side(tmp_path):
    Image.new("RGB", (40, 20), (255, 0, 0)).save(tmp_path / "r.png")
    t = load_tensor(tmp_path / "r.png", longest=20)
    assert t.shape == (1, 3, 10, 20)
    assert t[0, 0].mean() == pytest.approx(1.0) and t.max() <= 1


def test_save_is_atomic_and_refuses_nan(tmp_path):
    out = tmp_path / "o.png"
    save_image(torch.rand(1, 3, 8, 8), out)
    assert out.is_file() and [p.name for p in tmp_path.iterdir()] == ["o.png"]
    bad = torch.full((1, 3, 8, 8), float("nan"))
    with pytest.raises(ValueError, match="NaN"):
        save_image(bad, out)
    with pytest.raises(ValueError):
        tensor_to_pil(bad)
    assert Image.open(out).size == (8, 8)  # the old file survives
    assert [p.name for p in tmp_path.iterdir()] == ["o.png"]


def test_output_checks(tmp_path):
    src = tmp_path / "in.png"
    Image.new("RGB", (4, 4)).save(src)
    with pytest.raises(OutputError, match="is an input"):
        check_output_path(src, overwrite=True, inputs=[src])
    with pytest.raises(OutputError, match="already exists"):
        check_output_path(src)
    with pytest.raises(OutputError, match="unknown image format"):
        check_output_path(tmp_path / "o.xyz")
    with pytest.raises(OutputError, match="does not exist"):
        check_output_path(tmp_path / "nope" / "o.png")
    assert check_output_path(tmp_path / "new.png") == tmp_path / "new.png"


def test_outputs_get_normal_permissions(tmp_path):
    import os

    old = os.umask(0o022)
    try:
        save_image(torch.rand(1, 3, 4, 4), tmp_path / "p.png")
    finally:
        os.umask(old)
    assert (tmp_path / "p.png").stat().st_mode & 0o777 == 0o644


def test_the_same_picture_saves_to_the_same_bytes(tmp_path):
    """The embedded sRGB profile once carried the time it was made: reruns differed."""
    from painterly.images import save_image, srgb_profile

    srgb_profile.cache_clear()
    img = Image.fromarray(np.arange(48 * 32 * 3, dtype=np.uint8).reshape(32, 48, 3))
    save_image(img, tmp_path / "a.png")
    srgb_profile.cache_clear()
    save_image(img, tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert srgb_profile()[24:36] == bytes.fromhex("07ea00010001000000000000")  # a fixed date, not now
