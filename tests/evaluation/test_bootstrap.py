"""Bootstrap confidence intervals: keys, coverage of the point, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from relapse_ml.evaluation import METRIC_NAMES, auroc, brier, ici, metrics_with_ci


def data(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.beta(2, 5, n)
    y = (rng.random(n) < p).astype(int)
    w = rng.uniform(0.5, 2.0, n)
    return y, p, w


def test_keys_points_and_intervals() -> None:
    y, p, w = data()
    result = metrics_with_ci(y, p, w, seed=1, n_boot=200)
    expected = {f"{m}{s}" for m in METRIC_NAMES for s in ("", "_ci_low", "_ci_high")}
    assert set(result) == expected
    assert result["auroc"] == pytest.approx(auroc(y, p, w))
    assert result["brier"] == pytest.approx(brier(y, p, w))
    assert result["ici"] == pytest.approx(ici(y, p, w))
    for name in METRIC_NAMES:
        assert result[f"{name}_ci_low"] < result[name] < result[f"{name}_ci_high"], name


def test_deterministic_for_a_seed_and_seed_matters() -> None:
    y, p, w = data()
    first = metrics_with_ci(y, p, w, seed=7, n_boot=150)
    assert metrics_with_ci(y, p, w, seed=7, n_boot=150) == first
    other = metrics_with_ci(y, p, w, seed=8, n_boot=150)
    assert other["auroc"] == first["auroc"]
    assert other["auroc_ci_low"] != first["auroc_ci_low"]


def test_interval_width_matches_stratified_standard_error() -> None:
    # Brier of unit-weight data is a mean of squared errors e. Resampling events and
    # non-events separately (fixed class sizes) gives SE^2 = (n1 var1 + n0 var0) / n^2,
    # smaller than the unstratified var(e) / n; the 95% interval spans about 3.92 SE.
    y, p, _ = data(n=1_000, seed=3)
    result = metrics_with_ci(y, p, seed=0, n_boot=500)
    e = (p - y) ** 2
    n1, n0 = (y == 1).sum(), (y == 0).sum()
    se = np.sqrt(n1 * e[y == 1].var() + n0 * e[y == 0].var()) / y.size
    width = result["brier_ci_high"] - result["brier_ci_low"]
    assert width == pytest.approx(3.92 * se, rel=0.12)
    assert width < 0.85 * 3.92 * e.std() / np.sqrt(y.size)  # narrower than unstratified


def test_more_patients_give_narrower_intervals() -> None:
    small = metrics_with_ci(*data(n=200, seed=4), seed=0, n_boot=200)
    large = metrics_with_ci(*data(n=2_000, seed=4), seed=0, n_boot=200)
    for name in ("auroc", "brier", "calibration_slope"):
        small_w = small[f"{name}_ci_high"] - small[f"{name}_ci_low"]
        large_w = large[f"{name}_ci_high"] - large[f"{name}_ci_low"]
        assert large_w < small_w, name


def test_single_class_is_rejected() -> None:
    with pytest.raises(ValueError, match="both outcome classes"):
        metrics_with_ci([1, 1, 1], [0.2, 0.3, 0.4], seed=0)
