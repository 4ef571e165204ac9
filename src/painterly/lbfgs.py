"""L-BFGS whose direction costs two matrix-vector products instead of 4·m small kernels (issue #16).

Why: torch's ``LBFGS`` computes the direction with the two-loop recursion over its history of
m curvature pairs (s, y): 2·m dot products and 2·m vector updates, each a separate pass over
a vector of the picture's size, in Python. With the full history of 100 pairs that is 16–18 ms
a step at 256 px (2–3 % of the VGG pass) and 60–70 ms at 512 px: its kernels stream the
history at ~13 GB/s, a matrix-vector product does it at ~20 GB/s on the same core.

The recursion's scalars only need inner products between history vectors and the gradient:
loop one's α solves an upper triangular system, loop two's coefficients a lower one, both
built from the m×m matrix A (A_ij = s_i·y_j) and Y·Yᵀ (Byrd, Nocedal & Schnabel 1994, the
compact form; here written as the two loops' own triangular systems, so the direction is the
same vector in exact arithmetic). So a step reads the history twice, as in the recursion, but
as two products (``[S; Y]·g`` and ``[S; Y]ᵀ·coef``) over one preallocated matrix:

* A's and Y·Yᵀ's entries with the new y come from ``[S; Y]·g`` less the previous step's
  ``[S; Y]·g_prev`` (y = g − g_prev), and those with the new s (= t·d_prev) from Y·d_prev,
  which the previous step gets in m×m arithmetic (d_prev is a combination of g_prev and the
  rows). No third pass.
* The m×m algebra runs in float64.

Only the configuration painterly uses takes this path: one step per ``step()`` call
(``max_iter=1``) and no line search; anything else is torch's own ``step``. The state keeps
torch's names for what callers touch: ``t`` (the step length, which ``transfer.cap_step``
scales so that the next pair matches the step really taken), ``d``, ``H_diag``,
``prev_flat_grad``, ``n_iter`` and ``func_evals``. Rounding differs from torch's: the inner
products are summed in another order (tests compare with torch's recursion in float64).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch

#: Switch for A/B runs and tests (bench/step_same_result.py): False makes ``FastLBFGS.step``
#: torch's ``LBFGS.step``. Flip it between runs only: the two keep different state.
ENABLED = True


class FastLBFGS(torch.optim.LBFGS):
    """torch's L-BFGS (same arguments, same steps up to rounding), with the direction from
    two products over a preallocated history (see the module's docstring).

    ``capacity`` caps the history's rows when the caller knows how many steps it will take
    (at most steps − 1 pairs are ever formed), so a short run does not reserve 100 pairs."""

    def __init__(
        self, params: Iterable[torch.Tensor], *args: Any, capacity: int | None = None, **kwargs: Any
    ):
        super().__init__(params, *args, **kwargs)
        self.capacity = capacity

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        group = self.param_groups[0]
        if not ENABLED or group["line_search_fn"] is not None or group["max_iter"] != 1:
            return super().step(closure)
        closure = torch.enable_grad()(closure)
        lr = float(group["lr"])
        history_size = group["history_size"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = closure()
        loss = float(orig_loss)
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if flat_grad.abs().max() <= group["tolerance_grad"]:
            return orig_loss

        state["n_iter"] += 1
        if state["n_iter"] == 1:
            d = flat_grad.neg()
            memory = state["memory"] = _History(flat_grad, min(history_size, self.capacity or history_size))
            state["H_diag"] = 1.0
        else:
            memory = state["memory"]
            d = memory.direction(flat_grad, state["prev_flat_grad"], state["d"], state["t"], state)
        prev = state.get("prev_flat_grad")
        if prev is None:
            state["prev_flat_grad"] = flat_grad.clone(memory_format=torch.contiguous_format)
        else:
            prev.copy_(flat_grad)
        state["prev_loss"] = loss
        # torch's first step is at most 1/|g|₁ long, the later ones lr
        t = min(1.0, 1.0 / float(flat_grad.abs().sum())) * lr if state["n_iter"] == 1 else lr
        state["d"], state["t"] = d, t
        gtd = flat_grad.dot(d)
        if gtd > -group["tolerance_change"]:
            return orig_loss
        self._add_grad(t, d)  # max_iter 1: like torch, nothing is evaluated after the update
        return orig_loss

    def _flat_grad(self) -> torch.Tensor:
        """The gradient as one flat vector: a view for one dense parameter (torch's
        ``_gather_flat_grad`` copies it through ``cat``), else torch's."""
        grad = self._params[0].grad if len(self._params) == 1 else None
        if grad is not None and not grad.is_sparse and not torch.is_complex(grad) and grad.is_contiguous():
            return grad.view(-1)
        return self._gather_flat_grad()


class _History:
    """The curvature pairs as rows of one matrix (row 2k: s, row 2k + 1: y of slot k, a
    ring of ``rows`` slots) and the float64 inner products the recursion needs (numpy:
    at m ≤ 100 its small operations cost microseconds where torch's cost tens)."""

    def __init__(self, like: torch.Tensor, rows: int) -> None:
        self.rows = max(1, rows)
        self.n = like.numel()
        self.matrix = like.new_empty(0)  # allocated on the first pair
        self.order: list[int] = []  # slots, oldest pair first
        self.sy = np.zeros((self.rows, self.rows))  # sy[i, j] = s_i · y_j (slots)
        self.yy = np.zeros((self.rows, self.rows))  # yy[i, j] = y_i · y_j
        self.products = np.zeros(2 * self.rows)  # rows · g of the last step
        self.yd = np.zeros(self.rows)  # y_i · d of the last step

    def direction(
        self, g: torch.Tensor, g_prev: torch.Tensor, d_prev: torch.Tensor, t: float, state: dict[str, Any]
    ) -> torch.Tensor:
        """The L-BFGS direction −H·g after adding the pair (t·d_prev, g − g_prev) when its
        curvature is positive (torch's test: y·s > 1e-10), as torch's two loops give it."""
        y = g.sub(g_prev)
        s = d_prev.mul(t)
        ys = float(y.dot(s))
        new = None
        if ys > 1e-10:
            if not self.matrix.numel():
                self.matrix = g.new_empty(2 * self.rows, self.n)
            new = self.order.pop(0) if len(self.order) == self.rows else len(self.order)
            self.matrix[2 * new].copy_(s)
            self.matrix[2 * new + 1].copy_(y)
            self.order.append(new)
            yy_new = float(y.dot(y))
            state["H_diag"] = ys / yy_new
        if not self.order:
            return g.neg()
        slots = np.array(self.order)
        top = 2 * (int(slots.max()) + 1)  # the rows in use (slots fill from 0)
        block = self.matrix[:top]
        # s_k·g and y_k·g of every used slot: the one pass over the history before the direction
        products = torch.mv(block, g).cpu().numpy().astype(np.float64)
        if new is not None:
            old = slots[slots != new]
            if old.size:
                before = self.products
                # y = g − g_prev: the old rows' products with y from this pass and the last
                self.sy[old, new] = products[2 * old] - before[2 * old]
                self.yy[old, new] = self.yy[new, old] = products[2 * old + 1] - before[2 * old + 1]
                # s = t·d_prev: y_k·d_prev was kept by the last step
                self.sy[new, old] = t * self.yd[old]
            self.sy[new, new] = ys
            self.yy[new, new] = yy_new
        self.products[:top] = products
        gamma = float(state["H_diag"])
        a = self.sy[np.ix_(slots, slots)]  # logical order, oldest first: A_ij = s_i·y_j
        yy = self.yy[np.ix_(slots, slots)]
        sq, yq = -products[2 * slots], -products[2 * slots + 1]  # with q = −g (torch's sign)
        # loop one (newest to oldest): α_i = ρ_i s_i·q_i, q_i = q − Σ_{j>i} α_j y_j,
        # ρ_i = 1/A_ii  ⇔  triu(A)·α = S·q
        alpha = np.linalg.solve(np.triu(a), sq)
        # loop two (oldest to newest) from r = γ·q_0: β_i = ρ_i y_i·r_i, r += (α_i − β_i) s_i;
        # c = α − β  ⇔  tril(Aᵀ)·c = diag(A)·α − u,  u_i = γ·y_i·q_0
        u = gamma * (yq - yy @ alpha)
        c = np.linalg.solve(np.tril(a.T), np.diagonal(a) * alpha - u)
        # d = γ·q − γ·Yᵀα + Sᵀc over the rows in use (unused slots: 0)
        coef = np.zeros(top)
        coef[2 * slots] = c
        coef[2 * slots + 1] = -gamma * alpha
        d = _combine(block, coef, g, -gamma)
        # y_k·d for the next pair's s = t·d: γ·(Y·q) − γ·(YYᵀ)α + Aᵀc = u + Aᵀc
        self.yd[slots] = u + a.T @ c
        return d


def _combine(block: torch.Tensor, coef: np.ndarray, g: torch.Tensor, beta: float) -> torch.Tensor:
    """beta·g + blockᵀ·coef. On the CPU numpy's (OpenBLAS's) row-combining product streams
    the history faster than torch's transposed ``addmv`` (5.6 against 6.6 ms for 100 pairs
    at 256 px, one thread). Only on one torch thread, with OpenBLAS set to one as well
    (syrk.single_thread): with more, torch's own product and thread pool."""
    from painterly import syrk

    if block.device.type == "cpu" and block.dtype in (torch.float32, torch.float64) and syrk.single_thread():
        d = torch.empty_like(g)
        np.matmul(coef.astype(block.numpy().dtype), block.numpy(), out=d.numpy())
        return d.add_(g, alpha=beta)
    weights = torch.from_numpy(coef).to(device=g.device, dtype=g.dtype)
    return torch.addmv(g, block.t(), weights, beta=beta)
