"""Frozen configuration dataclasses: every knob, its default and its validation.

This module is the single source of defaults. The command line and the web studio
derive their flags and form fields from the field metadata here (``help``, and
``flag`` for a short alias), so a knob added here appears everywhere.

Loss normalisation (why one set of weights works across image sizes):
  * content loss  = mean over C·H·W of (F - P)²      (L1: mean |F - P|)
  * Gram matrix   = F Fᵀ / (C·H·W) of the C×(H·W) feature matrix F
  * style loss    = mean over C·C of (G - A)²        (L1: mean |G - A|)
Dividing the Gram matrix by the number of positions makes it an average over the
image, so the same picture at 256 px and at 1024 px has (nearly) the same Gram
matrix and the same loss scale. This is the normalisation of Johnson's
neural-style; the paper's 1/(4N²M²) factor differs only by a per-layer constant,
so our α/β are not the paper's numbers, but their defaults give the paper's
balance with the original VGG19 weights.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from painterly.errors import ConfigError
from painterly.taps import BACKBONES, DEFAULT_LAYERS, check_backbone_tap, tap_min_size

_C = TypeVar("_C", bound="ConfigBase")

#: Longest side we accept for an output; beyond this a CPU run takes days and RAM runs out.
MAX_SIZE = 8192
#: Smallest longest side we accept.
MIN_SIZE = 16

Pooling = Literal["max", "avg"]
LossKind = Literal["l2", "l1"]
OptimizerKind = Literal["lbfgs", "adam"]
# issue #18: a text checked by check_device_name, so that cuda:1 (any cuda:N) can be asked for
DeviceKind = str
DEVICE_WORDS = ("auto", "cpu", "cuda", "mps")
PreserveColors = Literal["none", "luminance", "histogram"]
Precision = Literal["auto", "fp32", "bf16"]  # issue #16
LineSearch = Literal["none", "strong_wolfe"]
KeepRange = Literal["clamp", "penalty", "none"]
PresetName = Literal["none", "draft", "balanced", "quality", "portrait", "photo"]
Padding = Literal["reflect", "replicate", "zeros", "circular"]  # issue #17
CanvasKind = Literal["grid", "exact"]  # issue #17
StyleEdges = Literal["interior", "whole", "both"]  # issue #17
#: Default TV weight (issue #17; see transfer.TV_SCALE). 0 by measurement (bench/quality.py
#: --modes tv, four pairs at 128 px): 3e-4 lowers the mesh measure 32–47 % but blurs the
#: strokes and bares a coarse pooling grid (docs/quality/tv_side_by_side.jpg); 1e-3 halves it
#: on all four at up to +60 % style distance. No weight halves it at the same style.
TV_DEFAULT = 0.0
#: Issue #17: weight of the calm term (painterly.calm), by measurement (bench/quality.py --modes
#: calm, balanced, six pairs): with the sharpened flatness map (calm.FLATNESS_POWER 2) 3 leaves
#: 0.12-0.36x the mesh in the photo's flattest quarter at 128 px and 0.15-0.45x at 256 px, the
#: style distance -9 to +4 % of the run without it (the Pearl Earring +15/+17 %: its mesh was
#: what matched the painting; at the same style distance, --modes calm-iso, 0.18x and 0.44x);
#: 2 left the coffee at 256 px 0.58x with the map before it.
CALM_DEFAULT = 3.0
#: Issue #17: px of the photo's reflection around the picture while it is painted (before the
#: canvas is rounded up to the pooling grid). Measured on generated photos with no band of their
#: own (bench/border_margin.py, draft and balanced, 9-10 photos a painting and size, GPU): the
#: grid alone left The Scream's band +2.0/+3.1/+3.7 % at 128/256/512 px (its right edge up to
#: +8 %) and The Starry Night's -3.6 % at 128 px; 4 px: -1.1 ... +2.0 % in every cell; 8 px:
#: -1.7 ... +2.3 % (a bright top line with The Starry Night). Costs +12.5/+14/+7/+4 % of the
#: pixel-steps at 128/256/512/1024 px. The top takes more of the grid's spare rows (up to
#: painterly.canvas.TOP_MARGIN): the network darkens a stripe 4-6 px below the canvas's top.
EDGE_MARGIN_DEFAULT = 4
#: Photorealism weight (issue #13), measured: see TransferConfig.photo_weight.
PHOTO_WEIGHT_DEFAULT = 3e7
#: Issue #17: levels of the pixel pyramid L-BFGS optimises (painterly.pyramid). 1 (plain
#: pixels) by measurement (bench/quality.py --modes mesh, four pairs, balanced): 4 levels halve
#: the mesh at ≤ +10 % style distance on two pairs at 128 px (the astronaut 0.5003×), but at
#: 256 px they leave the pictures less painted (style distance +5..+51 %, the run's own style
#: loss +29..+168 %) on balanced's steps; no gain, warm-up, level count or schedule tried did
#: both (docs/guides/quality.md, 2c).
PYRAMID_DEFAULT = 1
# issue #10: how a library artist/movement becomes a style (chosen by measurement: docs/guides/library.md)
StyleGroup = Literal["blend", "representative"]
DEFAULT_STYLE_GROUP = "blend"
BackboneName = Literal["vgg19", "vgg16", "vgg13", "vgg11", "alexnet"]
StyleLossKind = Literal["gram", "mean_std", "mean_cov", "histogram", "mrf"]  # issue #13
SmoothKind = Literal["none", "guided", "matting"]  # issue #13
#: Smallest scale of --multiscale, and the factor between scales.
MULTISCALE_START, MULTISCALE_FACTOR = 128, 2**0.5
INIT_KEYWORDS = ("content", "noise", "style", "fast", "recolor")  # recolor: issue #13
DEFAULT_LEARNING_RATES = {"lbfgs": 1.0, "adam": 0.02}


def knob(default: Any, help: str, flag: str | None = None, **extra: Any) -> Any:
    """A dataclass field carrying its help text (and an optional short CLI flag)."""
    meta = {"help": help, **extra}
    if flag:
        meta["flag"] = flag
    if isinstance(default, (list, dict, set)):
        raise TypeError("mutable defaults are not allowed in frozen configs")
    return field(default=default, metadata=meta)


def parse_activation(spec: str) -> tuple[str, float]:
    """Split 'relu', 'tanh' or 'leaky_relu:<slope>' into (kind, slope)."""
    kind, _, arg = spec.partition(":")
    if kind in ("relu", "tanh") and not arg:
        return kind, 0.0
    if kind == "leaky_relu":
        try:
            slope = float(arg) if arg else 0.01
        except ValueError:
            raise ConfigError(f"activation {spec!r}: slope {arg!r} is not a number") from None
        if not 0.0 <= slope < 1.0:
            raise ConfigError(f"activation {spec!r}: slope must be in [0, 1)")
        return kind, slope
    raise ConfigError(f"unknown activation {spec!r}; use relu, tanh or leaky_relu:<slope>")


class ConfigBase:
    """What every config dataclass offers: copies, plain dicts and building from them."""

    def replace(self: _C, **changes: Any) -> _C:
        """A copy with some settings changed (validated again)."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (tuples become lists)."""
        items = dataclasses.asdict(self).items()  # type: ignore[call-overload]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in items}

    @classmethod
    def from_dict(cls: type[_C], data: dict[str, Any]) -> _C:
        """Build from a dict such as a manifest's; unknown keys are an error."""
        return config_from_dict(cls, data)

    # --- issue #15: types are checked at construction, not deep inside a run ---
    def _check_types(self) -> None:
        """Refuse values of the wrong type (``iterations=2.5``, ``seed="abc"``, ``True`` for a
        number) with a ConfigError naming the field; the range checks come after."""
        for name, hint in _field_hints(type(self)).items():
            value = getattr(self, name)
            if not _type_ok(value, hint):
                raise ConfigError(f"{name}: expected {_type_words(hint)}, got {value!r:.60}")


