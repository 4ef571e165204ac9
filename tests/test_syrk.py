"""syrk: Gram matrices from numpy's OpenBLAS syrk (issue #16) — the values torch's
product gives, exactly symmetric, and None wherever it cannot run."""

from __future__ import annotations

import pytest
import torch

from painterly import losses, syrk

needs_blas = pytest.mark.skipif(not syrk.available(), reason="numpy without its bundled OpenBLAS")


@needs_blas
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("positions_first", [True, False], ids=["FtF", "FFt"])
def test_gram_minus_equals_the_product(dtype: torch.dtype, positions_first: bool) -> None:
    gen = torch.Generator().manual_seed(0)
    f = torch.randn(2, 7, 5, 6, generator=gen, dtype=dtype)
    if positions_first:  # an N×HW×C view of channels_last features, as the engine passes it
        flat = f.contiguous(memory_format=torch.channels_last).permute(0, 2, 3, 1).reshape(2, 30, 7)
        gram = flat.transpose(1, 2) @ flat
    else:
        flat = f.reshape(2, 7, 30)
        gram = flat @ flat.transpose(1, 2)
    target = losses.gram_matrix(torch.randn(1, 7, 4, 4, generator=gen, dtype=dtype)).expand(2, -1, -1)
    target = (target + target.transpose(1, 2)) / 2
    ours = syrk.gram_minus(flat, target, 210.0, positions_first)
    assert ours is not None
    expected = gram / 210.0 - target
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    assert torch.allclose(ours, expected, rtol=tol, atol=tol * expected.abs().max().item())
    assert torch.equal(ours, ours.transpose(1, 2))  # exactly: the backward relies on it


@needs_blas
def test_only_on_one_torch_thread_and_openblas_on_one_too() -> None:
    before = torch.get_num_threads()
    flat = torch.rand(1, 20, 4)
    try:
        torch.set_num_threads(2)
        assert syrk.gram_minus(flat, torch.zeros(1, 4, 4), 1.0, True) is None  # torch's products
        torch.set_num_threads(1)
        assert syrk.gram_minus(flat, torch.zeros(1, 4, 4), 1.0, True) is not None
        assert syrk._blas()._threads == 1
    finally:
        torch.set_num_threads(before)


def test_other_cases_keep_torchs_products(monkeypatch: pytest.MonkeyPatch) -> None:
    flat = torch.rand(1, 20, 4)
    half = flat.to(torch.bfloat16)
    assert syrk.gram_minus(half, torch.zeros(1, 4, 4, dtype=torch.bfloat16), 1.0, True) is None
    assert syrk.gram_minus(flat.transpose(1, 2), torch.zeros(1, 20, 20), 1.0, True) is None  # strided rows
    monkeypatch.setattr(syrk, "ENABLED", False)
    assert syrk.gram_minus(flat, torch.zeros(1, 4, 4), 1.0, True) is None


@needs_blas
@pytest.mark.parametrize("block", [3, 128, None], ids=["blocks-of-3", "blocks-of-128", "no-omatcopy"])
def test_mirror_in_blocks_is_exact(block: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lower triangle copied block by block (partial blocks at the edges included), or
    by torch where OpenBLAS lacks omatcopy: the same matrix, exactly symmetric."""
    if block is None:
        monkeypatch.setattr(syrk._blas(), "omatcopy", {})
    else:
        monkeypatch.setattr(syrk, "MIRROR_BLOCK", block)
    gen = torch.Generator().manual_seed(4)
    c = 7 if block == 3 else 300
    flat = torch.randn(2, 40, c, generator=gen)
    target = torch.randn(1, c, c, generator=gen)
    target = target + target.transpose(1, 2)
    ours = syrk.gram_minus(flat, target, 40.0, True)
    assert torch.equal(ours, ours.transpose(1, 2))
    expected = flat.transpose(1, 2) @ flat / 40.0 - target
    assert torch.allclose(ours, expected, rtol=1e-5, atol=1e-5 * expected.abs().max().item())
