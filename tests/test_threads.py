"""Threads (issue #16): --threads per run, restored afterwards; passive OpenMP waiting
asked for before torch is imported, never overriding the user's own choice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import painterly
import painterly.cli as cli
from painterly.config import TransferConfig
from painterly.errors import ConfigError
from painterly.threads import PASSIVE_ENV, prefer_passive_waiting, torch_threads

SRC = Path(painterly.__file__).resolve().parents[1]


def test_passive_waiting_is_a_default_the_user_can_override() -> None:
    env: dict[str, str] = {"KMP_BLOCKTIME": "50"}
    # torch is imported in this process, so OpenMP has read its settings: nothing changes
    assert prefer_passive_waiting(env) is False and env == {"KMP_BLOCKTIME": "50"}
    code = (
        "import os, sys; from painterly.threads import prefer_passive_waiting;"
        "assert prefer_passive_waiting();"
        "print(os.environ['OMP_WAIT_POLICY'], os.environ['KMP_BLOCKTIME'])"
    )
    base = {k: v for k, v in os.environ.items() if k not in PASSIVE_ENV}
    base["PYTHONPATH"] = os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])
    cli_code = (
        "import os; from painterly.cli import run_command; run_command(['layers']);"
        "print(os.environ['OMP_WAIT_POLICY'], os.environ['KMP_BLOCKTIME'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", cli_code], env=base, capture_output=True, text=True, check=True
    )
    assert out.stdout.split()[-2:] == ["PASSIVE", "0"]  # the command line asks for it first thing
    for extra, expected in (({}, "PASSIVE 0"), ({"OMP_WAIT_POLICY": "ACTIVE"}, "ACTIVE 0")):
        out = subprocess.run(
            [sys.executable, "-c", code], env={**base, **extra}, capture_output=True, text=True, check=True
        )
        assert out.stdout.split() == expected.split()


def test_torch_threads_sets_and_restores() -> None:
    before = torch.get_num_threads()
    with torch_threads(before + 1) as inside:
        assert inside == before + 1 == torch.get_num_threads()
    assert torch.get_num_threads() == before
    with torch_threads(0) as inside:  # 0: leave torch's setting alone
        assert inside == before


def test_a_run_uses_its_thread_count_and_gives_it_back(photo: Path, painting: Path, tiny_net) -> None:
    before = torch.get_num_threads()
    seen: list[int] = []
    config = TransferConfig(size=32, iterations=2, threads=before + 1)
    painterly.stylize(
        photo, painting, config, lambda e: seen.append(torch.get_num_threads()), network=tiny_net
    )
    assert seen == [before + 1, before + 1]
    assert torch.get_num_threads() == before


def test_threads_is_validated_and_on_the_command_line(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(ConfigError, match="threads"):
        TransferConfig(threads=-1)
    assert cli.run_command(["run", "a.png", "b.png", "-o", "c.png", "--threads", "-2"]) == 2
    assert "threads" in capsys.readouterr().err
    assert cli.run_command(["run", "--help"]) == 0
    assert "--threads" in capsys.readouterr().out
