"""The only place where files become tensors and tensors become files.

Reading normalises whatever a user may hand us (EXIF rotation, alpha, palette,
CMYK, 16-bit and grayscale images) to 8-bit-equivalent RGB, and turns every
failure into an :class:`InputError` naming the file. Writing is atomic: a temp
file in the target folder, then a rename, so a crash never leaves half a picture.
"""

from __future__ import annotations

import functools
import io
import os
import struct
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Union

from PIL import Image, ImageOps, UnidentifiedImageError

from painterly.errors import ConfigError, InputError, OutputError

if TYPE_CHECKING:
    import numpy as np
    import torch

    from painterly.library.resolve import StyleChoice

# torch and numpy are imported inside the functions that use them: `painterly --help` loads
# this module (numpy alone was most of its start-up), and fast mode uses it without torch
# (issue #16). A tensor or an array can only have been handed to us if its library is
# already imported, which is what _is_tensor and _is_array rely on.


def _is_tensor(value: object) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def _is_array(value: object) -> bool:
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.ndarray)


def _is_single_source(value: object) -> bool:
    """One image (a path, a Pillow image, an array or a tensor), not a list of them."""
    return isinstance(value, (str, os.PathLike, Image.Image)) or _is_array(value) or _is_tensor(value)


#: What the engines accept as an image: a path, a Pillow image, a numpy HWC array (uint8,
#: or float in 0–1) or a torch CHW/NCHW float tensor in 0–1 (issue #15).
ImageSource = Union[str, os.PathLike[str], Image.Image, "np.ndarray", "torch.Tensor"]
#: What to say when something else is passed.
ACCEPTED_SOURCES = (
    "a file path, a PIL image, a numpy HxWxC array (uint8, or float in 0-1) "
    "or a torch CxHxW / 1xCxHxW float tensor in 0-1"
)

#: zlib level of PNG outputs: painted pictures barely compress, and Pillow's default 6 took
#: 1.07 s for a 1024² painting against 0.39 s at level 1 for an 11 % larger file (issue #16).
PNG_COMPRESS_LEVEL = 1
#: Output formats we write, by file suffix.
WRITABLE_SUFFIXES = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}
#: Background that transparent pixels are composited onto.
ALPHA_BACKGROUND = (255, 255, 255)


