"""Choosing the compute device: the one place where that decision is made."""

from __future__ import annotations

import torch

from painterly.errors import ConfigError


def resolve_device(kind: str = "auto") -> torch.device:
    """'auto' takes CUDA, then Apple's MPS, then the CPU; a named device must exist."""
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if kind == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if kind == "cuda" and not cuda:
        raise ConfigError("device cuda was asked for but no CUDA GPU is available")
    if kind == "mps" and not mps:
        raise ConfigError("device mps was asked for but Apple MPS is not available")
    if kind not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"unknown device {kind!r}; use auto, cpu, cuda or mps")
    return torch.device(kind)
