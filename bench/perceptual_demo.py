"""Pictures of the perceptual controls (issue #3): colour, space, presets.

Writes docs/perceptual_controls.png: the photo, then the `draft` preset plain, with
--preserve-colors luminance, with --preserve-colors histogram, and with a mask (the
person in one painting, the background in another).

    .venv/bin/python bench/perceptual_demo.py [--size 256] [--preset draft]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from painterly import stylize
from painterly.images import load_tensor, tensor_to_pil
from painterly.presets import preset_config

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--preset", default="draft")
    parser.add_argument("--out", type=Path, default=ROOT / "docs/perceptual_controls.png")
    args = parser.parse_args()
    photo, starry, scream = (
        EX / "content/astronaut.jpg",
        EX / "styles/starry_night.jpg",
        EX / "styles/the_scream.jpg",
    )
    mask = f"{EX / 'masks/astronaut_person.png'}:{scream}"
    runs = {
        "plain": {},
        "--preserve-colors luminance": {"preserve_colors": "luminance"},
        "--preserve-colors histogram": {"preserve_colors": "histogram"},
        "--mask person:the_scream": {"masks": (mask,)},
    }
    panels = {"photo": load_tensor(photo, args.size)}
    for title, settings in runs.items():
        t0 = time.perf_counter()
        result = stylize(photo, starry, preset_config(args.preset, size=args.size, **settings))
        seconds = time.perf_counter() - t0
        print(
            f"{title}: {result.steps} steps, {seconds:.1f} s, loss {result.losses['total']:.4g}", flush=True
        )
        panels[f"{title} ({seconds:.0f} s)"] = result.tensor
    save_grid(args.out, panels, f"--preset {args.preset}, {args.size} px, style: starry_night")
    print(f"wrote {args.out}")
    return 0


def save_grid(path: Path, panels: dict, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(3 * len(panels), 3.3))
    for ax, (name, img) in zip(axes, panels.items()):
        ax.imshow(tensor_to_pil(img))
        ax.set_title(name, fontsize=8)
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