def open_image(path: str | os.PathLike[str]) -> Image.Image:
    """Read an image file as upright 8-bit RGB, or raise InputError naming the problem."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not an image")
    try:
        if path.stat().st_size == 0:
            raise InputError(f"{path}: file is empty")
        with warnings.catch_warnings():
            # Pillow only warns for images between 1x and 2x its pixel limit; treat that as fatal too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img.load()
                fine = read_fine(path, img)  # issue #18: 16-bit files keep their precision
                rgb = to_rgb(ImageOps.exif_transpose(to_srgb(img)))
                if fine is not None and fine.shape[1::-1] == rgb.size:
                    rgb.info[FINE_KEY] = fine
                return rgb
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(
            f"{path}: image is too large (over {Image.MAX_IMAGE_PIXELS:,} pixels); "
            "refusing it as a possible decompression bomb"
        ) from None
    except UnidentifiedImageError:
        raise InputError(f"{path}: not an image file Pillow can read") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"{path}: corrupt or truncated image ({exc})") from None


def load_image(source: ImageSource, role: str = "image") -> Image.Image:
    """A path, Pillow image, numpy array or torch tensor → RGB Pillow image. A bad file is an
    InputError; anything else that is not an image is a TypeError (wrong kind) or a
    ValueError (wrong shape or values) saying what it got and what is accepted."""
    if isinstance(source, (str, os.PathLike)):
        if isinstance(source, str) and not source:
            raise ValueError(f"{role}: empty path; expected {ACCEPTED_SOURCES}")
        img = open_image(source)
    elif isinstance(source, Image.Image):
        try:
            img = to_rgb(source)
        except ValueError as exc:
            raise ValueError(f"{role}: {exc}") from None
    elif _is_array(source):
        img = array_to_pil(source, role)
    elif _is_tensor(source):
        img = tensor_source_to_pil(source, role)
    else:
        raise TypeError(f"{role}: expected {ACCEPTED_SOURCES}; got {type(source).__name__}")
    if img.width == 0 or img.height == 0:
        raise ValueError(f"{role}: the image is empty ({img.width}×{img.height} px)")
    return img


def array_to_pil(array: np.ndarray, role: str = "image") -> Image.Image:
    """A numpy HxW or HxWxC (C = 1, 3 or 4) array, uint8 or float in 0–1, as RGB."""
    import numpy as np

    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ValueError(
            f"{role}: numpy array of shape {array.shape}; expected height x width x channels "
            "(1, 3 or 4 channels, channels last)"
        )
    if 0 in array.shape:
        raise ValueError(f"{role}: the image is empty (array of shape {array.shape})")
    if array.dtype == np.uint8:
        data = array
    elif np.issubdtype(array.dtype, np.floating):
        data = _unit_floats_to_uint8(array.astype(np.float64), role)
    else:
        raise TypeError(f"{role}: numpy array of dtype {array.dtype}; expected uint8, or float in 0-1")
    data = np.ascontiguousarray(data)
    if data.shape[2] == 1:
        return Image.fromarray(data[:, :, 0], "L").convert("RGB")
    return to_rgb(Image.fromarray(data, "RGBA" if data.shape[2] == 4 else "RGB"))


def tensor_source_to_pil(tensor: torch.Tensor, role: str = "image") -> Image.Image:
    """A torch CxHxW or 1xCxHxW float tensor in 0–1 (C = 1 or 3), as RGB."""
    import numpy as np
    import torch

    if tensor.dim() == 4:
        if tensor.shape[0] != 1:
            raise ValueError(
                f"{role}: tensor of shape {tuple(tensor.shape)} holds {tensor.shape[0]} images; pass one"
            )
        tensor = tensor[0]
    if tensor.dim() != 3 or tensor.shape[0] not in (1, 3):
        raise ValueError(
            f"{role}: tensor of shape {tuple(tensor.shape)}; expected channels x height x width "
            "(1 or 3 channels, channels first), optionally with a batch of 1 in front"
        )
    if not tensor.is_floating_point():
        raise TypeError(f"{role}: tensor of dtype {tensor.dtype}; expected a float tensor in 0-1")
    array = tensor.detach().to("cpu", torch.float64).numpy().transpose(1, 2, 0)
    if 0 in array.shape:
        raise ValueError(f"{role}: the image is empty (tensor of shape {tuple(tensor.shape)})")
    data = _unit_floats_to_uint8(array, role)
    if data.shape[2] == 1:
        data = np.repeat(data, 3, axis=2)
    return Image.fromarray(np.ascontiguousarray(data), "RGB")


def _unit_floats_to_uint8(array: np.ndarray, role: str) -> np.ndarray:
    import numpy as np

    finite = np.isfinite(array)
    if not finite.all():
        share = 1.0 - finite.mean()
        raise ValueError(f"{role}: {share:.0%} of the pixels are NaN or infinite; expected values in 0-1")
    low, high = float(array.min()), float(array.max())
    if low < -1e-3 or high > 1 + 1e-3:
        raise ValueError(
            f"{role}: float values from {low:.4g} to {high:.4g}; expected 0-1 (divide 8-bit data by 255)"
        )
    return (np.clip(array, 0, 1) * 255 + 0.5).astype(np.uint8)


def load_styles(
    styles: ImageSource | Sequence[ImageSource], weights: Sequence[float], weights_name: str
) -> list[Image.Image]:
    """One painting or several, loaded; their blend ``weights`` (if any) must match in number.
    Library names (``movement:fauvism``, ...) are read as their works' files (issue #10); a
    caller that blends should call :func:`resolve_styles` first to get the matching weights."""
    one = _is_single_source(styles)
    if styles is None or not (one or isinstance(styles, Sequence)):
        raise TypeError(
            f"styles: expected one image or a list of them ({ACCEPTED_SOURCES}); got {type(styles).__name__}"
        )
    sources = [styles] if one else list(styles)
    if not sources:
        raise ConfigError("give at least one style image")
    if weights and len(weights) != len(sources):
        raise ConfigError(f"{weights_name} has {len(weights)} values for {len(sources)} style images")
    sources = resolve_styles(sources).sources
    return [load_image(s, f"style {i + 1}" if len(sources) > 1 else "style") for i, s in enumerate(sources)]


# --- style library names at the boundary: issue #10 ---
def resolve_styles(
    styles: ImageSource | Sequence[ImageSource],
    weights: Sequence[float] = (),
    weights_name: str = "style weights",
    group: str = "blend",
) -> StyleChoice:
    """Library names among the style sources → their works' files, with the blend weights
    spread over them (``group``: blend or representative for artist:/movement:); files and
    images pass through unchanged. Every engine and command takes paintings through here."""
    from painterly.library.resolve import resolve_styles as resolve

    one = _is_single_source(styles)
    if styles is None or not (one or isinstance(styles, Sequence)):
        raise TypeError(
            f"styles: expected one image or a list of them ({ACCEPTED_SOURCES}); got {type(styles).__name__}"
        )
    sources = [styles] if one else list(styles)
    if weights and len(weights) != len(sources):
        raise ConfigError(f"{weights_name} has {len(weights)} values for {len(sources)} style images")
    return resolve(sources, weights, group)


def resolve_style_path(source: str) -> str:
    """One painting as one file: a library name becomes its only work or its representative."""
    from painterly.library.resolve import resolve_path

    return resolve_path(source)


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB: alpha over white, 16-bit scaled, CMYK converted."""
    import numpy as np

    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        if not np.isfinite(arr).all():  # an all-NaN float image came out black (issue #15)
            raise ValueError("the image has NaN or infinite pixels")
        top = 65535.0 if arr.max(initial=0) > 255 or img.mode.startswith("I;16") else 255.0
        if img.mode == "F":
            top = max(1.0, float(arr.max(initial=1.0)))
        arr = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*ALPHA_BACKGROUND, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB") if img.mode != "RGB" else img.copy()


