"""The command line: parse → config → engine → progress bar. The only place that exits.

Each subcommand lives in its own module with ``register(subparsers)``, which adds a
parser whose ``handler(args) -> int`` does the work. Errors the user can fix
(:class:`~painterly.errors.PainterlyError`) become one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence

from painterly.errors import PainterlyError

#: Subcommand modules, in the order --help lists them.
COMMAND_MODULES = [
    "run",
    "fast",
    "video",
    "styles",
    "models",
    "layers",
    "sweep",
    "reconstruct",
    "histogram",
    "progression",
    "serve",
    "batch",  # issue #12
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    from painterly import __version__

    parser = Parser(prog="painterly", description="Neural style transfer studio.")
    parser.add_argument("--version", action="version", version=f"painterly {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"painterly.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``painterly`` command; returns (and exits with) the exit code."""
    code = run_command(argv)
    if argv is None:
        _exit_with(code)
    return code


def _exit_with(code: int) -> None:
    """Leave the process with ``code`` once the command is done, skipping the interpreter's
    teardown.

    Two ways a handled Ctrl-C could still kill ``python -m painterly`` with SIGINT: a
    KeyboardInterrupt that passed through C code running Python (torch's or onnxruntime's
    import) leaves a flag that CPython acts on at exit, and a Ctrl-C during the teardown
    itself (which resets SIGINT to its default while it unloads torch or onnxruntime) meets
    no handler. So the exit hooks run, the streams are flushed, and the process ends here.
    """
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def run_command(argv: Sequence[str] | None = None) -> int:
    """Parse and run one command; every failure becomes an exit code, never a traceback."""
    from painterly.cli.signals import caused_by_interrupt, deferred, stop_on_signals
    from painterly.threads import prefer_passive_waiting

    prefer_passive_waiting()  # before anything imports torch: OpenMP reads it once (issue #16)
    try:
        with stop_on_signals():  # SIGTERM stops as cleanly as Ctrl-C (issue #15)
            # Importing torch takes seconds; a KeyboardInterrupt raised inside it can land in
            # C++ code and abort the process, so a signal then is held until the imports end.
            with deferred():
                parser = build_parser()
            args = parser.parse_args(argv)
            with deferred():
                preload = getattr(args, "preload", ())
                if callable(preload):  # chosen from the parsed flags (batch --fast needs no torch)
                    preload = preload(args)
                for module in preload:
                    importlib.import_module(module)
            return int(args.handler(args) or 0)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except PainterlyError as exc:
        print(f"painterly: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("painterly: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug, not bad input: still one line unless debugging
        if caused_by_interrupt(exc):
            print("painterly: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        if os.environ.get("PAINTERLY_DEBUG"):
            raise
        print(
            f"painterly: internal error: {type(exc).__name__}: {exc} (set PAINTERLY_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILED
