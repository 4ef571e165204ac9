"""The only place where files become tensors and tensors become files.

Reading normalises whatever a user may hand us (EXIF rotation, alpha, palette,
CMYK, 16-bit and grayscale images) to 8-bit-equivalent RGB, and turns every
failure into an :class:`InputError` naming the file. Writing is atomic: a temp
file in the target folder, then a rename, so a crash never leaves half a picture.
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageOps, UnidentifiedImageError

from painterly.errors import ConfigError, InputError, OutputError

if TYPE_CHECKING:
    import torch

# torch and numpy are imported inside the functions that use them: `painterly --help`
# loads this module, and fast mode uses it without torch (issue #16).

#: What the engines accept as an image: a path or a Pillow image.
ImageSource = str | os.PathLike[str] | Image.Image

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
#: zlib level of PNG outputs: painted pictures barely compress, and Pillow's default 6 took
#: 1.07 s for a 1024² painting against 0.39 s at level 1 for an 11 % larger file (issue #16).
PNG_COMPRESS_LEVEL = 1
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
                return to_rgb(ImageOps.exif_transpose(img))
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


def load_image(source: ImageSource) -> Image.Image:
    """A path or a Pillow image → upright RGB Pillow image (InputError for a bad file)."""
    return to_rgb(source) if isinstance(source, Image.Image) else open_image(source)


def load_styles(
    styles: ImageSource | Sequence[ImageSource], weights: Sequence[float], weights_name: str
) -> list[Image.Image]:
    """One painting or several, loaded; their blend ``weights`` (if any) must match in number."""
    sources = [styles] if isinstance(styles, (str, os.PathLike, Image.Image)) else list(styles)
    if not sources:
        raise ConfigError("give at least one style image")
    if weights and len(weights) != len(sources):
        raise ConfigError(f"{weights_name} has {len(weights)} values for {len(sources)} style images")
    return [load_image(s) for s in sources]


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB: alpha over white, 16-bit scaled, CMYK converted."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        import numpy as np

        arr = np.asarray(img, dtype=np.float64)
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
    img = image if isinstance(image, Image.Image) else tensor_to_pil(image)
    fmt = WRITABLE_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise OutputError(f"{path}: unknown image format {path.suffix!r}")
    buffer = io.BytesIO()
    options: dict[str, int] = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    if fmt == "PNG":
        options["compress_level"] = PNG_COMPRESS_LEVEL
    img.convert("RGB").save(buffer, format=fmt, **options)
    return atomic_write_bytes(path, buffer.getvalue(), mode)
