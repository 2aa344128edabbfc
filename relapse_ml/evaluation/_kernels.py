"""Vectorised metric kernels: every metric for many weight vectors at once.

A bootstrap replicate of weighted data is the original data with weights
``w * counts`` (counts = how often each patient was drawn), and the predictions never
change. So everything that depends only on ``p`` (sort order, ties, logits, the
smoother's kernel matrix) is prepared once, and each metric is computed for a whole
``(B, n)`` matrix of weights with array operations. The public point estimates use
the same kernels with ``B = 1``, so point estimates and bootstrap replicates cannot
disagree.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from functools import cached_property
from typing import ParamSpec, TypeVar

import numpy as np
from scipy.special import expit
from threadpoolctl import threadpool_limits

_P = ParamSpec("_P")
_R = TypeVar("_R")

# Predictions are clipped to [EPS, 1 - EPS] before taking logits so that p = 0 or 1
# gives a large finite logit instead of an infinite one.
EPS = 1e-12
DEFAULT_SPAN = 0.75
DEFAULT_N_GRID = 200
_MAX_ITER = 50
_TOL = 1e-9


def single_threaded_blas(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``func`` with one BLAS thread.

    The kernels make many small matrix products; multithreaded BLAS is slower for
    them (dramatically so on a busy machine) and may sum in a different order from
    run to run. One thread makes the results bit-for-bit reproducible.
    """

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with threadpool_limits(limits=1, user_api="blas"):
            return func(*args, **kwargs)

    return wrapper