def fit_size(width: int, height: int, longest: int) -> tuple[int, int]:
    """(width, height) scaled so that the longest side is ``longest``, keeping the aspect."""
    scale = longest / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def resize(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Resize to (width, height) with a high-quality filter (no-op if already that size)."""
    if img.size == tuple(size):
        return img
    return img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def pil_to_tensor(img: Image.Image, device: torch.device | str = "cpu") -> torch.Tensor:
    """RGB Pillow image → 1×3×H×W float tensor in 0–1."""
    import numpy as np
    import torch

    arr = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).contiguous().to(device)


def tensor_to_pil(tensor: torch.Tensor) -> Image.Image:
    """1×3×H×W (or 3×H×W) tensor in 0–1 → RGB Pillow image; refuses NaN or inf."""
    import numpy as np
    import torch

    t = tensor.detach().to("cpu", torch.float32)
    if t.dim() == 4:
        t = t[0]
    if not torch.isfinite(t).all():
        raise ValueError("image contains NaN or inf values; refusing to make a picture of it")
    arr = (t.clamp(0, 1).permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)
    return Image.fromarray(arr, "RGB")


def load_tensor(
    path: str | os.PathLike[str],
    longest: int | None = None,
    size: tuple[int, int] | None = None,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Read an image file as a 1×3×H×W tensor, resized to ``size`` (w, h) or ``longest`` side."""
    img = open_image(path)
    if size is not None:
        img = resize(img, size)
    elif longest is not None:
        img = resize(img, fit_size(*img.size, longest))
    return pil_to_tensor(img, device)


def check_output_path(
    path: str | os.PathLike[str],
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike[str]] = (),
    suffixes: Iterable[str] = WRITABLE_SUFFIXES,
    kind: str = "image",
) -> Path:
    """Fail before long work starts if the output cannot or must not be written
    (``suffixes``/``kind``: what may be written, e.g. (".mp4", ".gif") and "video")."""
    path = Path(path)
    allowed = sorted(suffixes)
    if path.suffix.lower() not in allowed:
        raise OutputError(f"{path}: unknown {kind} format {path.suffix!r}; use one of {', '.join(allowed)}")
    for source in inputs:
        if Path(source).exists() and path.exists() and path.resolve() == Path(source).resolve():
            raise OutputError(f"{path}: is an input; refusing to overwrite it")
    if path.is_dir():
        raise OutputError(f"{path}: is a folder")
    if path.exists() and not overwrite:
        raise OutputError(f"{path}: already exists (use --overwrite to replace it)")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{path}: folder {parent} is not writable")
    return path


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, mode: int | None = None) -> Path:
    """Write bytes through a temp file in the same folder and rename it into place;
    ``mode`` (e.g. 0o600 for private data) instead of the umask's permissions."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(
            tmp, _file_mode() if mode is None else mode
        )  # mkstemp makes 0600 files; outputs get the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _file_mode() -> int:
    """The permissions a plainly created file would get under the current umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_text(path: str | os.PathLike[str], text: str, mode: int | None = None) -> Path:
    """Write text atomically (UTF-8)."""
    return atomic_write_bytes(path, text.encode("utf-8"), mode)


def save_image(
    image: Image.Image | torch.Tensor,
    path: str | os.PathLike[str],
    quality: int = 95,
    mode: int | None = None,
) -> Path:
    """Write an image atomically, in the format its suffix names."""
    path = Path(path)
    img = tensor_to_pil(image) if _is_tensor(image) else image
    fmt = WRITABLE_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise OutputError(f"{path}: unknown image format {path.suffix!r}")
    buffer = io.BytesIO()
    options: dict[str, int] = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    if fmt == "PNG":
        options["compress_level"] = PNG_COMPRESS_LEVEL
    if fmt != "BMP":  # issue #18: say what the pixels mean, for colour-managed viewers and printers
        options["icc_profile"] = srgb_profile()
    img.convert("RGB").save(buffer, format=fmt, **options)
    return atomic_write_bytes(path, buffer.getvalue(), mode)


# --- issue #18: colour profiles and 16-bit pictures -----------------------------------------
#
# Decision: painterly works in sRGB. VGG19 was trained on sRGB photos and the bundled paintings
# are sRGB, so a photo with another embedded profile (Adobe RGB, Display P3, ProPhoto, a CMYK
# press profile) is converted to sRGB when it is read, and every output carries an sRGB profile.
# Keeping the photo's profile on the output instead would tag the painting's sRGB colours as,
# say, Adobe RGB and print them oversaturated. Colours outside sRGB are clipped (relative
# colorimetric intent); convert the output back with any colour-managed tool if you need to.

#: Bit depths an output can have; 16 needs PNG or TIFF.
BIT_DEPTHS = (8, 16)
HIGH_BIT_SUFFIXES = (".png", ".tif", ".tiff")
#: Key in a Pillow image's ``info`` under which open_image keeps a 16-bit file's pixels
#: (float32 H×W×3 in 0–1, sRGB) beside the 8-bit image that everything else uses.
FINE_KEY = "painterly.fine"


@functools.lru_cache(maxsize=1)
def srgb_profile() -> bytes:
    """LittleCMS's built-in sRGB profile as ICC bytes (588 bytes), with a fixed creation
    date: LittleCMS stamps the current time, which made two runs of the same picture
    differ by a byte (the profile carries no MD5 ID, so nothing else depends on it)."""
    from PIL import ImageCms

    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    icc[24:36] = struct.pack(">6H", 2026, 1, 1, 0, 0, 0)  # ICC header: dateTimeNumber
    return bytes(icc)


def is_srgb_profile(icc: bytes) -> bool:
    """Whether ICC bytes describe sRGB (by the profile's own description)."""
    from PIL import ImageCms

    try:
        description = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
    except (ImageCms.PyCMSError, OSError, TypeError, ValueError):
        return True  # unreadable: treat as sRGB, as a viewer without colour management would
    # "sRGB IEC61966-2.1", "sRGB built-in", "sRGB v4 ICC preference": a profile merely naming
    # sRGB later ("linear sRGB primaries") is converted (converting sRGB to sRGB changes nothing)
    return description.strip().lower().startswith("srgb")


