"""`painterly run --estimate` and the estimate line before a long run (issue #12).

The numbers come from :func:`painterly.estimate.estimate_run`; this module only decides
when to ask for them and prints them. A run that would not fit the memory budget is
refused here, before the network loads (a ConfigError: exit 2).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from painterly.cli import EXIT_OK
from painterly.config import TransferConfig

#: Runs predicted (uncalibrated) to take longer than this announce their calibrated estimate.
LONG_RUN_SECONDS = 30.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--estimate",
        action="store_true",
        help="print the predicted peak memory and time (from the sizes, the schedule and a quick "
        "calibration step on this machine) and exit",
    )


def before_run(
    content: str, styles: Sequence[str], config: TransferConfig, args: argparse.Namespace
) -> int | None:
    """EXIT_OK after printing the estimate for --estimate; None to go on with the run.
    Raises (exit 2) when the run would not fit in memory, with what to do instead."""
    from painterly.estimate import estimate_run

    if getattr(args, "estimate", False):
        estimate = estimate_run(content, list(styles), config)
        print(estimate.summary())
        estimate.check()
        return EXIT_OK
    quick = estimate_run(content, list(styles), config, calibrate_time=False)
    quick.check()
    if quick.seconds > LONG_RUN_SECONDS and not getattr(args, "quiet", False):
        print(f"painterly: {estimate_run(content, list(styles), config).summary()}", file=sys.stderr)
    return None
