"""Choosing the compute device: the one place where that decision is made."""

from __future__ import annotations

import torch

from painterly.errors import ConfigError


def resolve_device(kind: str = "auto") -> torch.device:
    """'auto' takes CUDA, then Apple's MPS, then the CPU; a named device must exist
    (``cuda:N`` too: N below the number of GPUs, issue #18)."""
    from painterly.config import check_device_name

    check_device_name(kind)
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if kind == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if kind.startswith("cuda") and not cuda:
        raise ConfigError(f"device {kind} was asked for but no CUDA GPU is available")
    if kind.startswith("cuda:"):
        count = torch.cuda.device_count()
        if int(kind.partition(":")[2]) >= count:
            raise ConfigError(
                f"device {kind}: this machine has {count} CUDA GPU(s), numbered 0 to {count - 1}"
            )
    if kind == "mps" and not mps:
        raise ConfigError("device mps was asked for but Apple MPS is not available")
    return torch.device(kind)
