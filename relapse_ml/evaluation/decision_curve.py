"""Decision-curve analysis: net benefit of treating patients whose risk exceeds a threshold.

Net benefit at threshold probability ``t`` (Vickers & Elkin, Med Decis Making
2006;26:565-74), with weights (IPCW) ``w`` and ``n = sum(w)``::

    NB_model(t)      = TP(t) / n - FP(t) / n * t / (1 - t)
    NB_treat_all(t)  = prevalence - (1 - prevalence) * t / (1 - t)
    NB_treat_none(t) = 0

where ``TP(t)`` and ``FP(t)`` are the weighted counts of events and non-events with
predicted risk ``p >= t``, and ``prevalence`` is the weighted event proportion.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from relapse_ml.evaluation._kernels import check_inputs

__all__ = ["DEFAULT_THRESHOLDS", "net_benefit_table"]

DEFAULT_THRESHOLDS = np.round(np.arange(0.01, 1.0, 0.01), 2)


def net_benefit_table(
    y_true: object,
    y_prob: object,
    sample_weight: object | None = None,
    thresholds: object | None = None,
) -> pd.DataFrame:
    """Net benefit of the model, treat-all and treat-none across threshold probabilities.

    Parameters
    ----------
    y_true, y_prob, sample_weight
        Outcomes (0/1), predicted risks and optional weights.
    thresholds : array-like of float in (0, 1), optional
        Threshold probabilities; default 0.01, 0.02, ..., 0.99.

    Returns
    -------
    DataFrame
        Columns ``threshold``, ``net_benefit_model``, ``net_benefit_treat_all``,
        ``net_benefit_treat_none``; one row per threshold, in the given order.
    """
    y, p, w = check_inputs(y_true, y_prob, sample_weight)
    t = DEFAULT_THRESHOLDS if thresholds is None else np.asarray(thresholds, dtype=float).ravel()
    if t.size == 0 or not np.all((t > 0) & (t < 1)):
        raise ValueError("thresholds must be a non-empty set of values strictly between 0 and 1")
    n = w.sum()
    treated = p[None, :] >= t[:, None]
    tp = treated @ (w * y) / n
    fp = treated @ (w * (1.0 - y)) / n
    odds = t / (1.0 - t)
    prevalence = float(np.sum(w * y) / n)
    return pd.DataFrame(
        {
            "threshold": t,
            "net_benefit_model": tp - fp * odds,
            "net_benefit_treat_all": prevalence - (1.0 - prevalence) * odds,
            "net_benefit_treat_none": np.zeros_like(t),
        }
    )