def check_inputs(
    y_true: object, y_prob: object, sample_weight: object | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate and convert ``y_true`` (0/1), ``y_prob`` ([0, 1]) and weights (>= 0)."""
    y = np.asarray(y_true, dtype=float).ravel()
    p = np.asarray(y_prob, dtype=float).ravel()
    if y.size == 0:
        raise ValueError("y_true is empty")
    if p.shape != y.shape:
        raise ValueError(f"y_true has {y.size} values but y_prob has {p.size}")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("y_true must contain only 0 and 1")
    if not np.all(np.isfinite(p)) or np.any(p < 0) or np.any(p > 1):
        raise ValueError("y_prob must be finite probabilities in [0, 1]")
    if sample_weight is None:
        w = np.ones_like(y)
    else:
        w = np.asarray(sample_weight, dtype=float).ravel()
        if w.shape != y.shape:
            raise ValueError(f"sample_weight has {w.size} values but y_true has {y.size}")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError("sample_weight must be finite and >= 0")
        if w.sum() <= 0:
            raise ValueError("sample_weight sums to 0")
    return y, p, w


def require_both_classes(y: np.ndarray, w: np.ndarray, metric: str) -> None:
    """Raise ValueError when one outcome class has no (positive) weight."""
    if not (np.any((y == 1) & (w > 0)) and np.any((y == 0) & (w > 0))):
        raise ValueError(f"{metric} needs both outcome classes (events and non-events)")


class MetricKernels:
    """Metrics of fixed ``(y, p)`` for a matrix of weights ``W`` of shape ``(B, n)``.

    Parameters
    ----------
    y, p : ndarray
        Validated outcomes (0/1) and predicted probabilities.
    w : ndarray
        Analysis weights; they set the smoother's bandwidths (see :meth:`ici`).
    span : float
        Smoother span: fraction of the total weight inside each local window.
    n_grid : int
        Maximum number of points at which the smoother is evaluated.
    """

    def __init__(
        self,
        y: np.ndarray,
        p: np.ndarray,
        w: np.ndarray,
        span: float = DEFAULT_SPAN,
        n_grid: int = DEFAULT_N_GRID,
    ) -> None:
        if not 0 < span <= 1:
            raise ValueError(f"span must be in (0, 1], got {span}")
        self.y, self.p, self.w = y, p, w
        self.span, self.n_grid = span, n_grid
        self.logit = np.log(np.clip(p, EPS, 1 - EPS)) - np.log1p(-np.clip(p, EPS, 1 - EPS))

    # ---- ranking -------------------------------------------------------------------
    @cached_property
    def _ties(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ascending sort order, start of each tie group, and y in sorted order."""
        order = np.argsort(self.p, kind="stable")
        ps = self.p[order]
        starts = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]])
        return order, starts, self.y[order]

    def _group_sums(self, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positive and negative weight per tie group (ascending p): two (B, G) arrays."""
        order, starts, ys = self._ties
        Ws = W[:, order]
        pos = np.add.reduceat(Ws * ys, starts, axis=1)
        neg = np.add.reduceat(Ws * (1.0 - ys), starts, axis=1)
        return pos, neg

    def auroc(self, W: np.ndarray) -> np.ndarray:
        """Weighted AUROC: P(p_event > p_non-event) + 0.5 P(tie), pairs weighted w_i w_j."""
        pos, neg = self._group_sums(W)
        neg_below = np.cumsum(neg, axis=1) - neg
        num = np.sum(pos * (neg_below + 0.5 * neg), axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return num / (pos.sum(axis=1) * neg.sum(axis=1))

    def auprc(self, W: np.ndarray) -> np.ndarray:
        """Weighted average precision: sum_k (R_k - R_{k-1}) P_k over distinct thresholds."""
        pos, neg = self._group_sums(W)
        # thresholds from the highest score down: cumulate from the right
        tp = np.cumsum(pos[:, ::-1], axis=1)
        fp = np.cumsum(neg[:, ::-1], axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
            recall_step = pos[:, ::-1] / tp[:, -1:]
        return np.sum(recall_step * precision, axis=1)

    def brier(self, W: np.ndarray) -> np.ndarray:
        """Weighted mean squared difference between p and y."""
        return (W @ (self.p - self.y) ** 2) / W.sum(axis=1)

    # ---- logistic recalibration ----------------------------------------------------
    def _logistic(self, W: np.ndarray, fit_slope: bool) -> tuple[np.ndarray, np.ndarray]:
        """Weighted ML fit of logit P(y=1) = a + b * logit(p) (b fixed at 1 unless fit_slope).

        Newton-Raphson from (a, b) = (0, 1) with step halving; replicates that do not
        converge (separation, constant predictions) get NaN.
        """
        y, x = self.y, self.logit
        B = W.shape[0]
        a, b = np.zeros(B), np.ones(B)
        done = np.zeros(B, dtype=bool)

        def loglik(a_: np.ndarray, b_: np.ndarray) -> np.ndarray:
            eta = a_[:, None] + b_[:, None] * x
            return np.sum(W * (y * eta - np.logaddexp(0.0, eta)), axis=1)

        ll = loglik(a, b)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for _ in range(_MAX_ITER):
                mu = expit(a[:, None] + b[:, None] * x)
                r, v = W * (y - mu), W * mu * (1.0 - mu)
                ga, haa = r.sum(axis=1), v.sum(axis=1)
                if fit_slope:
                    gb, hab, hbb = r @ x, v @ x, v @ (x * x)
                    det = haa * hbb - hab * hab
                    da, db = (hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det
                else:
                    da, db = ga / haa, np.zeros(B)
                bad = ~(np.isfinite(da) & np.isfinite(db))
                da[bad | done], db[bad | done] = 0.0, 0.0
                step = np.ones(B)
                for _ in range(30):
                    new_ll = loglik(a + step * da, b + step * db)
                    worse = ~(new_ll >= ll - 1e-12 * np.abs(ll))
                    if not worse.any():
                        break
                    step[worse] *= 0.5
                # a replicate whose step never improved the likelihood keeps its values
                step[worse] = 0.0
                a, b, ll = a + step * da, b + step * db, np.where(worse, ll, new_ll)
                size = np.abs(step * da) + np.abs(step * db)
                done |= size < _TOL * (1.0 + np.abs(a) + np.abs(b))
                done &= ~bad
                if np.all(done | bad):
                    break
        failed = ~done | ~np.isfinite(a) | ~np.isfinite(b)
        a[failed], b[failed] = np.nan, np.nan
        return a, b

    def calibration_intercept(self, W: np.ndarray) -> np.ndarray:
        """Calibration-in-the-large: a in logit P(y=1) = a + logit(p) (offset)."""
        return self._logistic(W, fit_slope=False)[0]

    def calibration_slope(self, W: np.ndarray) -> np.ndarray:
        """b in logit P(y=1) = a + b logit(p) (weighted logistic recalibration)."""
        return self._logistic(W, fit_slope=True)[1]

    # ---- smoothed calibration curve and ICI ----------------------------------------
    @cached_property
    def grid(self) -> np.ndarray:
        """Points where the smoother is evaluated: the distinct p, or an even grid."""
        uniq = np.unique(self.p)
        if uniq.size <= self.n_grid:
            return uniq
        return np.linspace(uniq[0], uniq[-1], self.n_grid)

    @cached_property
    def _smoother(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Tricube kernel matrix K (m, n), offsets D = p - grid (m, n), interpolation."""
        grid, w = self.grid, self.w
        D = self.p[None, :] - grid[:, None]
        A = np.abs(D)
        # Bandwidth at each grid point: the smallest distance whose window holds
        # `span` of the total weight (loess's nearest-neighbour span, weighted so
        # that integer weights act like duplicated rows), enlarged by 0.1% so the
        # last neighbour inside the window receives positive weight.
        order = np.argsort(A, axis=1, kind="stable")
        a_sorted = np.take_along_axis(A, order, axis=1)
        cum = np.cumsum(w[order], axis=1)
        idx = np.argmax(cum >= self.span * w.sum() * (1 - 1e-12), axis=1)
        h = a_sorted[np.arange(grid.size), idx] * 1.001
        h = np.where(h > 0, h, 1e-12)
        K = np.clip(1.0 - (A / h[:, None]) ** 3, 0.0, None) ** 3
        j = np.clip(np.searchsorted(grid, self.p, side="right") - 1, 0, max(grid.size - 2, 0))
        if grid.size > 1:
            frac = np.clip((self.p - grid[j]) / (grid[j + 1] - grid[j]), 0.0, 1.0)
        else:
            frac = np.zeros_like(self.p)
        return K, D, np.stack([j, frac])

    def smoothed_observed(self, W: np.ndarray) -> np.ndarray:
        """Local-linear weighted estimate of P(y=1 | p) at :attr:`grid`, shape (B, m).

        Clipped to [0, 1] (an observed proportion). NaN where a window holds no weight.
        """
        K, D, _ = self._smoother
        Wy = W * self.y
        KD = K * D
        s0, s1, s2 = W @ K.T, W @ KD.T, W @ (KD * D).T
        t0, t1 = Wy @ K.T, Wy @ KD.T
        with np.errstate(divide="ignore", invalid="ignore"):
            det = s0 * s2 - s1 * s1
            linear = (s2 * t0 - s1 * t1) / det
            # all weight at one p: the local line is undefined, use the local mean
            flat = det <= 1e-10 * s0 * s2
            est = np.where(flat, t0 / s0, linear)
        return np.clip(est, 0.0, 1.0)

    def ici(self, W: np.ndarray) -> np.ndarray:
        """Integrated calibration index: weighted mean |p - smoothed observed(p)|."""
        _, _, interp = self._smoother
        j, frac = interp[0].astype(int), interp[1]
        s = self.smoothed_observed(W)
        at_p = s[:, j] * (1.0 - frac) + s[:, np.minimum(j + 1, s.shape[1] - 1)] * frac
        return np.sum(W * np.abs(self.p - at_p), axis=1) / W.sum(axis=1)

    def all(self, W: np.ndarray) -> dict[str, np.ndarray]:
        """Every metric for every row of ``W``."""
        a0, _ = self._logistic(W, fit_slope=False)
        _, b1 = self._logistic(W, fit_slope=True)
        return {
            "auroc": self.auroc(W),
            "auprc": self.auprc(W),
            "brier": self.brier(W),
            "calibration_slope": b1,
            "calibration_intercept": a0,
            "ici": self.ici(W),
        }
