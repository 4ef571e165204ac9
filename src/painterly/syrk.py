"""Gram matrices through BLAS ``syrk`` (issue #16), from the OpenBLAS that numpy ships.

A Gram matrix FᵀF is symmetric, so BLAS's ``syrk`` computes only one triangle: half
the arithmetic of the product torch's ``bmm`` makes (torch exposes no syrk). On this
project's CPU the forward Grams of conv2_1…conv5_1 took 7.9 ms instead of 13.1 ms at
256×171 (one thread). numpy — a core dependency — bundles OpenBLAS in its wheels
(``numpy.libs/libscipy_openblas64_*``; macOS ``numpy/.dylibs``), with its C interface
(``scipy_cblas_ssyrk64_``). That library is found and called through ctypes on the
tensors' own memory (no copies); where it is not there (numpy built against another
BLAS, a GPU tensor, another dtype) :func:`gram_minus` returns None and the caller keeps
its torch products. It runs only when torch runs on one thread (``--threads 1``, the
setting measured here, and OpenBLAS is then set to one thread too): OpenBLAS's idle
threads spin for a while after each call, which is what made two OpenMP threads 3–8×
slower on a busy machine (threads.py), and that was not measured for OpenBLAS. With more
torch threads the Grams stay torch's (OpenMP threads that sleep when idle).
"""

from __future__ import annotations

import ctypes
import functools
import glob
import os
from typing import Any

import torch

# CBLAS enums
_ROW_MAJOR, _UPPER, _NO_TRANS, _TRANS = 101, 121, 111, 112

#: Whether the engine may use syrk (bench/engine.py --ab turns it off for "before").
ENABLED = True


class _Blas:
    """The C entry points of one OpenBLAS build (ILP64: 64-bit integers)."""

    def __init__(self, lib: ctypes.CDLL, prefix: str, suffix: str) -> None:
        i64, ptr = ctypes.c_int64, ctypes.c_void_p
        self.syrk: dict[torch.dtype, Any] = {}
        self.omatcopy: dict[torch.dtype, Any] = {}
        for dtype, letter, real in (
            (torch.float32, "s", ctypes.c_float),
            (torch.float64, "d", ctypes.c_double),
        ):
            fn = getattr(lib, f"{prefix}cblas_{letter}syrk{suffix}")
            fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, i64, i64, real, ptr, i64, real, ptr, i64]
            fn.restype = None
            self.syrk[dtype] = fn
            # (out-of-place, strided) transposing copy, an OpenBLAS extension: optional
            fn = getattr(lib, f"{prefix}cblas_{letter}omatcopy{suffix}", None)
            if fn is not None:
                fn.argtypes = [ctypes.c_int, ctypes.c_int, i64, i64, real, ptr, i64, ptr, i64]
                fn.restype = None
                self.omatcopy[dtype] = fn
        self._set_threads = getattr(lib, f"{prefix}openblas_set_num_threads{suffix}")
        self._set_threads.argtypes = [ctypes.c_int]
        self._threads = 0

    def follow_torch_threads(self) -> None:
        threads = torch.get_num_threads()
        if threads != self._threads:
            self._set_threads(threads)
            self._threads = threads


#: (file name pattern, symbol prefix, symbol suffix) of the OpenBLAS builds numpy wheels ship.
_CANDIDATES = (("*scipy_openblas64_*", "scipy_", "64_"), ("*openblas64_*", "", "64_"))


@functools.cache
def _blas() -> _Blas | None:
    """numpy's bundled OpenBLAS, or None."""
    try:
        import numpy
    except ImportError:
        return None
    here = os.path.dirname(numpy.__file__)
    folders = (os.path.join(here, os.pardir, "numpy.libs"), os.path.join(here, ".dylibs"), here)
    for pattern, prefix, suffix in _CANDIDATES:
        for folder in folders:
            for path in sorted(glob.glob(os.path.join(folder, pattern))):
                try:
                    return _Blas(ctypes.CDLL(path), prefix, suffix)
                except (OSError, AttributeError):
                    continue
    return None


def single_thread() -> bool:
    """Whether numpy's OpenBLAS is there and torch runs on one thread; OpenBLAS is then set
    to one thread too, so a numpy product beside torch's (lbfgs.py) spins no idle threads."""
    blas = _blas() if torch.get_num_threads() == 1 else None
    if blas is None:
        return False
    blas.follow_torch_threads()
    return True


