"""Float precision of a run on a GPU (issue #16): TF32 tensor cores by default, bfloat16 on request.

Why: on an H100 (bench/gpu.py) strict float32 convolutions ran at ~20 TFLOP/s, TF32 at
57–90 and bfloat16 at 64–119. A balanced run at 1024 px took 11.0 s in float32 and 4.0 s in
TF32 with its final loss, judged in float32, 0.45 % higher: within the 1 % the issue allows,
so TF32 is the default on CUDA. bfloat16 made single passes faster still but the whole run no
faster and its loss 1.4 % higher, so it is opt-in. On the CPU and MPS nothing changes (this
project's CPUs have no fast bfloat16: a bare pass took 26× longer under autocast).

The network casts its features back to float32 under bfloat16: the Gram matrices' differences
need float32's 24 bits, bfloat16 has 8.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import torch

from painterly.errors import ConfigError

_F = TypeVar("_F", bound=Callable[..., Any])

#: The dtype the backbones autocast to inside a run (None: plain float32).
_NETWORK_DTYPE: contextvars.ContextVar[torch.dtype | None] = contextvars.ContextVar(
    "painterly_network_dtype", default=None
)


def network_dtype() -> torch.dtype | None:
    """What the backbones should autocast to now (set by :func:`run_precision`)."""
    return _NETWORK_DTYPE.get()


@contextmanager
def run_precision(kind: str, device: torch.device) -> Iterator[None]:
    """Hold ``kind`` (auto, fp32, bf16) for one run on ``device``; restores torch's switches."""
    if kind == "bf16" and device.type != "cuda":
        raise ConfigError(f"precision bf16 needs a CUDA GPU (this run is on {device.type}); use auto or fp32")
    if device.type != "cuda":
        yield
        return
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    tf32 = kind != "fp32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    token = _NETWORK_DTYPE.set(torch.bfloat16 if kind == "bf16" else None)
    try:
        yield
    finally:
        _NETWORK_DTYPE.reset(token)
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def with_config_precision(func: _F) -> _F:
    """Decorate an engine entry ``f(content, styles, config, ...)`` so that it runs under
    ``config.precision`` on ``config.device`` (a TransferConfig, a dict of settings or None)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from painterly.devices import resolve_device

        config = kwargs.get("config", args[2] if len(args) > 2 else None)

        def setting(name: str) -> str:
            value = config.get(name) if isinstance(config, dict) else getattr(config, name, None)
            return str(value or "auto")

        with run_precision(setting("precision"), resolve_device(setting("device"))):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
