"""Photorealistic transfer against plain Gatys: structure kept and colour carried (issue #13).

For each photo pair (content photo with straight lines, style photo) it runs

  plain        Gatys with the defaults
  knobs        the research report's knobs: LeakyReLU 0.15, content conv5_4, colour loss
  photo        --photorealistic (Luan et al. 2017's matting-Laplacian loss)
  photo+guided --photorealistic --smooth guided
  photo+matting --photorealistic --smooth matting

and prints, per run:

  grad-SSIM  SSIM between the gradient magnitudes (Sobel, luminance) of photo and output:
             1 = every edge where it was, as strong; the structure measure of the target
  lines      straight-edge preservation: the fraction of the photo's straight segments'
             pixels (Canny + probabilistic Hough, 1 px wide) within 1 px of an edge of the
             output's Canny map
  colour     Hellinger distance between the 8×8×8 RGB histograms of output and style photo
             (0 = same palette, 1 = disjoint); the photo's own distance is the baseline
  s          wall-clock seconds of the run (Laplacian and smoothing included)

then the target check: photo's grad-SSIM ≥ 1.5 × plain's at a colour distance ≤ plain's.
``--time512`` also times a few steps of plain and photo at 512 px (interleaved) and
reports the time per 512 px picture at the bench's step count.

    PYTHONPATH=src .venv/bin/python bench/photoreal.py                  # 256 px, ~15 min on 2 loaded cores
    PYTHONPATH=src .venv/bin/python bench/photoreal.py --size 128 --steps 40   # a quick look
    ... --out docs/photoreal  writes each output and a contact sheet per pair
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from painterly.config import TransferConfig
from painterly.images import fit_size, load_image, pil_to_tensor, resize, tensor_to_pil
from painterly.photoreal import smooth
from painterly.transfer import stylize

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"
#: (content photo, style photo, what the style stands in for). No real city or sunset
#: photo with a clear licence ships in a package here: see examples/photos/SOURCES.md.
PAIRS = [
    ("photos/rocket.jpg", "photos/hubble_deep_field.jpg", "night"),
    ("photos/rocket.jpg", "content/coffee.jpg", "warm/sunset-like light"),
    ("content/astronaut.jpg", "content/chelsea.jpg", "warm indoor light"),
]


def runs(photo_weight: float) -> dict[str, dict]:
    return {
        "plain": {},
        "knobs": {"activation": "leaky_relu:0.15", "content_layers": ("conv5_4",), "color_weight": 1e8},
        "photo": {"photorealistic": True, "photo_weight": photo_weight},
        "photo+guided": {"photorealistic": True, "photo_weight": photo_weight, "smooth": "guided"},
        "photo+matting": {"photorealistic": True, "photo_weight": photo_weight, "smooth": "matting"},
    }


def grey(image: torch.Tensor) -> np.ndarray:
    """1×3×H×W in 0–1 → H×W luminance (Rec. 601)."""
    r, g, b = image[0].double().cpu().numpy()
    return 0.299 * r + 0.587 * g + 0.114 * b


def gradient_magnitude(lum: np.ndarray) -> np.ndarray:
    import cv2

    gx = cv2.Sobel(lum, cv2.CV_64F, 1, 0, ksize=3)
    gy = cv2.Sobel(lum, cv2.CV_64F, 0, 1, ksize=3)
    return np.hypot(gx, gy)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM (Gaussian window σ 1.5), with the constants set for the joint range of a and b."""
    import cv2

    rng = max(a.max(), b.max(), 1e-8)
    c1, c2 = (0.01 * rng) ** 2, (0.03 * rng) ** 2

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (11, 11), 1.5)

    ma, mb = blur(a), blur(b)
    va, vb, cov = blur(a * a) - ma**2, blur(b * b) - mb**2, blur(a * b) - ma * mb
    s = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
    return float(s.mean())


def gradient_ssim(photo: torch.Tensor, output: torch.Tensor) -> float:
    return ssim(gradient_magnitude(grey(photo)), gradient_magnitude(grey(output)))