def available() -> bool:
    """Whether :func:`gram_minus` can run here (numpy's OpenBLAS was found)."""
    return _blas() is not None


def gram_minus(
    flat: torch.Tensor, target: torch.Tensor, scale: float, positions_first: bool
) -> torch.Tensor | None:
    """D = Gram(flat)/scale − target, N×C×C, exactly symmetric (its upper triangle from
    syrk, mirrored), or None where syrk cannot run (then use torch's products).

    ``flat`` is N×HW×C (``positions_first``: Gram = FᵀF) or N×C×HW (Gram = F Fᵀ), each
    matrix dense in rows; ``target`` N×C×C (broadcast views allowed), assumed symmetric:
    only its upper triangle is read, the lower one follows from it.
    """
    blas = _blas() if ENABLED and torch.get_num_threads() == 1 else None
    if (
        blas is None
        or flat.device.type != "cpu"
        or flat.dtype not in blas.syrk
        or target.dtype != flat.dtype
        or flat.stride(-1) != 1
        or flat.dim() != 3
    ):
        return None
    n = flat.shape[0]
    c = flat.shape[2] if positions_first else flat.shape[1]
    positions = flat.shape[1] if positions_first else flat.shape[2]
    diff = target.expand(n, c, c).clone(memory_format=torch.contiguous_format)
    blas.follow_torch_threads()
    syrk = blas.syrk[flat.dtype]
    trans = _TRANS if positions_first else _NO_TRANS
    row = flat.stride(1)
    omatcopy = blas.omatcopy.get(flat.dtype)
    upper = _upper_mask(c, diff.device) if omatcopy is None else None
    for k in range(n):
        # C := (1/scale)·op(A)ᵀop(A) − C on the upper triangle (row-major), in place.
        syrk(
            _ROW_MAJOR,
            _UPPER,
            trans,
            c,
            positions,
            1.0 / scale,
            flat[k].data_ptr(),
            row,
            -1.0,
            diff[k].data_ptr(),
            c,
        )
        if omatcopy is not None:
            _mirror_blocks(diff[k], omatcopy)
        else:  # a transposing copy and one select: 0.7–0.9 ms at 512 channels in a run
            torch.where(upper, diff[k], diff[k].t().contiguous(), out=diff[k])
    return diff


#: Side of the square blocks the mirror copies: at 512 channels 128 measured fastest
#: (0.38 ms out of cache, 64: 0.56, 256: 0.41, one copy and select of the whole: 0.85).
MIRROR_BLOCK = 128


def _mirror_blocks(matrix: torch.Tensor, omatcopy: Any) -> None:
    """Copy the upper triangle of the dense C×C ``matrix`` onto its lower one, in place.

    Each block above the diagonal is written transposed straight into its mirror block by
    BLAS's strided transposing copy (OpenBLAS's kernels move 512×512 in ~0.1 ms where
    torch's 2-D transposing copy takes 0.4); only the blocks on the diagonal go through a
    small scratch block and a select. Copies only: exactly the values of the triangle."""
    c = matrix.shape[0]
    size = matrix.element_size()
    base = matrix.data_ptr()
    scratch = matrix.new_empty(MIRROR_BLOCK, MIRROR_BLOCK)
    for top in range(0, c, MIRROR_BLOCK):
        rows = min(MIRROR_BLOCK, c - top)
        for left in range(top + MIRROR_BLOCK, c, MIRROR_BLOCK):
            cols = min(MIRROR_BLOCK, c - left)
            # block (top, left) transposed into block (left, top): disjoint memory
            src, dst = base + (top * c + left) * size, base + (left * c + top) * size
            omatcopy(_ROW_MAJOR, _TRANS, rows, cols, 1.0, src, c, dst, c)
        block = matrix[top : top + rows, top : top + rows]
        flipped = scratch[:rows, :rows]
        omatcopy(_ROW_MAJOR, _TRANS, rows, rows, 1.0, block.data_ptr(), c, flipped.data_ptr(), MIRROR_BLOCK)
        torch.where(_upper_mask(rows, matrix.device), block, flipped, out=block)


@functools.lru_cache(maxsize=16)
def _upper_mask(c: int, device: torch.device) -> torch.Tensor:
    """C×C booleans, True on and above the diagonal (syrk's triangle)."""
    return torch.ones(c, c, dtype=torch.bool, device=device).triu_()
