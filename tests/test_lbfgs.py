"""FastLBFGS (issue #16): torch's L-BFGS steps, its direction from two products over the history."""

from __future__ import annotations

import pytest
import torch

from painterly import lbfgs
from painterly.lbfgs import FastLBFGS


def _problem(n: int, seed: int = 0, convex: bool = True):
    """A smooth float64 test function of a 1×n tensor (quartic; with a sine term not convex,
    so some curvature pairs have y·s ≤ 0 and are skipped)."""
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(n, n, generator=gen, dtype=torch.float64) / n**0.5
    b = torch.randn(n, generator=gen, dtype=torch.float64)

    def f(*xs: torch.Tensor) -> torch.Tensor:
        x = sum(v.reshape(-1)[:n] for v in xs)
        z = a @ x
        value = (z - b).square().sum() + 0.1 * z.pow(4).sum() + 0.01 * x.square().sum()
        if not convex:
            value = value + 3.0 * torch.sin(3.0 * x).sum()
        return value

    return f


def _run(optimizer: torch.optim.Optimizer, params: list[torch.Tensor], f, steps: int, cap: float | None):
    """``steps`` steps; with ``cap``, each step is shortened as transfer.optimise does."""
    from painterly.transfer import cap_step

    path = []
    for _ in range(steps):
        before = [p.detach().clone() for p in params]

        def closure() -> torch.Tensor:
            optimizer.zero_grad(set_to_none=True)
            loss = f(*params)
            loss.backward()
            return loss

        optimizer.step(closure)
        if cap is not None:
            cap_step(optimizer, before, limit=cap)
        path.append(torch.cat([p.detach().reshape(-1) for p in params]))
    return torch.stack(path)


@pytest.mark.parametrize(
    ("history", "steps", "cap", "convex"),
    [
        (100, 60, None, True),  # history still filling
        (5, 60, None, True),  # the ring wraps many times
        (4, 50, 0.05, True),  # cap_step shortens steps and scales L-BFGS's t
        (100, 60, 0.2, False),  # negative curvature: skipped pairs
    ],
)
def test_same_steps_as_torch_in_float64(history: int, steps: int, cap: float | None, convex: bool) -> None:
    f = _problem(24, seed=history, convex=convex)
    start = torch.randn(1, 24, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    a, b = start.clone().requires_grad_(True), start.clone().requires_grad_(True)
    ref = _run(torch.optim.LBFGS([a], lr=1, max_iter=1, history_size=history), [a], f, steps, cap)
    fast_opt = FastLBFGS([b], lr=1, max_iter=1, history_size=history)
    got = _run(fast_opt, [b], f, steps, cap)
    assert torch.allclose(got, ref, rtol=1e-9, atol=1e-9 * float(ref.abs().max()))
    memory = fast_opt.state[b]["memory"]
    if not convex:  # the case really skipped pairs
        assert len(memory.order) < min(history, steps - 1)
    assert memory.matrix.shape == (2 * min(history, 100), 24)


def test_several_parameters_and_a_capacity() -> None:
    """Pyramid levels are several leaves; ``capacity`` behaves as a shorter history."""
    f = _problem(20, seed=3)
    gen = torch.Generator().manual_seed(2)
    parts = [
        torch.randn(1, 12, dtype=torch.float64, generator=gen),
        torch.randn(1, 8, dtype=torch.float64, generator=gen),
    ]

    a = [p.clone().requires_grad_(True) for p in parts]
    b = [p.clone().requires_grad_(True) for p in parts]

    def g(*xs: torch.Tensor) -> torch.Tensor:
        return f(torch.cat([x.reshape(-1) for x in xs]))

    ref = _run(torch.optim.LBFGS(a, lr=1, max_iter=1, history_size=3), a, g, 40, None)
    got = _run(FastLBFGS(b, lr=1, max_iter=1, history_size=100, capacity=3), b, g, 40, None)
    assert torch.allclose(got, ref, rtol=1e-9, atol=1e-9 * float(ref.abs().max()))


def test_other_configurations_are_torchs_own_step() -> None:
    """A line search (or several iterations a call) runs torch's step unchanged."""
    f = _problem(10, seed=5)
    a = torch.zeros(1, 10, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, 10, dtype=torch.float64, requires_grad=True)
    kw = dict(lr=1, max_iter=1, max_eval=5, history_size=10, line_search_fn="strong_wolfe")
    ref = _run(torch.optim.LBFGS([a], **kw), [a], f, 8, None)
    got = _run(FastLBFGS([b], **kw), [b], f, 8, None)
    assert torch.equal(got, ref)


def test_float32_run_matches_torch_closely(monkeypatch: pytest.MonkeyPatch) -> None:
    """In float32 the sums' order differs, so the paths part slowly: after 40 steps on a
    4096-value problem the losses agree to 1e-4."""
    f = _problem(64, seed=7)
    w = torch.randn(64, 4096, generator=torch.Generator().manual_seed(8)) / 64

    def h(x: torch.Tensor) -> torch.Tensor:
        return f((w @ x.reshape(-1).double().float()).double())

    losses = {}
    for fast in (True, False):
        monkeypatch.setattr(lbfgs, "ENABLED", fast)
        x = torch.zeros(1, 4096, requires_grad=True)
        _run(FastLBFGS([x], lr=1, max_iter=1, history_size=100), [x], h, 40, None)
        losses[fast] = float(h(x.detach()))
    assert losses[True] == pytest.approx(losses[False], rel=1e-4)


def test_stylize_uses_it_and_ends_where_torch_does(example_content, example_style, monkeypatch) -> None:
    """The engine's default optimiser is FastLBFGS (history reserved for the run's steps);
    a short run ends at torch's loss within float32 rounding."""
    from painterly import TransferConfig, stylize
    from painterly.transfer import make_optimizer

    config = TransferConfig(size=48, iterations=12, seed=0, calm_weight=0.0)
    x = torch.zeros(1, 3, 8, 8, requires_grad=True)
    assert isinstance(make_optimizer(x, config, 1.0, steps=12), FastLBFGS)
    assert not isinstance(make_optimizer(x, config.replace(line_search="strong_wolfe"), 1.0), FastLBFGS)
    totals = {}
    for fast in (True, False):
        monkeypatch.setattr(lbfgs, "ENABLED", fast)
        result = stylize(example_content, example_style, config)
        assert result.status == "finished"
        totals[fast] = result.losses["total"]
    assert totals[True] == pytest.approx(totals[False], rel=1e-2)


def test_the_combining_product_is_the_same_on_either_library(monkeypatch: pytest.MonkeyPatch) -> None:
    """numpy's product on one thread, torch's addmv otherwise: the same vector."""
    import numpy as np

    from painterly import syrk
    from painterly.lbfgs import _combine

    gen = torch.Generator().manual_seed(9)
    block = torch.randn(6, 50, dtype=torch.float64, generator=gen)
    g = torch.randn(50, dtype=torch.float64, generator=gen)
    coef = np.linspace(-1, 1, 6)
    expected = -0.5 * g + block.t() @ torch.from_numpy(coef)
    for one in (True, False):
        monkeypatch.setattr(syrk, "single_thread", lambda one=one: one)
        assert torch.allclose(_combine(block, coef, g, -0.5), expected, rtol=1e-12, atol=1e-12)
