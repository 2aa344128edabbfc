"""An honest uncertainty interval for a served risk, from the held-out calibration CIs.

The training run measured, on held-out test patients, the calibration intercept
``a`` and slope ``b`` (logistic recalibration ``logit(true risk) = a + b
logit(risk)``) with bootstrap 95% confidence intervals. The interval shown for
a risk ``r`` is the range of ``expit(a + b logit(r))`` over the four corners of
those intervals, widened to contain ``r`` itself. It says how far the true risk
of patients given ``r`` may plausibly lie from ``r`` given how well the model was
calibrated on unseen patients. It is not a per-patient confidence interval and
does not include variation from refitting the model; it is unavailable when the
model carries no calibration CIs.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logit

from relapse_ml.artifact import RelapseRiskModel

INTERVAL_METHOD = (
    "Range of the risk after logistic recalibration with the held-out calibration intercept "
    "and slope at either end of their bootstrap 95% confidence intervals (and including the "
    "risk itself). It reflects how well calibrated the model was on unseen patients; it is "
    "not a per-patient confidence interval."
)
_KEYS = (
    "calibration_intercept_ci_low",
    "calibration_intercept_ci_high",
    "calibration_slope_ci_low",
    "calibration_slope_ci_high",
)
_CLIP = 1e-6


def risk_interval(
    model: RelapseRiskModel, risk: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Return ``(low, high)`` per risk, or None when the model has no calibration CIs."""
    metrics = model.metrics or {}
    if not all(k in metrics and np.isfinite(metrics[k]) for k in _KEYS):
        return None
    a_lo, a_hi, b_lo, b_hi = (float(metrics[k]) for k in _KEYS)
    r = np.asarray(risk, dtype=np.float64)
    z = logit(np.clip(r, _CLIP, 1 - _CLIP))
    corners = np.stack([expit(a + b * z) for a in (a_lo, a_hi) for b in (b_lo, b_hi)])
    return np.minimum(corners.min(axis=0), r), np.maximum(corners.max(axis=0), r)
