"""Weighted discrimination and calibration metrics for a binary outcome.

Every function takes ``y_true`` (0/1), ``y_prob`` (probabilities in [0, 1]) and
optional ``sample_weight`` (e.g. the IPCW weights of :mod:`relapse_ml.task`; all 1
when omitted). Integer weights give the same result as duplicating rows.

Definitions
-----------
auroc
    Weighted concordance: sum over event/non-event pairs of ``w_i w_j`` times
    ``1[p_i > p_j] + 0.5 * 1[p_i = p_j]``, divided by ``W_events * W_non_events``.
auprc
    Weighted average precision, ``sum_k (R_k - R_{k-1}) P_k`` over the distinct
    predicted values taken as thresholds from the highest down (as scikit-learn's
    ``average_precision_score``; no interpolation).
brier
    Weighted mean of ``(p - y)^2``.
calibration_intercept
    Calibration-in-the-large: ``a`` in the weighted logistic regression
    ``logit P(y = 1) = a + logit(p)`` with ``logit(p)`` as an offset. 0 is ideal;
    ``a > 0`` means risks are underestimated on average.
calibration_slope
    ``b`` in the weighted logistic regression ``logit P(y = 1) = a + b logit(p)``.
    1 is ideal; ``b < 1`` means predictions are too extreme (overfitting).
    Both fits are unpenalised maximum likelihood (Newton-Raphson); ``p`` is clipped
    to ``[1e-12, 1 - 1e-12]`` before the logit. When the estimate does not exist
    (complete separation, or constant predictions for the slope) the result is NaN.
ici
    Integrated calibration index (Austin & Steyerberg, Stat Med 2019;38:4051-65):
    weighted mean of ``|p - s(p)|`` where ``s`` is a smoothed estimate of the
    observed risk given ``p``. ``s`` is a weighted local-linear regression of ``y``
    on ``p`` with tricube kernel and nearest-neighbour span 0.75 (each window holds
    75% of the total weight; loess's default span, with degree 1 rather than 2),
    evaluated at the distinct predicted values (or at 200 evenly spaced points
    between the smallest and largest prediction when there are more, with linear
    interpolation in between) and clipped to [0, 1].
"""

from __future__ import annotations

import numpy as np

from relapse_ml.evaluation._kernels import (
    DEFAULT_N_GRID,
    DEFAULT_SPAN,
    MetricKernels,
    check_inputs,
    require_both_classes,
    single_threaded_blas,
)

__all__ = [
    "auprc",
    "auroc",
    "brier",
    "calibration_intercept",
    "calibration_slope",
    "ici",
    "smoothed_calibration",
]


def _kernels(
    y_true: object, y_prob: object, sample_weight: object | None, metric: str | None
) -> tuple[MetricKernels, np.ndarray]:
    y, p, w = check_inputs(y_true, y_prob, sample_weight)
    if metric is not None:
        require_both_classes(y, w, metric)
    return MetricKernels(y, p, w), w[None, :]


@single_threaded_blas
def auroc(y_true: object, y_prob: object, sample_weight: object | None = None) -> float:
    """Weighted area under the ROC curve (ties count one half).

    Raises
    ------
    ValueError
        When one outcome class is absent.
    """
    k, W = _kernels(y_true, y_prob, sample_weight, "auroc")
    return float(k.auroc(W)[0])


@single_threaded_blas
def auprc(y_true: object, y_prob: object, sample_weight: object | None = None) -> float:
    """Weighted average precision (area under the precision-recall curve, step-wise)."""
    k, W = _kernels(y_true, y_prob, sample_weight, "auprc")
    return float(k.auprc(W)[0])


@single_threaded_blas
def brier(y_true: object, y_prob: object, sample_weight: object | None = None) -> float:
    """Weighted Brier score: mean squared error of the predicted probabilities."""
    k, W = _kernels(y_true, y_prob, sample_weight, None)
    return float(k.brier(W)[0])


@single_threaded_blas
def calibration_intercept(
    y_true: object, y_prob: object, sample_weight: object | None = None
) -> float:
    """Calibration-in-the-large: intercept of logistic regression with logit(p) as offset.

    Returns NaN when the maximum-likelihood estimate does not exist.
    """
    k, W = _kernels(y_true, y_prob, sample_weight, "calibration_intercept")
    return float(k.calibration_intercept(W)[0])


@single_threaded_blas
def calibration_slope(y_true: object, y_prob: object, sample_weight: object | None = None) -> float:
    """Calibration slope: coefficient of logit(p) in logistic regression of y on logit(p).

    Returns NaN when the maximum-likelihood estimate does not exist.
    """
    k, W = _kernels(y_true, y_prob, sample_weight, "calibration_slope")
    return float(k.calibration_slope(W)[0])


@single_threaded_blas
def ici(
    y_true: object,
    y_prob: object,
    sample_weight: object | None = None,
    *,
    span: float = DEFAULT_SPAN,
) -> float:
    """Integrated calibration index: weighted mean absolute calibration error.

    Parameters
    ----------
    span : float, default 0.75
        Fraction of the total weight in each local-linear window.
    """
    y, p, w = check_inputs(y_true, y_prob, sample_weight)
    return float(MetricKernels(y, p, w, span=span).ici(w[None, :])[0])


@single_threaded_blas
def smoothed_calibration(
    y_true: object,
    y_prob: object,
    sample_weight: object | None = None,
    *,
    span: float = DEFAULT_SPAN,
    n_grid: int = DEFAULT_N_GRID,
) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed calibration curve: predicted risk vs smoothed observed risk.

    Returns
    -------
    predicted, observed : ndarray
        The evaluation grid (see the module docstring) and the weighted local-linear
        estimate of the observed risk there.
    """
    y, p, w = check_inputs(y_true, y_prob, sample_weight)
    k = MetricKernels(y, p, w, span=span, n_grid=n_grid)
    return k.grid.copy(), k.smoothed_observed(w[None, :])[0]
