"""Photorealistic transfer: the photo's matting Laplacian and post-smoothing (issue #13).

Luan et al. 2017 ("Deep Photo Style Transfer") add Σ_c v_cᵀ L v_c to the loss, L the
matting Laplacian of the photo (Levin et al. 2008): it is ~0 only for outputs that are
a locally affine transform of the photo's colours, so edges stay where they are and
straight lines stay straight while colour, tone and light change. Li et al. 2018 ("A
Closed-form Solution to Photorealistic Image Stylization") smooth the result afterwards
so that pixels alike in the photo end up alike in the output: here with a guided
filter (fast) or the same Laplacian in a sparse solve (slower, sharper).

pymatting, scipy and OpenCV are optional (``painterly[photo]``) and imported only here,
inside the functions that need them.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from painterly.errors import MissingDependencyError

SmoothKind = Literal["none", "guided", "matting"]
#: Levin et al.'s regulariser ε (on 0–1 colours) and window radius (3×3), as in Luan et al.
MATTING_EPSILON, MATTING_RADIUS = 1e-7, 1
#: Guided filter: radius as a fraction of the longest side (8 px at 512) and ε on 0–1
#: values (edges with a contrast below ~√ε are smoothed over).
GUIDED_RADIUS_FRACTION, GUIDED_EPSILON = 1 / 64, 1e-3
#: Matting solve: λ of min λ|r − y|² + Σ_c r_cᵀ L r_c. Smaller smooths more (Li et al.'s
#: α = 1/(1+λ) with their normalised affinity; chosen by eye on the bench pairs).
MATTING_SMOOTH_LAMBDA = 1e-2


def _require(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise MissingDependencyError(f"photorealistic mode needs {module}: pip install 'painterly[photo]'")


def _to_hwc(image: torch.Tensor) -> np.ndarray:
    """1×3×H×W tensor in 0–1 → H×W×3 float64 array."""
    if image.dim() != 4 or image.shape[:2] != (1, 3):
        raise ValueError(f"expected a 1×3×H×W image, got {tuple(image.shape)}")
    return image[0].detach().permute(1, 2, 0).double().cpu().numpy().clip(0, 1)


#: pymatting's Laplacian module, loaded under its own name (see :func:`_cf_laplacian`).
_CF_MODULE = "pymatting.laplacian.cf_laplacian"


def _cf_laplacian():  # -> pymatting's cf_laplacian function
    """pymatting's closed-form Laplacian, loaded from its own file. Importing the pymatting
    package compiles every numba function it has (about 30, eagerly typed) before the first
    Laplacian: 80 s on a fresh install of this 2-core machine, paid again by each new venv
    (CI). Its Laplacian file needs only numpy, scipy and numba and compiles one function
    (4 s). It is registered under its own dotted name, so numba's cache beside the file is
    the one the package import reads and writes too, and a later ``import pymatting``
    reuses it. Falls back to the package import where the file is not where pymatting 1.1
    keeps it."""
    module = sys.modules.get(_CF_MODULE)
    if module is None:
        spec = importlib.util.find_spec("pymatting")  # finds the package without importing it
        locations = list(spec.submodule_search_locations or []) if spec else []
        path = Path(locations[0]) / "laplacian" / "cf_laplacian.py" if locations else None
        if path is None or not path.is_file():
            from pymatting import cf_laplacian

            return cf_laplacian
        file_spec = importlib.util.spec_from_file_location(_CF_MODULE, path)
        module = importlib.util.module_from_spec(file_spec)
        sys.modules[_CF_MODULE] = module  # before running it: numba's cache imports it by name
        try:
            file_spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[_CF_MODULE]
            raise
    return module.cf_laplacian


def matting_laplacian_scipy(photo: torch.Tensor):  # -> scipy.sparse.csr_matrix
    """The (H·W)×(H·W) matting Laplacian of a 1×3×H×W photo as a scipy CSR matrix
    (pixels in row-major order)."""
    _require("pymatting")
    threads = torch.get_num_threads()
    try:
        cf_laplacian = _cf_laplacian()

        return cf_laplacian(_to_hwc(photo), epsilon=MATTING_EPSILON, radius=MATTING_RADIUS).tocsr()
    finally:
        # numba's OpenMP start-up (pymatting's first call) set torch's thread count to the
        # core count, so the whole run after it ignored --threads (measured: 1 → 2 threads,
        # 3× the CPU time per step on a loaded 2-core machine). Put it back.
        torch.set_num_threads(threads)


def matting_laplacian(photo: torch.Tensor) -> torch.Tensor:
    """The photo's matting Laplacian as a sparse CSR float32 torch tensor on the photo's
    device, ready for :func:`painterly.losses.photorealism_loss`. About 25 non-zeros per
    pixel; built once per scale (≈0.35 s at 512×384 on one core once pymatting's numba
    code is compiled: the first call in a process adds a few seconds)."""
    lap = matting_laplacian_scipy(photo)
    lap.sort_indices()
    # CSR: torch's CSR × dense product is several times faster than COO's on the CPU.
    # scipy's CSR is valid by construction, so the invariant checks (and torch's "beta"
    # notice) are skipped.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        tensor = torch.sparse_csr_tensor(
            torch.from_numpy(lap.indptr.astype(np.int64)),
            torch.from_numpy(lap.indices.astype(np.int64)),
            torch.from_numpy(lap.data.astype(np.float32)),
            lap.shape,
            check_invariants=False,
        )
    return tensor.to(photo.device)


def guided_smooth(output: torch.Tensor, photo: torch.Tensor) -> torch.Tensor:
    """Edge-preserving smoothing of ``output`` guided by ``photo`` (both 1×3×H×W, 0–1):
    He et al.'s guided filter with the photo's colours as the guide, the fast variant of
    Li et al.'s step: in each window the output becomes an affine function of the photo.

    Written out with OpenCV box filters rather than ``cv2.ximgproc.guidedFilter``: that
    one, given the photo as both guide and source, did not give the photo back (gradient
    SSIM 0.64, mean error 0.02–0.07 at ε 1e-4, radius 2), where this gives 0.995.
    """
    _require("cv2")
    import cv2

    h, w = output.shape[-2:]
    r = max(1, round(max(h, w) * GUIDED_RADIUS_FRACTION))
    guide, src = _to_hwc(photo), _to_hwc(output)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1), normalize=True, borderType=cv2.BORDER_REFLECT)

    mean_i = box(guide)
    cov_ii = np.empty((h, w, 3, 3))
    for a in range(3):
        for b in range(3):
            cov_ii[..., a, b] = box(guide[..., a] * guide[..., b]) - mean_i[..., a] * mean_i[..., b]
    inv = np.linalg.inv(cov_ii + GUIDED_EPSILON * np.eye(3))
    result = np.empty_like(src)
    for c in range(3):
        p = src[..., c]
        mean_p = box(p)
        cov_ip = np.stack([box(guide[..., a] * p) - mean_i[..., a] * mean_p for a in range(3)], -1)
        coef = np.einsum("hwij,hwj->hwi", inv, cov_ip)
        offset = mean_p - (coef * mean_i).sum(-1)
        result[..., c] = (box(coef) * guide).sum(-1) + box(offset)
    return _from_hwc(result, output)


def matting_smooth(
    output: torch.Tensor, photo: torch.Tensor, lam: float = MATTING_SMOOTH_LAMBDA
) -> torch.Tensor:
    """The closed-form smoothing: r = argmin λ|r − y|² + Σ_c r_cᵀ L r_c, i.e. solve
    (L + λI) r = λ y for each channel (conjugate gradients; L + λI is positive definite).
    The result is the locally affine recolouring of the photo nearest to ``output``."""
    _require("scipy")
    import scipy.sparse as sp
    from scipy.sparse.linalg import cg

    lap = matting_laplacian_scipy(photo)
    n = lap.shape[0]
    system = (lap + lam * sp.identity(n, format="csr")).tocsr()
    diag = system.diagonal()
    precond = sp.diags(1.0 / np.maximum(diag, 1e-12))  # Jacobi
    y = _to_hwc(output).reshape(n, 3)
    result = np.empty_like(y)
    for c in range(3):
        result[:, c], _ = cg(system, lam * y[:, c], x0=y[:, c], rtol=1e-6, maxiter=2000, M=precond)
    h, w = output.shape[-2:]
    return _from_hwc(result.reshape(h, w, 3), output)


def _from_hwc(array: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).permute(2, 0, 1)[None]
    return t.clamp(0, 1).to(like.device)


def smooth(output: torch.Tensor, photo: torch.Tensor, kind: SmoothKind) -> torch.Tensor:
    """Post-smoothing of a finished picture by ``kind`` (none returns it unchanged)."""
    if kind == "none":
        return output
    if output.shape != photo.shape:
        photo = torch.nn.functional.interpolate(photo, size=output.shape[-2:], mode="bilinear")
    return guided_smooth(output, photo) if kind == "guided" else matting_smooth(output, photo)
