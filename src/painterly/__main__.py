"""`python -m painterly` and the `painterly` command.

The command's own signal handling starts once :mod:`painterly.cli` is imported; a Ctrl-C
in the instants before (argparse, the config module) would print Python's traceback, so
the first thing done here is to answer it the same one-line way.
"""

import os
import signal
import sys


def _interrupted_while_starting(signum: int, frame: object) -> None:
    sys.stderr.write("painterly: interrupted\n")
    sys.stderr.flush()
    os._exit(130)  # nothing has been done yet: nothing to clean up


def main() -> None:
    for name in ("SIGINT", "SIGTERM"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _interrupted_while_starting)
    from painterly.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