def _edges(lum: np.ndarray) -> np.ndarray:
    import cv2

    u8 = (lum.clip(0, 1) * 255).astype(np.uint8)
    return cv2.Canny(u8, 60, 150)


def line_mask(photo: torch.Tensor) -> np.ndarray:
    """1-px mask of the photo's straight segments (at least 1/16 of the longest side)."""
    import cv2

    edges = _edges(grey(photo))
    h, w = edges.shape
    lines = cv2.HoughLinesP(edges, 1, np.pi / 180, 30, minLineLength=max(h, w) // 16, maxLineGap=2)
    mask = np.zeros_like(edges)
    for x1, y1, x2, y2 in [] if lines is None else lines.reshape(-1, 4):
        cv2.line(mask, (int(x1), int(y1)), (int(x2), int(y2)), 255, 1)
    return mask > 0


def line_preservation(lines: np.ndarray, output: torch.Tensor) -> float:
    import cv2

    edges = cv2.dilate(_edges(grey(output)), np.ones((3, 3), np.uint8)) > 0
    return float(edges[lines].mean()) if lines.any() else math.nan


def colour_distance(a: torch.Tensor, b: torch.Tensor, bins: int = 8) -> float:
    """Hellinger distance between the bins³ RGB histograms of two images."""

    def hist(x: torch.Tensor) -> np.ndarray:
        q = (x[0].clamp(0, 1) * (bins - 1e-6)).long().reshape(3, -1).cpu().numpy()
        idx = (q[0] * bins + q[1]) * bins + q[2]
        h = np.bincount(idx, minlength=bins**3).astype(np.float64)
        return h / h.sum()

    ha, hb = hist(a), hist(b)
    return float(np.sqrt(max(0.0, 1 - np.sqrt(ha * hb).sum())))


def tensor_of(path: Path, size: int) -> torch.Tensor:
    img = load_image(path)
    return pil_to_tensor(resize(img, fit_size(*img.size, size)), torch.device("cpu"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--photo-weight", type=float, default=TransferConfig().photo_weight)
    parser.add_argument("--runs", default=",".join(runs(0)), help="comma list of run names")
    parser.add_argument("--pairs", type=int, default=len(PAIRS), help="first N pairs")
    parser.add_argument("--pair", type=int, default=None, help="only pair number N (0-based)")
    parser.add_argument("--out", type=Path, default=None, help="write outputs and sheets here")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--time512", type=int, default=0, help="time N steps at 512 px (plain vs photo)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = args.runs.split(",")
    table: list[dict] = []
    chosen = PAIRS[: args.pairs] if args.pair is None else [PAIRS[args.pair]]
    for content_name, style_name, what in chosen:
        photo = tensor_of(EX / content_name, args.size)
        style = tensor_of(EX / style_name, args.size)
        lines = line_mask(photo)
        base = colour_distance(photo, style)
        print(f"\n{content_name} ← {style_name} ({what}); photo's own colour distance {base:.3f}")
        print(f"{'run':14} {'grad-SSIM':>9} {'lines':>6} {'colour':>7} {'s':>6}")
        outputs = {"content": photo, "style": style}
        seconds: dict[str, float] = {}
        for name in names:
            t0 = time.perf_counter()
            if name.startswith("photo+") and "photo" in outputs:
                # The smoothing is the last step of a run (transfer.stylize): apply it to the
                # photo run's result instead of running the same optimisation again.
                out = smooth(outputs["photo"], photo, name.split("+")[1])
                secs = seconds["photo"] + time.perf_counter() - t0
            else:
                cfg = TransferConfig(size=args.size, iterations=args.steps, **runs(args.photo_weight)[name])
                out = stylize(tensor_to_pil(photo), tensor_to_pil(style), cfg).tensor
                secs = time.perf_counter() - t0
            seconds[name] = secs
            outputs[name] = out
            row = {
                "pair": f"{content_name} <- {style_name}",
                "run": name,
                "grad_ssim": gradient_ssim(photo, out),
                "lines": line_preservation(lines, out),
                "colour": colour_distance(out, style),
                "colour_photo": base,
                "seconds": secs,
            }
            table.append(row)
            print(
                f"{name:14} {row['grad_ssim']:9.3f} {row['lines']:6.3f} {row['colour']:7.3f} {secs:6.1f}",
                flush=True,
            )
        if args.out:
            save_outputs(args.out, Path(content_name).stem + "__" + Path(style_name).stem, outputs)
    summarise(table)
    if args.json:
        args.json.write_text(json.dumps(table, indent=1))
    if args.time512:
        time_512(args.time512, args.steps, args.photo_weight)


def summarise(table: list[dict]) -> None:
    print("\nTarget: photo grad-SSIM ≥ 1.5 × plain at colour distance ≤ plain's")
    for pair in dict.fromkeys(r["pair"] for r in table):
        rows = {r["run"]: r for r in table if r["pair"] == pair}
        if "plain" not in rows:
            continue
        p = rows["plain"]
        for name in ("photo", "photo+guided", "photo+matting"):
            if name in rows:
                r = rows[name]
                ratio = r["grad_ssim"] / max(p["grad_ssim"], 1e-9)
                ok = ratio >= 1.5 and r["colour"] <= p["colour"] + 1e-9
                print(
                    f"{pair:55} {name:14} structure ×{ratio:4.2f}  colour {r['colour']:.3f} vs {p['colour']:.3f}"
                    f"  {'MET' if ok else 'not met'}"
                )


def save_outputs(out: Path, stem: str, outputs: dict[str, torch.Tensor]) -> None:
    from PIL import Image, ImageDraw

    out.mkdir(parents=True, exist_ok=True)
    tiles = []
    for name, t in outputs.items():
        img = tensor_to_pil(t)
        img.save(out / f"{stem}__{name}.png")
        tile = Image.new("RGB", (img.width, img.height + 18), "white")
        tile.paste(img, (0, 18))
        ImageDraw.Draw(tile).text((4, 3), name, fill="black")
        tiles.append(tile)
    sheet = Image.new("RGB", (sum(t.width for t in tiles), max(t.height for t in tiles)), "white")
    x = 0
    for t in tiles:
        sheet.paste(t, (x, 0))
        x += t.width
    sheet.save(out / f"{stem}.jpg", quality=88)


def time_512(steps: int, bench_steps: int, photo_weight: float) -> None:
    """Per-step time at 512 px, plain and photorealistic interleaved, plus the one-off costs."""
    from painterly.photoreal import guided_smooth, matting_laplacian, matting_smooth

    photo = tensor_of(EX / PAIRS[0][0], 512)
    style = tensor_of(EX / PAIRS[0][1], 512)
    per: dict[str, list[float]] = {"plain": [], "photo": []}
    for _ in range(2):
        for name, extra in (("plain", {}), ("photo", {"photorealistic": True, "photo_weight": photo_weight})):
            r = stylize(
                tensor_to_pil(photo),
                tensor_to_pil(style),
                TransferConfig(size=512, iterations=steps, **extra),
            )
            per[name].append(r.timings["per_step"])
    t0 = time.perf_counter()
    matting_laplacian(photo)
    lap = time.perf_counter() - t0
    t0 = time.perf_counter()
    guided_smooth(photo, photo)
    guided = time.perf_counter() - t0
    t0 = time.perf_counter()
    matting_smooth(photo, photo)
    matting = time.perf_counter() - t0
    plain, pr = min(per["plain"]), min(per["photo"])
    h, w = photo.shape[-2:]
    print(
        f"\n512 px ({w}×{h}), {steps} steps ×2 interleaved: plain {plain:.2f} s/step, photo {pr:.2f} s/step"
    )
    print(f"Laplacian {lap:.2f} s, guided smoothing {guided:.3f} s, matting smoothing {matting:.1f} s")
    print(
        f"per 512 px picture at {bench_steps} steps: plain {plain * bench_steps:.0f} s, photo "
        f"{pr * bench_steps + lap:.0f} s, +guided {pr * bench_steps + lap + guided:.0f} s, "
        f"+matting {pr * bench_steps + lap + matting:.0f} s"
    )


if __name__ == "__main__":
    main()