@dataclass(frozen=True)
class TransferConfig(ConfigBase):
    """Settings of one optimisation-based style transfer (Gatys et al. 2016)."""

    content_layers: tuple[str, ...] = knob(
        ("conv4_2",), "Layers whose features the output must share with the photo (comma list)."
    )
    content_layer_weights: tuple[float, ...] = knob(
        (), "Weight of each content layer, same order (relative; normalised to sum to 1)."
    )
    style_layers: tuple[str, ...] = knob(
        ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"),
        "Layers whose Gram matrices the output must share with the painting (comma list). "
        "Shallow layers give fine texture, deep layers large brush strokes.",
    )
    style_layer_weights: tuple[float, ...] = knob(
        (),
        "Weight of each style layer, same order, e.g. 0.2,0.2,0.8,0.2,0.2 "
        "(relative; normalised to sum to 1; default: equal).",
    )
    content_weight: float = knob(1.0, "α: how strongly the photo's structure is kept.", flag="-a")
    style_weight: float = knob(
        1e2, "β: how strongly the painting's texture is imposed (β/α sets the balance).", flag="-b"
    )
    tv_weight: float = knob(
        TV_DEFAULT,
        "Total-variation weight on neural-style's scale: the term is w/2·Σ(dx²+dy²) over 0–255 "
        "pixels of a 512×512 picture, the same share at any size, so neural-style's 1e-3 means "
        "the same here. It smooths the fine mesh the optimiser leaves on flat areas; too much "
        "blurs strokes. 0 turns it off.",
    )
    loss: LossKind = knob("l2", "Distance used by the content and style losses.")
    pooling: Pooling = knob("avg", "VGG pooling. The paper found average pooling gives smoother results.")
    activation: str = knob("relu", "VGG activation: relu, tanh or leaky_relu:<slope> (e.g. leaky_relu:0.2).")
    optimizer: OptimizerKind = knob("lbfgs", "Optimiser: L-BFGS (the paper's) or Adam.")
    learning_rate: float | None = knob(
        None, "Step size (default: 1.0 for L-BFGS, 0.02 for Adam on 0-1 pixels).", flag="--lr"
    )
    iterations: int = knob(500, "Optimisation steps.", flag="-n")
    init: str = knob(
        "content",
        "Start image: content, noise, style, fast (the fast-mode painting: a head start), "
        "recolor (the photo moved to the painting's colour mean and covariance; photo preset), "
        "or the path of an image (resumes).",
    )
    seed: int = knob(0, "Random seed: the same seed gives the same picture on the same device.")
    size: int = knob(512, "Longest side of the output in pixels.", flag="-s")
    style_scale: float = knob(
        1.0, "Style image size relative to the output; smaller gives smaller brush strokes."
    )
    style_blend_weights: tuple[float, ...] = knob(
        (), "With several paintings: the share of each, same order (default: equal)."
    )
    device: DeviceKind = knob(
        "auto",
        "Where to compute: auto takes CUDA, then MPS, then the CPU; or cpu, cuda, cuda:N (GPU N), mps.",
    )
    # issue #16: measured on an H100 (bench/gpu.py): TF32 made a balanced 1024 px run 2.8x
    # faster than strict float32 with the final loss 0.45 % higher; bfloat16 was no faster
    # end to end and 1.4 % higher, so it is opt-in.
    precision: Precision = knob(
        "auto",
        "Float arithmetic on a CUDA GPU: auto uses TF32 tensor cores for convolutions and matrix "
        "products (about 3x faster than fp32 on recent GPUs, final loss within 1 %); fp32 is strict "
        "float32 (the slowest; for comparing runs); bf16 runs the network in bfloat16 (faster "
        "single passes at 1024 px and up, final loss ~1.4 % higher). No effect on the CPU or MPS.",
    )
    spike_factor: float = knob(
        4.0,
        "Guard: a loss above this many times the best so far (or NaN) restores the best image "
        "and restarts the optimiser with half the learning rate.",
    )
    max_restarts: int = knob(20, "Guard: how many such restarts before the run gives up.")
    preview_every: int = knob(0, "Attach the current image to the progress event every N steps (0: never).")
    # --- perceptual controls (Gatys et al. 2017) and stable optimisation: issue #3 ---
    preserve_colors: PreserveColors = knob(
        "none",
        "Keep the photo's colours: luminance (transfer on brightness only, keep the photo's chroma) "
        "or histogram (recolour the painting to the photo's colour mean and covariance first).",
    )
    color_weight: float = knob(
        0.0, "Colour loss weight: pull the RGB pixel Gram matrix towards the colour reference."
    )
    color_reference: str = knob("", "Image whose colours the colour loss pulls towards (default: the style).")
    scales: tuple[int, ...] = knob(
        (), "Coarse-to-fine sizes, e.g. 128,256,512: each scale starts from the previous result upsampled."
    )
    multiscale: bool = knob(False, "Coarse-to-fine from 128 px up by about √2 to --size.")
    scale_iterations: tuple[int, ...] = knob(
        (), "Steps at each scale, coarse to fine (default: --iterations at every scale)."
    )
    style_size: int | None = knob(
        None, "Fixed longest side of the painting in px at every scale (default: follows each scale)."
    )
    masks: tuple[str, ...] = knob(
        (),
        "Regions: CONTENT_MASK:STYLE[:WEIGHT] (STYLE a painting or 'none' for content only); "
        "what no mask covers takes the main painting(s).",
    )
    line_search: LineSearch = knob(
        "none", "L-BFGS line search: none (one evaluation a step) or strong_wolfe."
    )
    # Clamping by default, L-BFGS included: unclamped runs score well on pixels no file can hold
    # and lose that when saved (1000 plain steps at 512 px: 1.95e5 before the clip, 3.18e5 after).
    keep_range: KeepRange = knob(
        "clamp",
        "How pixels are kept in 0–1 during the run: clamp after each step, a soft penalty, or none.",
    )
    preset: PresetName = knob(
        "none", "Named settings (draft, balanced, quality, photo); flags given with it override its values."
    )
    # --- photorealism and alternative style losses: issue #13 ---
    style_loss: StyleLossKind = knob(
        "gram",
        "Style statistic: gram (Gatys), mean_std (AdaIN), mean_cov (Wasserstein-2 between Gaussians), "
        "histogram (Risser et al.) or mrf (Li & Wand nearest patches; slow at shallow layers).",
    )
    photorealistic: bool = knob(
        False,
        "Photorealism (Luan et al. 2017): penalise any output that is not a locally affine colour "
        "transform of the photo, so lines stay straight and edges sharp (needs painterly[photo]).",
    )
    # 3e7: the lowest of 1e6…1e8 that kept ≥ 1.5× plain Gatys's gradient SSIM without any
    # smoothing on all three pairs of bench/photoreal.py (192 px, balanced's schedule; at 1e8
    # the astronaut's colour fell behind plain). The term's raw value on a plain result is ~0.07.
    photo_weight: float = knob(
        PHOTO_WEIGHT_DEFAULT, "Weight of the photorealism (matting Laplacian) loss with --photorealistic."
    )
    smooth: SmoothKind = knob(
        "none",
        "Post-smoothing guided by the photo (Li et al. 2018): guided (guided filter, fast) or "
        "matting (closed-form sparse solve); needs painterly[photo].",
    )
    # --- style library: issue #10 ---
    style_group: StyleGroup = knob(
        DEFAULT_STYLE_GROUP,
        "How artist:NAME and movement:NAME become a style: blend (the Gram matrices of up to 12 of "
        "their works, averaged) or representative (the one work closest in style to the rest).",
    )
    cache: bool = knob(
        True,
        "Keep each painting's Gram targets in the user cache folder, so a repeat with the same "
        "painting, size, layers and network skips its VGG19 pass (--no-cache: neither read nor write).",
    )
    # --- feature network and the weights a user brings: issue #14 ---
    backbone: BackboneName = knob(
        "vgg19",
        "Feature network. Only VGG19 ships; the others need their weights file (`painterly models`). "
        "Left at their defaults, the layers follow the backbone (AlexNet: content conv4, style conv1..conv5).",
    )
    weights_file: str = knob(
        "",
        "The backbone's weights: an installed model's name or a file known by its checksum "
        "(default: the installed one; VGG19: the one that ships).",
    )
    # --- portrait mode: issue #9 (masks and weight maps from painterly.portrait) ---
    portrait: bool = knob(
        False,
        "Portrait mode: find the person and the faces, keep the face's features where they are "
        "(a content weight high on eyes, nose and mouth) and let the strokes cover the rest.",
        group="portrait",
    )
    face_strength: float = knob(
        0.5, "Portrait: how strongly the face is kept, 0 (like a plain run) to 1.", group="portrait"
    )
    person_style: str = knob("", "Portrait: a painting for the person only.", group="portrait")
    background_style: str = knob("", "Portrait: a painting for the background only.", group="portrait")
    background_strength: float = knob(
        1.0,
        "Portrait: style weight on the background relative to the person (0 keeps it a photo).",
        group="portrait",
    )
    keep_skin: bool = knob(
        False, "Portrait: keep the photo's colours on the face and skin.", group="portrait"
    )
    mask_person: str = knob(
        "", "Portrait: your own person mask (white = person) instead of the detected one.", group="portrait"
    )
    # --- speed: issue #16 ---
    threads: int = knob(
        0,
        "CPU threads for torch during the run (0: torch's own setting: all cores, or OMP_NUM_THREADS). "
        "The command line lets idle OpenMP threads sleep, so all cores stay safe on a busy machine.",
    )
    # --- picture quality: issue #17 ---
    # Zero padding (VGG's own) shows every conv a dark line beyond the edge; the optimiser
    # paints a dark frame and checkerboard corners against it (quality preset, 128 px).
    padding: Padding = knob(
        "reflect",
        "How VGG's convolutions see beyond the image edge: reflect (no dark frame), replicate, "
        "zeros (the original network's, which darkens a band inside the edges), or circular "
        "(an experiment: the canvas wraps round, so no position is an edge; with --canvas exact "
        "the picture's opposite edges meet).",
    )
    # A painting's Grams taken over its whole canvas carry what the convolutions see at its
    # edges, and the optimiser paints that along the picture's edges (painterly.style_edges).
    style_edges: StyleEdges = knob(
        "whole",
        "Which of the painting enters its style: whole (every position, the paper's) or "
        "interior (reflected past its edges and the features along them left out, so the "
        "painting's own edges are not painted along the picture's; some edges come out lighter); "
        "both (an experiment): interior, and the picture's own Grams without its canvas's margin "
        "(each position weighted by its share of the picture; with some paintings it paints a "
        "bright stripe along an edge).",
    )
    # --- high resolution within memory: issue #12 ---
    tile: int = knob(
        0,
        "Optimise the scales larger than this many px in overlapping tiles (feathered seams, the "
        "whole picture's style targets), so print sizes fit in memory. 0: automatic, only when "
        "the estimate exceeds --max-memory.",
    )
    max_memory: float = knob(
        0.0,
        "Memory budget in GiB: larger runs are tiled automatically, and a run that would not fit "
        "even in tiles is refused up front. 0: 60 % of the machine's RAM.",
    )
    # --- picture quality, the mesh: issue #17 ---
    # L-BFGS on raw pixels starts along VGG's pixel gradient, which is mostly 1-2 px detail,
    # and leaves a fine mesh on flat areas; optimising a pyramid of levels (painterly.pyramid)
    # halves it at 128 px where TV only blurred, but paints less at 256 px (see PYRAMID_DEFAULT).
    pyramid_levels: int = knob(
        PYRAMID_DEFAULT,
        "L-BFGS optimises the picture as this many pyramid levels (full size, 1/2, 1/4, ...) "
        "summed, so strokes grow from coarse levels instead of pixel noise: 4 leaves about half "
        "the fine mesh on flat areas (smoother skies and walls) at 128 px, but converges slower, "
        "so at 256 px and up the same steps paint less strongly. 1: plain pixels (the paper's; "
        "default). "
        "Adam always optimises plain pixels.",
    )
    # --- issue #17: the border band (painterly.canvas) ---
    canvas: CanvasKind = knob(
        "grid",
        "What the picture is painted on: grid grows it by the photo's reflection to a multiple of the "
        "network's pooling grid (16 px for VGG) and cuts that off at the end, so the last rows and "
        "columns are painted like the middle (VGG's pooling drops the last row of an odd-sized map: "
        "a thin dark line along the bottom at 512x341), with --edge-margin px around it; exact "
        "paints at the picture's own size (no margin).",
    )
    calm_weight: float = knob(
        CALM_DEFAULT,
        "Keeps the photo's flat areas (sky, walls, skin) free of the optimiser's 1-2 px mesh: "
        "penalises detail finer than ~2 px, in proportion to how flat the photo is there, so "
        "strokes keep their shape and textured parts keep their detail. 0 turns it off; "
        "higher is calmer and softer.",
    )
    edge_margin: int = knob(
        EDGE_MARGIN_DEFAULT,
        "With --canvas grid: pixels of the photo's reflection around the picture while it is "
        "painted (before rounding up to the grid; the right side keeps at least 16), cut off at the "
        "end, so the picture's edges are painted like its middle (without it, some paintings leave "
        "an edge a few per cent brighter or darker). 0: the grid alone, a little faster. Not used "
        "with --pyramid-levels above 1.",
    )

    def __post_init__(self) -> None:
        self._check_types()
        if not SEED_MIN <= self.seed <= SEED_MAX:  # issue #15: torch takes 64-bit seeds only
            raise ConfigError(f"seed must fit in 64 bits ({SEED_MIN}..{SEED_MAX}), got {self.seed}")
        self._follow_backbone_defaults()
        for name in ("content_layers", "style_layers"):
            layers = getattr(self, name)
            if name == "content_layers" and not layers:
                raise ConfigError("content_layers: give at least one layer")
            for layer in layers:
                try:
                    check_backbone_tap(layer, self.backbone)
                except ValueError as exc:
                    raise ConfigError(f"{name}: {exc}") from None
            if len(set(layers)) != len(layers):
                raise ConfigError(f"{name}: a layer is listed twice")
        _check_weights("content_layer_weights", self.content_layer_weights, self.content_layers)
        _check_weights("style_layer_weights", self.style_layer_weights, self.style_layers)
        for name in ("content_weight", "style_weight", "tv_weight", "style_scale"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ConfigError(f"{name} must be a finite number ≥ 0, got {value}")
        if self.style_scale <= 0 or self.style_scale > 4:
            raise ConfigError(f"style_scale must be in (0, 4], got {self.style_scale}")
        if self.learning_rate is not None and not (
            math.isfinite(self.learning_rate) and self.learning_rate > 0
        ):
            raise ConfigError(f"learning_rate must be > 0, got {self.learning_rate}")
        if not 0 <= self.iterations <= 1_000_000:
            raise ConfigError(f"iterations must be between 0 and 1000000, got {self.iterations}")
        if not MIN_SIZE <= self.size <= MAX_SIZE:
            raise ConfigError(f"size must be between {MIN_SIZE} and {MAX_SIZE} px, got {self.size}")
        deepest = max(tap_min_size(t, self.backbone) for t in self.content_layers + self.style_layers)
        if self.size < deepest:
            raise ConfigError(
                f"size {self.size} px is too small for the deepest layer (needs at least {deepest} px)"
            )
        if any(not math.isfinite(w) or w < 0 for w in self.style_blend_weights) or (
            self.style_blend_weights and sum(self.style_blend_weights) <= 0
        ):
            raise ConfigError("style_blend_weights must be ≥ 0 with a positive sum")
        if not self.spike_factor > 1:  # inf turns the spike check off (NaN is always caught)
            raise ConfigError(f"spike_factor must be > 1, got {self.spike_factor}")
        if self.max_restarts < 0:
            raise ConfigError("max_restarts must be ≥ 0")
        if self.preview_every < 0:
            raise ConfigError("preview_every must be ≥ 0")
        if not (math.isfinite(self.calm_weight) and self.calm_weight >= 0):  # issue #17
            raise ConfigError(f"calm_weight must be a finite number ≥ 0, got {self.calm_weight}")
        if not 0 <= self.edge_margin <= 256:  # issue #17
            raise ConfigError(f"edge_margin must be between 0 and 256 px, got {self.edge_margin}")
        if self.tile and not 256 <= self.tile <= MAX_SIZE:  # issue #12 (tiling.MIN_TILE)
            raise ConfigError(f"tile must be 0 (automatic) or between 256 and {MAX_SIZE} px, got {self.tile}")
        if not (math.isfinite(self.max_memory) and self.max_memory >= 0):  # issue #12
            raise ConfigError(f"max_memory must be a finite number of GiB ≥ 0, got {self.max_memory}")
        if not 1 <= self.pyramid_levels <= 8:  # issue #17
            raise ConfigError(f"pyramid_levels must be 1..8 (1: plain pixels), got {self.pyramid_levels}")
        parse_activation(self.activation)
        self._check_perceptual()
        check_portrait(self)
        self._check_photoreal()
        perceptual = (
            "preserve_colors",
            "line_search",
            "keep_range",
            "preset",
            "backbone",
            "padding",
            "style_edges",
        )
        check_device_name(self.device)  # issue #18
        for name in ("loss", "pooling", "optimizer", "precision", "canvas", *perceptual):
            choices = literal_choices(name)
            if getattr(self, name) not in choices:
                raise ConfigError(f"{name} must be one of {', '.join(choices)}")
        if not self.init:
            raise ConfigError("init must be content, noise, style, fast, recolor or an image path")
        if self.style_group not in literal_choices("style_group"):  # issue #10
            raise ConfigError(f"style_group must be one of {', '.join(literal_choices('style_group'))}")
        if not 0 <= self.threads <= 1024:
            raise ConfigError(f"threads must be between 0 and 1024, got {self.threads}")

    def _follow_backbone_defaults(self) -> None:
        """Layers left at another backbone's defaults become this backbone's (issue #14), so
        ``backbone="alexnet"`` alone is a valid config and a replace() back to VGG works too.
        Layers the user chose are never changed."""
        if self.backbone not in BACKBONES:
            raise ConfigError(f"backbone must be one of {', '.join(BACKBONES)}")
        own_content, own_style = DEFAULT_LAYERS[self.backbone]
        for other, (content, style) in DEFAULT_LAYERS.items():
            if other == self.backbone:
                continue
            if self.content_layers == content and content != own_content:
                object.__setattr__(self, "content_layers", own_content)
            if self.style_layers == style and style != own_style:
                object.__setattr__(self, "style_layers", own_style)

    def _check_perceptual(self) -> None:
        if not math.isfinite(self.color_weight) or self.color_weight < 0:
            raise ConfigError(f"color_weight must be a finite number ≥ 0, got {self.color_weight}")
        for s in self.scales:
            if not MIN_SIZE <= s <= self.size:
                raise ConfigError(f"scales: {s} px is outside {MIN_SIZE}..size ({self.size} px)")
        if any(n < 0 for n in self.scale_iterations):
            raise ConfigError("scale_iterations must be ≥ 0")
        count = len(self.scale_sizes())
        if self.scale_iterations and len(self.scale_iterations) != count:
            raise ConfigError(
                f"scale_iterations has {len(self.scale_iterations)} values for {count} scales "
                f"({','.join(map(str, self.scale_sizes()))})"
            )
        if self.style_size is not None and not MIN_SIZE <= self.style_size <= MAX_SIZE:
            raise ConfigError(f"style_size must be between {MIN_SIZE} and {MAX_SIZE} px")
        if self.line_search != "none" and self.optimizer != "lbfgs":
            raise ConfigError("line_search needs optimizer lbfgs")
        for spec in self.masks:
            if ":" not in spec:
                raise ConfigError(f"mask {spec!r}: expected CONTENT_MASK:STYLE[:WEIGHT]")

    def _check_photoreal(self) -> None:
        if not math.isfinite(self.photo_weight) or self.photo_weight < 0:
            raise ConfigError(f"photo_weight must be a finite number ≥ 0, got {self.photo_weight}")
        for name in ("style_loss", "smooth"):
            if getattr(self, name) not in literal_choices(name):
                raise ConfigError(f"{name} must be one of {', '.join(literal_choices(name))}")
        if self.masks and self.style_loss != "gram":
            raise ConfigError("masks (regions) need style_loss gram: the guided statistics are Gram matrices")

    def scale_sizes(self) -> tuple[int, ...]:
        """Longest side at each scale, coarse to fine; the last is always ``size``."""
        if self.scales:
            return (*sorted(s for s in set(self.scales) if s < self.size), self.size)
        if not self.multiscale:
            return (self.size,)
        sizes: list[int] = []
        s = float(MULTISCALE_START)
        while s * 1.2 < self.size:  # skip a last step of less than 20 %
            sizes.append(round(s))
            s *= MULTISCALE_FACTOR
        return (*sizes, self.size)

    def steps_per_scale(self) -> tuple[int, ...]:
        """Optimiser steps at each scale of :meth:`scale_sizes`."""
        return self.scale_iterations or (self.iterations,) * len(self.scale_sizes())

    def total_steps(self) -> int:
        """Optimiser steps over all scales: what a progress bar counts to."""
        return sum(self.steps_per_scale())

    @property
    def lr(self) -> float:
        """The learning rate in force: the given one or the optimiser's default."""
        return self.learning_rate or DEFAULT_LEARNING_RATES[self.optimizer]


def _check_weights(name: str, weights: tuple[float, ...], layers: tuple[str, ...]) -> None:
    if not weights:
        return
    if len(weights) != len(layers):
        raise ConfigError(f"{name}: {len(weights)} weights for {len(layers)} layers")
    if any(not math.isfinite(w) or w < 0 for w in weights):
        raise ConfigError(f"{name}: weights must be finite and ≥ 0")


# --- issue #15: construction-time type checks and the seed range ---
#: The seeds torch.manual_seed takes.
SEED_MIN, SEED_MAX = -(2**63), 2**64 - 1


@functools.cache
def _field_hints(cls: type) -> dict[str, Any]:
    return {f.name: typing.get_type_hints(cls)[f.name] for f in dataclasses.fields(cls)}


def _type_ok(value: Any, hint: Any) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, a) for a in args)
    if hint is type(None):
        return value is None
    if origin is Literal:
        return True  # the choices are checked (and named) by __post_init__
    if origin is tuple:
        return isinstance(value, tuple) and all(_type_ok(v, args[0]) for v in value)
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, hint) if isinstance(hint, type) else True


