"""`painterly styles`: the style library (list, show, sheet, import, remove).

No torch here: listing the library answers at once. Names given to the painting commands
(``artist:van_gogh``, ``movement:fauvism``, ids) are the ones this command lists.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from painterly.errors import ConfigError, InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "styles",
        help="the style library: paintings by artist and movement (list, show, sheet, import, remove)",
        description=(
            "The bundled public-domain paintings and your imported ones. Give any painting command "
            "a library name instead of a file: an id, artist:NAME or movement:NAME."
        ),
    )
    sub = parser.add_subparsers(dest="styles_command", metavar="ACTION")
    sub.required = True

    def filters(p: argparse.ArgumentParser) -> None:
        p.add_argument("text", nargs="?", help="only works whose id, title, artist or movement contains TEXT")
        p.add_argument("-m", "--movement", help="only this movement (e.g. fauvism)")
        p.add_argument("-a", "--artist", help="only this artist (e.g. van_gogh)")

    p = sub.add_parser("list", help="list the works (or --movements, --artists)")
    filters(p)
    p.add_argument("--movements", action="store_true", help="list the movements with their number of works")
    p.add_argument("--artists", action="store_true", help="list the artists with their number of works")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=handle_list)

    p = sub.add_parser("show", help="metadata of a work (and where its file is), or of an artist/movement")
    p.add_argument("name", help="an id, artist:NAME or movement:NAME")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=handle_show)

    p = sub.add_parser("sheet", help="a labelled contact sheet of the library (or a filter of it)")
    filters(p)
    p.add_argument("-o", "--output", required=True, help="the sheet (.png, .jpg, ...)")
    p.add_argument("--cell", type=int, default=160, help="thumbnail size in px [default: 160]")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.set_defaults(handler=handle_sheet)

    p = sub.add_parser(
        "import",
        help="import a dataset folder (Best Artworks layout, or any folder with a CSV)",
        description=(
            "Reads the 'Best Artworks of All Time' layout (artists.csv + images/<Artist_Name>/) or a "
            "folder with a CSV naming each work's file, artist and movement. Images are decoded "
            "before they are taken; bad rows and files are reported and skipped. Re-importing is "
            "idempotent."
        ),
    )
    p.add_argument("folder", help="the dataset folder")
    p.add_argument("--csv", help="the CSV of a plain folder (default: the folder's only CSV)")
    p.add_argument("--file-column", default="file", help="CSV column of the image file [default: file]")
    p.add_argument("--artist-column", default="artist", help="CSV column of the artist [default: artist]")
    p.add_argument(
        "--movement-column",
        default="movement",
        help="CSV column of the movement(s), comma-separated [default: movement]",
    )
    p.add_argument("--title-column", default="title", help="CSV column of the title, if any [default: title]")
    p.add_argument("-q", "--quiet", action="store_true", help="only the summary line")
    p.set_defaults(handler=handle_import)

    p = sub.add_parser("remove", help="remove imported works (ids, artist:NAME or movement:NAME)")
    p.add_argument("names", nargs="+", help="ids, artist:NAME or movement:NAME")
    p.set_defaults(handler=handle_remove)


def _select(args: argparse.Namespace):
    from painterly.library import Library
    from painterly.library.resolve import group_works

    library = Library.load()
    # unknown names fail with suggestions, the same way the painting commands do
    if args.movement:
        group_works(library, "movement", args.movement)
    if args.artist:
        group_works(library, "artist", args.artist)
    works = library.works
    if args.movement:
        works = [w for w in works if w in group_works(library, "movement", args.movement)]
    if args.artist:
        works = [w for w in works if w in group_works(library, "artist", args.artist)]
    if args.text:
        works = [w for w in works if w.matches(args.text)]
    return library, works


def handle_list(args: argparse.Namespace) -> int:
    library, works = _select(args)
    if args.movements or args.artists:
        groups = library.movements() if args.movements else library.artists()
        chosen = {w.id for w in works}
        counts = {k: sum(w.id in chosen for w in v) for k, v in groups.items()}
        counts = {k: n for k, n in counts.items() if n}
        if args.json:
            print(json.dumps(counts, indent=1))
        else:
            prefix = "movement:" if args.movements else "artist:"
            for name, n in counts.items():
                print(f"{prefix}{name:28s} {n:5d} work(s)")
        return 0
    if args.json:
        print(json.dumps([w.to_dict() for w in works], indent=1, ensure_ascii=False))
        return 0
    for w in works:
        print(f"{w.id:52s} {w.artist[:26]:26s} {w.year[:10]:10s} {','.join(w.movements):22s} {w.origin}")
    bundled = sum(w.origin == "bundled" for w in works)
    print(f"{len(works)} work(s): {bundled} bundled, {len(works) - bundled} imported", file=sys.stderr)
    return 0


def handle_show(args: argparse.Namespace) -> int:
    from painterly.library import Library, is_query
    from painterly.library.representative import bundled_choices, members_key
    from painterly.library.resolve import MAX_BLEND, group_works, resolve_query, spread

    library = Library.load()
    name = args.name
    prefix, sep, rest = name.partition(":")
    if sep and prefix.lower() in ("artist", "movement"):
        works = group_works(library, prefix.lower(), rest)
        from painterly.library.catalog import slug

        known = bundled_choices().get(f"{prefix.lower()}:{slug(rest)}")
        rep = known["id"] if known and known.get("members") == members_key(works) else None
        info = {
            "name": name,
            "works": [w.id for w in works],
            "blend": [w.id for w in spread(works, MAX_BLEND)],
            "representative": rep or (works[0].id if len(works) == 1 else "chosen on first use"),
        }
        if args.json:
            print(json.dumps(info, indent=1))
            return 0
        print(f"{name}: {len(works)} work(s)")
        for w in works:
            print(f"  {w.id:52s} {w.title} ({w.artist}, {w.year})")
        print(f"blend (style_group=blend): {len(info['blend'])} work(s), equal weights")
        print(f"representative (style_group=representative): {info['representative']}")
        return 0
    if not is_query(name):
        raise InputError(f"{name}: not a library name (give an id, artist:NAME or movement:NAME)")
    work = resolve_query(name, "blend", library).works[0]
    if args.json:
        print(json.dumps(work.to_dict(), indent=1, ensure_ascii=False))
        return 0
    for key, value in work.to_dict().items():
        value = ", ".join(value) if isinstance(value, list) else value
        print(f"{key:12s} {value}")
    return 0


def handle_sheet(args: argparse.Namespace) -> int:
    from painterly.images import check_output_path, save_image
    from painterly.library.sheet import library_sheet

    output = check_output_path(args.output, args.overwrite)
    _, works = _select(args)
    if not works:
        raise ConfigError("no works match; nothing to draw")
    if not 32 <= args.cell <= 1024:
        raise ConfigError("--cell must be between 32 and 1024 px")
    sheet = library_sheet(works, cell=args.cell)
    save_image(sheet, output)
    print(f"wrote {output} ({len(works)} works)")
    return 0


def handle_import(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from painterly.library.imports import import_dataset

    bars: list[tqdm] = []

    def progress(done: int, total: int) -> None:
        # a dataset may hold thousands of images, each decoded: show how far the import is
        if not bars:
            bars.append(
                tqdm(total=total, unit="image", desc="importing", disable=args.quiet, file=sys.stderr)
            )
        bars[0].update(done + 1 - bars[0].n)

    try:
        report = import_dataset(
            Path(args.folder),
            table=args.csv,
            file_column=args.file_column,
            artist_column=args.artist_column,
            movement_column=args.movement_column,
            title_column=args.title_column or None,
            progress=progress,
        )
    finally:
        for bar in bars:
            bar.close()
    if not args.quiet:
        for line in report.skipped:
            print(f"skipped: {line}", file=sys.stderr)
    print(f"{args.folder} ({report.layout}): {report.summary()}")
    return 0


def handle_remove(args: argparse.Namespace) -> int:
    from painterly.library import Library
    from painterly.library.imports import remove_works
    from painterly.library.resolve import group_works, resolve_query

    library = Library.load()
    ids: list[str] = []
    for name in args.names:
        prefix, sep, rest = name.partition(":")
        if sep and prefix.lower() in ("artist", "movement"):
            works = group_works(library, prefix.lower(), rest)
        else:
            works = list(resolve_query(name, "blend", library).works)
        own = [w for w in works if w.origin == "user"]
        if not own:
            raise ConfigError(f"{name}: only bundled works; only imported styles can be removed")
        ids += [w.id for w in own]
    removed = remove_works(ids)
    print(f"removed {len(removed)} imported work(s)")
    return 0
