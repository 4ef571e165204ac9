"""`painterly run ... --watch` (issue #18): a live view of this run in the browser.

The run's own process serves its progress on 127.0.0.1 (:class:`painterly.web.watch.RunWatch`);
this module adds the flags, prints the URL and opens the browser unless told not to.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from painterly.web.watch import RunWatch

#: How long the live view stays up after the run ends, so an open page sees the end.
LINGER_S = 1.5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--watch",
        action="store_true",
        help="watch the run live in the browser (served by this process on 127.0.0.1)",
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="with --watch: print the live view's URL, open nothing"
    )
    parser.add_argument("--watch-port", type=int, default=0, metavar="PORT", help=argparse.SUPPRESS)


def start(args: argparse.Namespace, title: str, total_steps: int) -> RunWatch | None:
    """The live view when --watch was given (its URL printed at once), else None."""
    if not getattr(args, "watch", False):
        return None
    from painterly.web.watch import RunWatch

    try:
        watch = RunWatch(title, total_steps, port=args.watch_port)
    except OSError as exc:
        print(
            f"painterly: warning: --watch: cannot serve the live view ({exc.strerror or exc})",
            file=sys.stderr,
        )
        return None
    print(f"painterly: watch this run at {watch.url}", flush=True)
    if not args.no_browser:
        import webbrowser

        webbrowser.open(watch.url)
    return watch


def preview_every(total_steps: int) -> int:
    """A picture about 50 times a run (at least every 10 steps) for the live view."""
    return max(1, min(10, total_steps // 50))


def end(watch: RunWatch | None, status: str, message: str, image: object) -> None:
    """Show the end, give an open page a moment to see it, and close the server."""
    if watch is None:
        return
    watch.finish(status, message, image)
    time.sleep(LINGER_S)
    watch.close()