def _type_words(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_words(a) for a in args)
    if hint is type(None):
        return "nothing"
    if origin is Literal:
        return "one of " + ", ".join(map(str, args))
    if origin is tuple:
        return f"a list of {_type_words(args[0]).removeprefix('a ')}s"
    words = {bool: "true or false", int: "a whole number", float: "a number", str: "a text"}
    return words.get(hint, getattr(hint, "__name__", str(hint)))


def literal_choices(name: str, cls: type = TransferConfig) -> tuple[str, ...]:
    """The allowed values of a Literal-typed field, or () if it is not one."""
    hint = typing.get_type_hints(cls)[name]
    return tuple(typing.get_args(hint)) if typing.get_origin(hint) is Literal else ()


def config_from_dict(cls: type, data: dict[str, Any], where: str = "") -> Any:
    """Build any config dataclass from a plain dict (a manifest's, a form's), through the one
    validation layer (:mod:`painterly.schema`): a bad value is a ConfigError naming the field,
    prefixed by ``where`` (e.g. ``"config."``)."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names) if isinstance(data, dict) else []
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(where + u for u in unknown)}")
    from painterly.schema import check_settings

    values = check_settings(cls, data, where)
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(str(exc)) from None
    except ConfigError as exc:
        if where and not str(exc).startswith(where):
            raise ConfigError(f"{where}{exc}") from None
        raise


def normalised(weights: tuple[float, ...], count: int) -> list[float]:
    """Weights summing to 1; equal weights where none are given."""
    if not weights:
        return [1.0 / count] * count if count else []
    total = sum(weights)
    return [w / total for w in weights] if total > 0 else [0.0] * count


@dataclass(frozen=True)
class FastConfig(ConfigBase):
    """Settings of fast mode: Magenta's arbitrary-style networks (Ghiasi et al. 2017)."""

    size: int = knob(1024, "Longest side of the output; a smaller photo keeps its own size.", flag="-s")
    # issue #16: "auto" (the default) keeps the stroke size in proportion to the picture.
    style_scale: float | Literal["auto"] = knob(
        "auto",
        "Brush size: auto paints at the network's natural 384 px and carries the result to full "
        "size with the photo's fine detail (guided upsampling), so strokes grow with the picture; "
        "a number paints at that fraction of the output size instead (smaller: bigger strokes).",
    )
    strength: float = knob(
        1.0,
        "How much of the painting's style: 0 gives the photo's own style, 1 the painting's "
        "(interpolates the two style vectors).",
    )
    style_weights: tuple[float, ...] = knob(
        (), "With several paintings: the share of each, same order (default: equal)."
    )
    preserve_colors: PreserveColors = knob(
        "none",
        "Keep the photo's colours: luminance paints only the brightness and keeps the photo's "
        "chroma; histogram first moves the painting's colours to the photo's.",
    )
    threads: int = knob(0, "CPU threads for onnxruntime (0: all cores).")
    # --- style library: issue #10 ---
    style_group: StyleGroup = knob(
        DEFAULT_STYLE_GROUP,
        "How artist:NAME and movement:NAME become a style: blend (their style vectors averaged) "
        "or representative (the one work closest in style to the rest).",
    )
    # --- portrait mode: issue #9 ---
    portrait: bool = knob(
        False,
        "Portrait mode: find the person and the faces; the face gets a lighter stylisation so it "
        "stays recognisable.",
        group="portrait",
    )
    face_strength: float = knob(0.5, "Portrait: how strongly the face is kept, 0 to 1.", group="portrait")
    person_style: str = knob("", "Portrait: a painting for the person only.", group="portrait")
    background_style: str = knob("", "Portrait: a painting for the background only.", group="portrait")
    background_strength: float = knob(
        1.0, "Portrait: style strength on the background (0 keeps it a photo, up to 1).", group="portrait"
    )
    keep_skin: bool = knob(
        False, "Portrait: keep the photo's colours on the face and skin.", group="portrait"
    )
    mask_person: str = knob(
        "", "Portrait: your own person mask (white = person) instead of the detected one.", group="portrait"
    )

    def __post_init__(self) -> None:
        self._check_types()
        if not MIN_SIZE <= self.size <= MAX_SIZE:
            raise ConfigError(f"size must be between {MIN_SIZE} and {MAX_SIZE} px, got {self.size}")
        if self.style_scale != "auto" and not (
            isinstance(self.style_scale, (int, float))
            and not isinstance(self.style_scale, bool)
            and math.isfinite(self.style_scale)
            and 0 < self.style_scale <= 4
        ):
            raise ConfigError(f"style_scale must be auto or a number in (0, 4], got {self.style_scale!r}")
        if not (math.isfinite(self.strength) and 0 <= self.strength <= 1):
            raise ConfigError(f"strength must be between 0 and 1, got {self.strength}")
        if any(not math.isfinite(w) or w < 0 for w in self.style_weights) or (
            self.style_weights and sum(self.style_weights) <= 0
        ):
            raise ConfigError("style_weights must be ≥ 0 with a positive sum")
        if self.preserve_colors not in literal_choices("preserve_colors", FastConfig):
            raise ConfigError(
                f"preserve_colors must be one of {', '.join(literal_choices('preserve_colors', FastConfig))}"
            )
        if not 0 <= self.threads <= 1024:
            raise ConfigError(f"threads must be between 0 and 1024, got {self.threads}")
        if self.style_group not in literal_choices("style_group", FastConfig):  # issue #10
            raise ConfigError("style_group must be blend or representative")
        check_portrait(self)
        if self.background_strength > 1:
            raise ConfigError(
                f"background_strength must be between 0 and 1 in fast mode, got {self.background_strength}"
            )