def to_srgb(img: Image.Image) -> Image.Image:
    """``img`` converted from its embedded ICC profile to sRGB (no profile, or sRGB: as it is).
    RGB, CMYK and grey images are converted; alpha is kept; others are left alone."""
    icc = img.info.get("icc_profile")
    if not icc or img.mode not in ("RGB", "RGBA", "CMYK", "L", "LA") or is_srgb_profile(icc):
        return img
    from PIL import ImageCms

    alpha = img.getchannel("A") if img.mode in ("RGBA", "LA") else None
    base = img.convert({"RGBA": "RGB", "LA": "L"}.get(img.mode, img.mode))
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        target = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
        out = ImageCms.profileToProfile(
            base, source, target, renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC, outputMode="RGB"
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        return img  # a profile LittleCMS cannot use: the pixels as they are
    assert out is not None
    if alpha is not None:
        out.putalpha(alpha)
    out.info = {k: v for k, v in img.info.items() if k != "icc_profile"}
    return out


def bits_per_sample(path: Path, img: Image.Image) -> int:
    """Bits per colour sample of an image file (16 for 48-bit PNG and 16-bit TIFF), from its header."""
    if img.format == "PNG":
        with open(path, "rb") as handle:
            header = handle.read(25)
        return header[24] if len(header) == 25 else 8
    if img.format == "TIFF":
        bits = img.tag_v2.get(258, (8,))  # type: ignore[attr-defined]
        return int(bits[0] if isinstance(bits, tuple) else bits)
    return 16 if img.mode.startswith("I;16") else 8


def read_fine(path: Path, img: Image.Image) -> np.ndarray | None:
    """A 16-bit PNG or TIFF as float32 H×W×3 in 0–1 (upright, alpha over white), or None for
    8-bit files, files with a non-sRGB profile (converted at 8 bits instead), or without OpenCV."""
    if bits_per_sample(path, img) <= 8:
        return None
    icc = img.info.get("icc_profile")
    convert = None
    if icc and not is_srgb_profile(icc):
        convert = MatrixProfile.parse(icc)
        if convert is None:  # a LUT-based profile: LittleCMS converts it at 8 bits instead
            return None
    try:
        import cv2
    except ImportError:
        return None
    import numpy as np

    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    if raw is None or raw.dtype != np.uint16:
        return None
    arr = raw.astype(np.float32) / 65535.0
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    elif arr.shape[2] == 4:  # BGRA: alpha over white, like to_rgb
        alpha = arr[:, :, 3:4]
        arr = arr[:, :, :3] * alpha + (1.0 - alpha)
    arr = arr[:, :, 2::-1] if arr.shape[2] >= 3 else np.repeat(arr[:, :, :1], 3, axis=2)
    if convert is not None:
        arr = convert.to_srgb(arr)
    return np.ascontiguousarray(_orient(arr, img.getexif().get(0x0112, 1)), dtype=np.float32)


class MatrixProfile:
    """An RGB matrix/TRC ICC profile (Adobe RGB, ProPhoto, Display P3, ...: the common kind),
    applied in float so that a 16-bit photo keeps its precision on the way to sRGB; LittleCMS
    through Pillow works at 8 bits per channel only."""

    def __init__(self, matrix: np.ndarray, curves: list[Callable[[np.ndarray], np.ndarray]]) -> None:
        self.matrix, self.curves = matrix, curves  # matrix: linear RGB → PCS XYZ (D50)

    @classmethod
    def parse(cls, icc: bytes) -> MatrixProfile | None:
        """The profile's colorants and tone curves, or None if it is not a matrix/TRC RGB profile."""
        import numpy as np

        try:
            if icc[16:20] != b"RGB ":
                return None
            count = struct.unpack(">I", icc[128:132])[0]
            tags = {}
            for n in range(count):
                sig, offset, size = struct.unpack(">4sII", icc[132 + 12 * n : 144 + 12 * n])
                tags[sig] = icc[offset : offset + size]
            columns = [_xyz(tags[k]) for k in (b"rXYZ", b"gXYZ", b"bXYZ")]
            curves = [_curve(tags[k]) for k in (b"rTRC", b"gTRC", b"bTRC")]
        except (KeyError, struct.error, ValueError, IndexError):
            return None
        if any(c is None for c in curves):
            return None
        return cls(np.array(columns, dtype=np.float64).T, curves)  # type: ignore[arg-type]

    def to_srgb(self, rgb: np.ndarray) -> np.ndarray:
        """H×W×3 floats in 0–1 in this profile → sRGB (relative colorimetric: out of gamut clips)."""
        import numpy as np

        srgb = MatrixProfile.parse(srgb_profile())
        assert srgb is not None
        linear = np.stack([curve(rgb[..., i]) for i, curve in enumerate(self.curves)], axis=-1)
        to_srgb_linear = np.linalg.inv(srgb.matrix) @ self.matrix
        out = np.clip(linear @ to_srgb_linear.T, 0.0, 1.0)
        encoded = np.where(out <= 0.0031308, 12.92 * out, 1.055 * np.power(out, 1 / 2.4) - 0.055)
        return encoded.astype(np.float32)


def _s15(data: bytes) -> float:
    return struct.unpack(">i", data)[0] / 65536.0


def _xyz(tag: bytes) -> list[float]:
    if tag[:4] != b"XYZ ":
        raise ValueError("not an XYZ tag")
    return [_s15(tag[8 + 4 * i : 12 + 4 * i]) for i in range(3)]


def _curve(tag: bytes) -> Callable[[np.ndarray], np.ndarray] | None:
    """An ICC 'curv' or 'para' tone curve as a function of floats in 0–1."""
    import numpy as np

    if tag[:4] == b"curv":
        n = struct.unpack(">I", tag[8:12])[0]
        if n == 0:
            return lambda x: x
        if n == 1:
            gamma = struct.unpack(">H", tag[12:14])[0] / 256.0
            return lambda x: np.power(np.clip(x, 0, 1), gamma)
        table = np.array(struct.unpack(f">{n}H", tag[12 : 12 + 2 * n]), dtype=np.float64) / 65535.0
        grid = np.linspace(0.0, 1.0, n)
        return lambda x: np.interp(x, grid, table)
    if tag[:4] == b"para":
        kind = struct.unpack(">H", tag[8:10])[0]
        counts = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}
        if kind not in counts:
            return None
        g, a, b, c, d, e, f = [
            *(_s15(tag[12 + 4 * i : 16 + 4 * i]) for i in range(counts[kind])),
            0,
            0,
            0,
            0,
            0,
            0,
        ][:7]
        if kind == 0:
            return lambda x: np.power(np.clip(x, 0, 1), g)
        if kind in (1, 2):
            cut, offset = -b / a, (c if kind == 2 else 0.0)
            return lambda x: np.where(x >= cut, np.power(np.clip(a * x + b, 0, None), g) + offset, offset)
        if kind == 3:
            return lambda x: np.where(x >= d, np.power(np.clip(a * x + b, 0, None), g), c * x)
        return lambda x: np.where(x >= d, np.power(np.clip(a * x + b, 0, None), g) + e, c * x + f)
    return None


