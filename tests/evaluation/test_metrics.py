"""Metrics against hand-computed values, scikit-learn, and duplication consistency."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import expit, logit
from sklearn.metrics import average_precision_score, roc_auc_score

from relapse_ml.evaluation import (
    auprc,
    auroc,
    brier,
    calibration_intercept,
    calibration_slope,
    ici,
    smoothed_calibration,
)

Y4 = np.array([0, 0, 1, 1])
P4 = np.array([0.1, 0.4, 0.35, 0.8])


def test_auroc_four_points_by_hand() -> None:
    # event 0.35 beats 0.1 but not 0.4; event 0.8 beats both: 3 of 4 pairs
    assert auroc(Y4, P4) == pytest.approx(0.75)
    # a tie between an event and a non-event counts one half: 3.5 / 4
    assert auroc(Y4, [0.1, 0.4, 0.4, 0.8]) == pytest.approx(0.875)
    # weights (1, 2, 1, 1): concordant weight 1*1 + 1*1 + 1*2 = 4 of 3*2 = 6
    assert auroc(Y4, P4, [1, 2, 1, 1]) == pytest.approx(4 / 6)


def test_auprc_four_points_by_hand() -> None:
    # 0.8 (event): precision 1, recall 1/2; 0.4 (non-event): recall unchanged;
    # 0.35 (event): precision 2/3, recall 1 -> 1/2 * 1 + 1/2 * 2/3
    assert auprc(Y4, P4) == pytest.approx(5 / 6)


def test_brier_by_hand() -> None:
    assert brier([0, 1], [0.2, 0.6]) == pytest.approx((0.04 + 0.16) / 2)
    assert brier([0, 1], [0.2, 0.6], [3, 1]) == pytest.approx((3 * 0.04 + 0.16) / 4)


def test_ranking_metrics_match_scikit_learn_with_weights_and_ties() -> None:
    rng = np.random.default_rng(0)
    p = np.round(rng.random(300), 1)  # many ties
    y = (rng.random(300) < p).astype(int)
    w = rng.uniform(0.2, 3.0, 300)
    assert auroc(y, p, w) == pytest.approx(roc_auc_score(y, p, sample_weight=w), rel=1e-12)
    assert auprc(y, p, w) == pytest.approx(
        average_precision_score(y, p, sample_weight=w), rel=1e-12
    )


@pytest.mark.parametrize(
    "metric", [auroc, auprc, brier, calibration_slope, calibration_intercept, ici]
)
def test_integer_weights_equal_duplicated_rows(metric) -> None:
    rng = np.random.default_rng(1)
    p = rng.uniform(0.05, 0.9, 60)
    y = (rng.random(60) < p).astype(int)
    counts = rng.integers(1, 4, 60)
    weighted = metric(y, p, counts)
    duplicated = metric(np.repeat(y, counts), np.repeat(p, counts))
    assert weighted == pytest.approx(duplicated, rel=1e-9, abs=1e-12)


def test_weights_are_scale_invariant() -> None:
    rng = np.random.default_rng(2)
    p = rng.uniform(0.05, 0.9, 80)
    y = (rng.random(80) < p).astype(int)
    w = rng.uniform(0.5, 2, 80)
    for metric in (auroc, auprc, brier, calibration_slope, calibration_intercept, ici):
        assert metric(y, p, w) == pytest.approx(metric(y, p, 7.5 * w), rel=1e-9)


def test_calibration_intercept_closed_form_for_constant_prediction() -> None:
    # with p constant the offset model fits the observed rate: a = logit(1/4) - logit(1/2)
    assert calibration_intercept([1, 0, 0, 0], [0.5] * 4) == pytest.approx(-math.log(3))
    # weights (3, 1, 1, 1): observed rate 1/2 -> a = logit(1/2) - logit(0.2) = log 4
    assert calibration_intercept([1, 0, 0, 0], [0.2] * 4, [3, 1, 1, 1]) == pytest.approx(
        math.log(4)
    )


def test_calibration_slope_closed_form_for_two_risk_groups() -> None:
    # two distinct predictions -> saturated model: fitted risks = observed group rates
    # group p=0.2 has 1/4 events, group p=0.5 has 2/4: b = (logit .5 - logit .25)/(logit .5 - logit .2)
    y = [1, 0, 0, 0, 1, 1, 0, 0]
    p = [0.2] * 4 + [0.5] * 4
    assert calibration_slope(y, p) == pytest.approx(math.log(3) / math.log(4), rel=1e-9)


def test_calibration_fits_match_direct_likelihood_maximisation() -> None:
    rng = np.random.default_rng(4)
    p = rng.uniform(0.02, 0.95, 150)
    y = (rng.random(150) < expit(0.3 + 0.7 * logit(p))).astype(float)
    w = rng.uniform(0.5, 2, 150)
    x = logit(p)

    def nll(theta: np.ndarray) -> float:
        eta = theta[0] + theta[1] * x
        return float(-np.sum(w * (y * eta - np.logaddexp(0, eta))))

    def nll_offset(theta: np.ndarray) -> float:
        return nll(np.array([theta[0], 1.0]))

    direct = minimize(nll, [0.0, 1.0], method="BFGS", options={"gtol": 1e-10}).x
    direct_a = minimize(nll_offset, [0.0], method="BFGS", options={"gtol": 1e-10}).x
    assert calibration_slope(y, p, w) == pytest.approx(direct[1], abs=1e-5)
    assert calibration_intercept(y, p, w) == pytest.approx(direct_a[0], abs=1e-5)


def test_perfect_calibration_on_simulated_data() -> None:
    rng = np.random.default_rng(5)
    p = rng.beta(1.5, 4, 10_000)
    y = (rng.random(p.size) < p).astype(int)
    assert calibration_slope(y, p) == pytest.approx(1.0, abs=0.06)
    assert calibration_intercept(y, p) == pytest.approx(0.0, abs=0.04)
    assert ici(y, p) < 0.01


def test_miscalibration_is_detected() -> None:
    rng = np.random.default_rng(6)
    p = rng.beta(1.5, 4, 10_000)
    # true risk less extreme than predicted: slope 0.5
    y = (rng.random(p.size) < expit(0.5 * logit(p))).astype(int)
    assert calibration_slope(y, p) == pytest.approx(0.5, abs=0.04)
    assert ici(y, p) > 0.05
    # predictions systematically too low: intercept about +1 on the logit scale
    y_high = (rng.random(p.size) < expit(1.0 + logit(p))).astype(int)
    assert calibration_intercept(y_high, p) == pytest.approx(1.0, abs=0.07)


def test_calibration_undefined_gives_nan() -> None:
    # complete separation: the slope MLE is infinite
    assert math.isnan(calibration_slope([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]))
    # constant predictions: the slope is not identified
    assert math.isnan(calibration_slope([0, 1, 1, 0], [0.3] * 4))


def test_ici_two_risk_groups_by_hand() -> None:
    # a local line through two clusters passes through both group rates:
    # |0.2 - 0.25| for 4 patients, |0.5 - 0.5| for 4 -> 0.025
    y = [1, 0, 0, 0, 1, 1, 0, 0]
    p = [0.2] * 4 + [0.5] * 4
    assert ici(y, p) == pytest.approx(0.025, abs=1e-6)
    grid, observed = smoothed_calibration(y, p)
    np.testing.assert_allclose(grid, [0.2, 0.5])
    np.testing.assert_allclose(observed, [0.25, 0.5], atol=1e-6)


def test_smoothed_curve_follows_true_risk() -> None:
    rng = np.random.default_rng(7)
    p = rng.uniform(0.05, 0.6, 5_000)
    y = (rng.random(p.size) < p).astype(int)
    grid, observed = smoothed_calibration(y, p)
    assert grid.size == 200
    inner = (grid > 0.15) & (grid < 0.5)
    assert np.max(np.abs(observed[inner] - grid[inner])) < 0.04


@pytest.mark.parametrize(
    ("y", "p", "w", "message"),
    [
        ([0, 2], [0.1, 0.2], None, "only 0 and 1"),
        ([0, 1], [0.1, 1.2], None, r"\[0, 1\]"),
        ([0, 1], [0.1], None, "has 2 values"),
        ([0, 1], [0.1, 0.2], [1, -1], ">= 0"),
        ([1, 1], [0.1, 0.2], None, "both outcome classes"),
    ],
)
def test_bad_inputs_raise(y, p, w, message) -> None:
    with pytest.raises(ValueError, match=message):
        auroc(y, p, w)
