"""Which file is the photo and which are the paintings (issue #18).

The positional form ``PHOTO PAINTING [PAINTING ...]`` is short, but a shell glob turns
``painterly fast photos/*.jpg scream.jpg`` into one photo and several *photos* used as
paintings, and that used to exit 0 with a blend of holiday snaps. So ``--photo`` and a
repeatable ``--style`` say it explicitly, and the positional form is checked: several
paintings from the photo's own folder are refused (exit 2, one line), one is warned about.
Paintings given with ``--style`` are trusted as they are.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from painterly.errors import ConfigError

#: A library name (``artist:van_gogh``, ``movement:cubism``) is not a file in any folder.
LIBRARY_PREFIXES = ("artist:", "movement:")


def add_arguments(parser: argparse.ArgumentParser, photo_help: str = "the photo") -> None:
    """``--photo`` and repeatable ``--style`` beside the command's positional images."""
    parser.add_argument(
        "--photo",
        metavar="PHOTO",
        help=f"{photo_help}; every positional image is then a painting",
    )
    parser.add_argument(
        "--style",
        action="append",
        default=[],
        dest="style_options",
        metavar="PAINTING",
        help="a painting (file or library name); repeat for several. Unlike the positional form, "
        "never checked for being a photo",
    )


def split_inputs(
    args: argparse.Namespace, positional: list[str], *, folder_ok: bool = False
) -> tuple[str | None, list[str]]:
    """(photo, paintings) from ``--photo``, ``--style`` and the positional images; refuses
    several positional paintings from the photo's own folder (a shell glob, most likely)."""
    photo = getattr(args, "photo", None)
    rest = list(positional)
    if photo is None and rest:
        photo = rest.pop(0)
    check_ambiguous(photo, rest, folder_ok=folder_ok)
    return photo, [*rest, *getattr(args, "style_options", [])]


def check_ambiguous(photo: str | None, paintings: list[str], *, folder_ok: bool = False) -> None:
    """Refuse (ConfigError) what looks like a shell glob: two or more positional paintings from
    the photo's folder that, with the photo, are every file of their kind there, in the sorted
    order a glob gives. Other paintings beside the photo, among several, get a warning."""
    if photo is None or not paintings:
        return
    home = Path(photo)
    home_dir = home.resolve() if folder_ok and home.is_dir() else home.resolve().parent
    beside = [p for p in paintings if _is_file(p) and Path(p).resolve().parent == home_dir]
    if len(beside) >= 2 and _looks_globbed(home, beside):
        names = ", ".join(Path(p).name for p in beside[:3]) + (", ..." if len(beside) > 3 else "")
        raise ConfigError(
            f"{len(beside)} of the paintings ({names}) sit in the photo's folder {home_dir}: a shell "
            "glob? Give paintings with --style (and the photo with --photo), or paint many photos "
            "with `painterly batch`"
        )
    if beside and len(paintings) >= 2:
        print(
            f"painterly: warning: {len(beside)} painting(s) ({', '.join(Path(p).name for p in beside[:3])}) "
            "sit in the photo's folder; if any is a photo, give the paintings with --style",
            file=sys.stderr,
        )


def _looks_globbed(photo: Path, beside: list[str]) -> bool:
    """Photo and paintings are all the folder's files with their suffix, in sorted order."""
    given = [photo.resolve(), *(Path(p).resolve() for p in beside)]
    if photo.is_dir() or given != sorted(given):
        return False
    suffixes = {p.suffix.lower() for p in given}
    folder = given[0].parent
    try:
        present = {p.resolve() for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes}
    except OSError:
        return False
    return present == set(given)


def _is_file(name: str) -> bool:
    return not name.lower().startswith(LIBRARY_PREFIXES) and Path(name).is_file()
