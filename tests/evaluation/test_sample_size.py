"""Riley et al. (BMJ 2020) sample-size criteria."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from relapse_ml.evaluation import (
    events_per_parameter,
    minority_events,
    r2_cs_from_c_statistic,
    riley_minimum_sample_size,
)


def test_riley_worked_example() -> None:
    # Riley et al. 2020 binary example (also pmsampsize's): 24 parameters,
    # prevalence 0.174, R2_CS 0.288 -> 623 (i), 662 (ii), 221 (iii); EPP 4.80
    result = riley_minimum_sample_size(24, 0.174, r2_cs=0.288)
    assert (result.n_shrinkage, result.n_optimism, result.n_intercept) == (623, 662, 221)
    assert result.n_required == 662
    assert result.max_r2_cs == pytest.approx(0.6032, abs=1e-4)
    assert result.shrinkage_optimism == pytest.approx(0.905, abs=1e-3)
    assert result.epp_required == pytest.approx(662 * 0.174 / 24)
    assert result.events_required == math.ceil(662 * 0.174)


def test_criteria_by_formula() -> None:
    result = riley_minimum_sample_size(10, 0.3, r2_cs=0.1, shrinkage=0.9)
    n1 = 10 / ((0.9 - 1) * math.log(1 - 0.1 / 0.9))
    assert result.n_shrinkage == math.ceil(n1)
    assert result.n_intercept == math.ceil((1.96 / 0.05) ** 2 * 0.3 * 0.7)


def test_c_statistic_conversion_matches_simulation() -> None:
    assert r2_cs_from_c_statistic(0.5, 0.2) == pytest.approx(0.0, abs=1e-12)
    # simulate the assumed model and fit it: LR per patient gives R2_CS
    rng = np.random.default_rng(0)
    n, phi, c = 200_000, 0.2, 0.8
    mu = math.sqrt(2) * 0.8416212335729143  # sqrt(2) * Phi^-1(0.8)
    y = (rng.random(n) < phi).astype(int)
    x = rng.normal(size=n) + mu * y
    fit = LogisticRegression(C=np.inf).fit(x[:, None], y)
    prob = expit(fit.decision_function(x[:, None]))
    ll = np.sum(y * np.log(prob) + (1 - y) * np.log1p(-prob))
    ybar = y.mean()
    ll0 = n * (ybar * np.log(ybar) + (1 - ybar) * np.log1p(-ybar))
    simulated = 1 - np.exp(-2 * (ll - ll0) / n)
    assert r2_cs_from_c_statistic(c, phi) == pytest.approx(simulated, abs=0.005)


def test_c_statistic_input_and_validation() -> None:
    by_c = riley_minimum_sample_size(20, 0.25, c_statistic=0.75)
    by_r2 = riley_minimum_sample_size(20, 0.25, r2_cs=r2_cs_from_c_statistic(0.75, 0.25))
    assert by_c == by_r2
    with pytest.raises(ValueError, match="exactly one"):
        riley_minimum_sample_size(20, 0.25)
    with pytest.raises(ValueError, match="prevalence"):
        riley_minimum_sample_size(20, 1.2, r2_cs=0.1)


def test_events_per_parameter() -> None:
    assert events_per_parameter(50, 10) == 5.0
    with pytest.raises(ValueError):
        events_per_parameter(50, 0)


def test_minority_events_counts_the_smaller_weighted_class() -> None:
    y = np.array([1, 1, 0, 0, 0, 0])
    w = np.array([2.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    assert minority_events(y, w) == pytest.approx(3.0)  # 3 weighted events < 4 non-events
    assert minority_events(y) == pytest.approx(2.0)
    assert events_per_parameter(minority_events(y, w), 2) == pytest.approx(1.5)
