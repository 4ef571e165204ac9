"""What `painterly run --portrait` and `painterly fast --portrait` share on the command
line: early checks of the portrait inputs, warnings on stderr, and --show-masks files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from painterly.events import Notice
from painterly.images import save_image

if TYPE_CHECKING:
    from PIL import Image

    from painterly.portrait import PortraitMaps


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--show-masks (the other portrait flags come from the config fields)."""
    parser.add_argument(
        "--show-masks",
        action="store_true",
        help="portrait: also write OUT.masks.png (what was found, over the photo), OUT.person.png "
        "and OUT.face.png (the person mask and the face weight map)",
    )


def check_inputs(config: Any) -> None:
    """Fail before any long work: the runtime is there, the portrait files can be read."""
    from painterly.runner import check_portrait_inputs

    check_portrait_inputs(config)


def warn(notice: Notice) -> None:
    """A portrait notice as one line on stderr."""
    print(f"painterly: {notice.level}: {notice.message}", file=sys.stderr)


def mask_paths(output: Path) -> dict[str, Path]:
    """Where --show-masks writes, beside OUT."""
    stem = output.stem
    return {k: output.with_name(f"{stem}.{k}.png") for k in ("masks", "person", "face")}


def write_masks(output: Path, photo: Image.Image, maps: PortraitMaps) -> list[Path]:
    """Write the overlay, the person mask and the face map beside OUT (after the picture)."""
    from painterly.portrait import mask_overlay
    from painterly.portrait.maps import to_grey

    paths = mask_paths(output)
    save_image(mask_overlay(photo, maps), paths["masks"])
    save_image(to_grey(maps.person).convert("RGB"), paths["person"])
    save_image(to_grey(maps.face).convert("RGB"), paths["face"])
    return list(paths.values())