def check_portrait(config: Any) -> None:
    """Validate the portrait fields (issue #9) shared by TransferConfig and FastConfig."""
    if not (math.isfinite(config.face_strength) and 0 <= config.face_strength <= 1):
        raise ConfigError(f"face_strength must be between 0 and 1, got {config.face_strength}")
    if not (math.isfinite(config.background_strength) and 0 <= config.background_strength <= 100):
        raise ConfigError(f"background_strength must be between 0 and 100, got {config.background_strength}")
    uses = [n for n in ("person_style", "background_style", "mask_person") if getattr(config, n)]
    uses += ["keep_skin"] if config.keep_skin else []
    uses += ["face_strength"] if config.face_strength != 0.5 else []
    uses += ["background_strength"] if config.background_strength != 1.0 else []
    if uses and not config.portrait:
        raise ConfigError(f"{', '.join(uses)}: portrait settings need portrait mode (--portrait)")


# --- issue #11: video ------------------------------------------------------------------------------
VideoMode = Literal["fast", "optimise"]


@dataclass(frozen=True)
class VideoConfig(ConfigBase):
    """Settings of video style transfer: which engine paints each frame, how strongly each
    frame is tied to the previous output (optical flow), and which part of the clip."""

    mode: VideoMode = knob(
        "fast",
        "fast: the feed-forward network per frame, blended with the previous output moved by the "
        "optical flow; optimise: the Gatys engine per frame started from the previous output moved "
        "by the flow, with a temporal loss (Ruder et al. 2016).",
    )
    # 0.5 measured on an idle machine after fast mode's float-activation fix (bench/video.py, 640×360):
    # fast 2.3× less flicker at +9 % style loss (0.7: 3.8× but +37 %); optimise 2.2× at −14 %.
    temporal_weight: float = knob(
        0.5,
        "How strongly each frame follows the previous output where the flow is reliable: 0 paints "
        "every frame on its own (flickers), 1 holds the strokes fully (fast mode blends this share "
        "of the moved previous output; optimise mode scales the temporal loss by it).",
    )
    size: int = knob(640, "Longest side of the painted frames (a smaller clip keeps its size).", flag="-s")
    start: float = knob(0.0, "Start this many seconds into the clip.")
    duration: float = knob(0.0, "Paint only this many seconds (0: to the end).")
    every: int = knob(1, "Paint only every Nth frame (a quick preview; the output plays at fps/N).")
    fps: float = knob(0.0, "Frame rate of a folder of frames (0: 25), or to force on a clip (0: its own).")
    iterations: int = knob(
        150,
        "Optimise mode: optimiser steps on the first frame (and on every frame when temporal_weight is 0).",
    )
    later_iterations: int = knob(
        75,
        "Optimise mode: steps on each later frame, which starts from the moved previous output "
        "(half the first frame's kept the style within 10 % and halved the flicker, measured).",
    )
    style_weight: float = knob(1e2, "Optimise mode: β, the style weight.")
    seed: int = knob(0, "Optimise mode: random seed.")
    threads: int = knob(0, "CPU threads for the fast network and the flow (0: all cores).")
    style_scale: float = knob(
        1.0,
        "Fast mode brush size: the network paints at this fraction of the frame size (smaller: "
        "bigger strokes and faster; 0.75 paints 640×360 in about 60 % of the time).",
    )

    def __post_init__(self) -> None:
        if not (math.isfinite(self.style_scale) and 0 < self.style_scale <= 4):
            raise ConfigError(f"style_scale must be in (0, 4], got {self.style_scale}")
        if self.mode not in literal_choices("mode", VideoConfig):
            raise ConfigError(f"mode must be one of {', '.join(literal_choices('mode', VideoConfig))}")
        if not (math.isfinite(self.temporal_weight) and 0 <= self.temporal_weight <= 1):
            raise ConfigError(f"temporal_weight must be between 0 and 1, got {self.temporal_weight}")
        if not MIN_SIZE <= self.size <= MAX_SIZE:
            raise ConfigError(f"size must be between {MIN_SIZE} and {MAX_SIZE} px, got {self.size}")
        for name in ("start", "duration", "fps", "style_weight"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ConfigError(f"{name} must be a finite number ≥ 0, got {value}")
        if self.fps > 1000:
            raise ConfigError(f"fps must be at most 1000, got {self.fps}")
        if not 1 <= self.every <= 10_000:
            raise ConfigError(f"every must be between 1 and 10000, got {self.every}")
        for name in ("iterations", "later_iterations"):
            if not 0 <= getattr(self, name) <= 100_000:
                raise ConfigError(f"{name} must be between 0 and 100000, got {getattr(self, name)}")
        if not 0 <= self.threads <= 1024:
            raise ConfigError(f"threads must be between 0 and 1024, got {self.threads}")


# --- issue #18: device names ------------------------------------------------------------


def check_device_name(name: str) -> str:
    """``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps`` (ConfigError otherwise); whether the
    device exists is checked where it is opened (painterly.devices.resolve_device)."""
    if name in DEVICE_WORDS:
        return name
    kind, sep, index = name.partition(":")
    if kind == "cuda" and sep and index.isdigit() and index == str(int(index)):
        return name
    raise ConfigError(f"device {name!r}: use auto, cpu, cuda, cuda:N (N = 0, 1, ...) or mps")
