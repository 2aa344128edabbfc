"""Point estimates with stratified bootstrap percentile confidence intervals."""

from __future__ import annotations

import numpy as np

from relapse_ml.evaluation._kernels import (
    MetricKernels,
    check_inputs,
    require_both_classes,
    single_threaded_blas,
)

__all__ = ["METRIC_NAMES", "metrics_with_ci"]

METRIC_NAMES = (
    "auroc",
    "auprc",
    "brier",
    "calibration_slope",
    "calibration_intercept",
    "ici",
)
# Replicates are processed in fixed-size chunks to bound memory; the chunk size is a
# constant so results depend only on the seed.
_CHUNK = 128


def _percentile_ci(values: np.ndarray, level: float) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return float("nan"), float("nan")
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(finite, [alpha, 1.0 - alpha])
    return float(low), float(high)


@single_threaded_blas
def metrics_with_ci(
    y_true: object,
    y_prob: object,
    sample_weight: object | None = None,
    *,
    seed: int,
    n_boot: int = 1000,
    level: float = 0.95,
) -> dict[str, float]:
    """All metrics with bootstrap percentile confidence intervals.

    Patients are resampled with replacement within outcome strata (events and
    non-events separately, each to its original size), keeping each patient's
    weight; every metric is recomputed on each replicate and the interval is the
    ``(1 - level) / 2`` and ``(1 + level) / 2`` percentiles of the replicates. The
    predictions are those of the fitted model (the model is not refitted), so the
    intervals describe the sampling uncertainty of the test-set estimates.

    For ``ici`` the smoother's bandwidths are fixed at those of the analysis sample
    (so a replicate is a linear smoother applied with new weights). Replicates in
    which a calibration fit does not converge (separation) are left out of that
    metric's percentiles.

    Parameters
    ----------
    y_true, y_prob, sample_weight
        As for the metric functions in :mod:`relapse_ml.evaluation.metrics`.
    seed : int
        Seed of the resampling; same inputs and seed give identical results.
    n_boot : int, default 1000
        Number of bootstrap replicates.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    dict
        ``{name, name_ci_low, name_ci_high}`` for each name in :data:`METRIC_NAMES`.
    """
    y, p, w = check_inputs(y_true, y_prob, sample_weight)
    require_both_classes(y, w, "metrics_with_ci")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    kernels = MetricKernels(y, p, w)
    point = kernels.all(w[None, :])

    strata = [np.flatnonzero(y == 1), np.flatnonzero(y == 0)]
    rng = np.random.default_rng(seed)
    replicates: dict[str, list[np.ndarray]] = {name: [] for name in METRIC_NAMES}
    for start in range(0, n_boot, _CHUNK):
        b = min(_CHUNK, n_boot - start)
        counts = np.zeros((b, y.size))
        for idx in strata:
            m = idx.size
            # draw m patients with replacement per replicate; count draws per patient
            draws = rng.integers(0, m, size=(b, m)) + m * np.arange(b)[:, None]
            counts[:, idx] = np.bincount(draws.ravel(), minlength=b * m).reshape(b, m)
        values = kernels.all(counts * w)
        for name in METRIC_NAMES:
            replicates[name].append(values[name])

    out: dict[str, float] = {}
    for name in METRIC_NAMES:
        low, high = _percentile_ci(np.concatenate(replicates[name]), level)
        out[name] = float(point[name][0])
        out[f"{name}_ci_low"] = low
        out[f"{name}_ci_high"] = high
    return out
