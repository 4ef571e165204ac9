"""`painterly reconstruct`: Gatys Fig. 1, the picture rebuilt from single layers."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from painterly.cli import EXIT_INTERRUPTED, EXIT_OK, estimate
from painterly.cli.options import add_config_arguments, build_config, config_values
from painterly.cli.progress import ProgressBar
from painterly.cli.signals import PRELOAD_TORCH
from painterly.config import TransferConfig
from painterly.errors import InputError, OutputError
from painterly.events import Progress
from painterly.images import check_output_path, fit_size, open_image, resize, save_image
from painterly.records import build_manifest, file_sha256, read_manifest, write_manifest

if TYPE_CHECKING:
    from painterly.lab.reconstruct import Reconstruction

#: Smaller than `run`'s defaults: the figure is ten runs.
DEFAULTS = {"size": 192, "iterations": 200}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reconstruct",
        help="rebuild a picture from single VGG19 layers (Gatys et al. Fig. 1)",
        description=(
            "From noise, rebuild IMAGE from the content features of conv1_2, conv2_2, conv3_2, "
            "conv4_2 and conv5_2 alone, and from the Gram matrices of conv1_1, +conv2_1, ... "
            "+conv5_1. Writes DIR/figure.png (labelled), each reconstruction as DIR/<kind>_<layers>.png "
            f"and DIR/reconstruct.json. Defaults here: --size {DEFAULTS['size']} "
            f"--iterations {DEFAULTS['iterations']} (ten runs)."
        ),
    )
    parser.add_argument("image", metavar="IMAGE", help="the picture to rebuild")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the figure")
    parser.add_argument("--rerun", action="store_true", help="redo reconstructions DIR already holds")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_config_arguments(parser, TransferConfig, title="settings (layer choices are set by the figure)")
    parser.set_defaults(handler=handle, preload=PRELOAD_TORCH)


def earlier_results(out: Path, image: str, base: TransferConfig) -> dict[str, Reconstruction]:
    """Reconstructions a finished earlier run left in ``out`` with the same image and settings."""
    from painterly.lab.reconstruct import Reconstruction, reconstruction_configs, reconstruction_name

    try:
        manifest = read_manifest(out / "reconstruct.json")
    except InputError:
        return {}
    same_image = manifest["inputs"].get("image", {}).get("sha256") == file_sha256(image)
    if manifest.get("status") != "finished" or manifest["config"] != base.to_dict() or not same_image:
        return {}
    found: dict[str, Reconstruction] = {}
    for kind, layers, _ in reconstruction_configs(base):
        name = reconstruction_name(kind, layers)
        path = out / f"{name}.png"
        if name in manifest["final_losses"] and path.is_file():
            loss, seconds = manifest["final_losses"][name], manifest["timings"].get(name, 0.0)
            found[name] = Reconstruction(kind, layers, open_image(path), loss, seconds, "finished")
    return found


def handle(args: argparse.Namespace) -> int:
    # torch comes with the lab's engine: only when this command runs (issue #16)
    from painterly.lab.reconstruct import CONTENT_LAYERS, STYLE_LAYERS, reconstruct, reconstruction_figure

    base = build_config(TransferConfig, DEFAULTS, config_values(args, TransferConfig))
    original = open_image(args.image)
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot create the folder ({exc.strerror})") from None
    figure_path = check_output_path(out / "figure.png", overwrite=True, inputs=[args.image])
    count = len(CONTENT_LAYERS) + len(STYLE_LAYERS)
    reuse = {} if args.rerun else earlier_results(out, args.image, base)
    # issue #18: warn before an hour of CPU work (reconstructions reused from DIR not counted)
    aspect = min(original.size) / max(original.size)
    estimate.warn_if_long("reconstruct", [base] * (count - len(reuse)), aspect, "--size 128 --iterations 100")
    with ProgressBar(count * base.iterations, description="reconstruct", enabled=not args.quiet) as progress:

        def on_step(number: int, total: int, event: Progress) -> None:
            progress.bar.set_description(f"reconstruct {number}/{total}", refresh=False)
            progress.bar.update((number - 1) * base.iterations + event.step - progress.bar.n)

        results = reconstruct(original, base, on_step, reuse=reuse)
    for r in results:
        save_image(r.image, out / f"{r.name}.png")
    shown = resize(original, fit_size(*original.size, base.size))
    save_image(reconstruction_figure(shown, results), figure_path)
    write_manifest(
        out / "reconstruct.json",
        build_manifest(
            kind="reconstruct",
            config=base.to_dict(),
            inputs={"image": args.image},
            output=figure_path,
            status="finished" if len(results) == count else "interrupted",
            steps=base.iterations,
            device=base.device,
            timings={r.name: r.seconds for r in results},
            losses={r.name: r.loss for r in results},
        ),
    )
    print(f"wrote {figure_path} and {len(results)} reconstructions in {out}")
    return EXIT_OK if len(results) == count else EXIT_INTERRUPTED