def _orient(arr: np.ndarray, orientation: int) -> np.ndarray:
    """An H×W×C array turned upright by its EXIF orientation (as ImageOps.exif_transpose)."""
    import numpy as np

    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.transpose(a, (1, 0, 2)),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.rot90(a, 1)[::-1],
        8: lambda a: np.rot90(a, 1),
    }
    return ops[orientation](arr) if orientation in ops else arr


def fine_tensor(img: Image.Image, size: tuple[int, int], device: torch.device | str = "cpu") -> torch.Tensor:
    """``img`` as a 1×3×H×W tensor at ``size`` (w, h): from its 16-bit pixels when open_image kept
    them (area/bicubic resampling in float), else from its 8 bits as pil_to_tensor does."""
    fine = img.info.get(FINE_KEY)
    if fine is None:
        return pil_to_tensor(resize(img, size), device)
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(fine).permute(2, 0, 1).unsqueeze(0)
    if tuple(t.shape[-2:]) != (size[1], size[0]):
        t = F.interpolate(t, size=(size[1], size[0]), mode="bicubic", antialias=True, align_corners=False)
    return t.clamp(0, 1).contiguous().to(device)


def save_image_16bit(tensor: torch.Tensor, path: str | os.PathLike[str], mode: int | None = None) -> Path:
    """Write a 1×3×H×W (or 3×H×W) float tensor in 0–1 as a 16-bit-per-channel PNG or TIFF,
    atomically; a PNG gets an sRGB chunk. Needs OpenCV (``pip install 'painterly[print]'``)."""
    import numpy as np
    import torch

    from painterly.errors import MissingDependencyError

    path = Path(path)
    if path.suffix.lower() not in HIGH_BIT_SUFFIXES:
        raise OutputError(f"{path}: 16-bit output needs a .png or .tif file")
    try:
        import cv2
    except ImportError:
        raise MissingDependencyError("16-bit output needs OpenCV: pip install 'painterly[print]'") from None
    t = tensor.detach().to("cpu", torch.float32)
    if t.dim() == 4:
        t = t[0]
    if not torch.isfinite(t).all():
        raise ValueError("image contains NaN or inf values; refusing to make a picture of it")
    arr = (t.clamp(0, 1).permute(1, 2, 0).numpy() * 65535.0 + 0.5).astype(np.uint16)
    ok, encoded = cv2.imencode(path.suffix.lower(), np.ascontiguousarray(arr[:, :, ::-1]))
    if not ok:
        raise OutputError(f"{path}: OpenCV could not encode a 16-bit {path.suffix} file")
    data = encoded.tobytes()
    if path.suffix.lower() == ".png":
        data = _png_with_chunk(data, b"sRGB", bytes([0]))  # perceptual intent; the pixels are sRGB
    return atomic_write_bytes(path, data, mode)


def _png_with_chunk(data: bytes, kind: bytes, payload: bytes) -> bytes:
    """PNG bytes with one more ancillary chunk right after IHDR (signature 8 + IHDR 25 bytes)."""
    import struct
    import zlib

    chunk = struct.pack(">I", len(payload)) + kind + payload
    chunk += struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    return data[:33] + chunk + data[33:]
