"""Cumulative-incidence curves: monotone, adding up to at most 1, anchored at the served risk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from relapse_ml.features import FeatureSpec
from relapse_ml.modeling.incidence import fit_incidence_curve
from relapse_ml.task import build_landmark_task

CATALOGUE = (
    FeatureSpec("burden", "antigen", "numeric", "", "tumour burden", ("patients.ldh_u_per_l",)),
    FeatureSpec("frailty", "clinical", "numeric", "", "frailty", ("patients.age_years",)),
)
HORIZONS = (180, 365, 730)


def cohort(n: int, seed: int, *, deaths: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Exponential relapse and death hazards driven by one feature each, uniform censoring."""
    rng = np.random.default_rng(seed)
    burden, frailty = rng.standard_normal(n), rng.standard_normal(n)
    relapse_time = rng.exponential(700 * np.exp(-0.8 * burden))
    death_time = rng.exponential(6000 * np.exp(-0.8 * frailty)) if deaths else np.full(n, np.inf)
    censor_time = rng.uniform(100, 1500, n)
    time = np.ceil(np.minimum.reduce([relapse_time, death_time, censor_time])).astype(int) + 1
    relapse = (relapse_time <= death_time) & (relapse_time <= censor_time)
    death = (death_time < relapse_time) & (death_time <= censor_time)
    ids = [f"P{i}" for i in range(n)]
    features = pd.DataFrame({"burden": burden, "frailty": frailty}, index=pd.Index(ids))
    outcomes = pd.DataFrame(
        {
            "patient_id": ids,
            "relapse": relapse,
            "time_days": time,
            "death_without_relapse": pd.Series(death, dtype="boolean"),
        }
    )
    return features, outcomes


def fitted(features, outcomes, landmark=28, **kwargs):
    at_risk = outcomes[outcomes.time_days > landmark]
    return fit_incidence_curve(
        features.loc[at_risk.patient_id],
        at_risk,
        catalogue=CATALOGUE,
        landmark_day=landmark,
        horizons_days=HORIZONS,
        primary_horizon=365,
        censoring="ipcw",
        **kwargs,
    )


def test_curves_are_monotone_add_up_to_at_most_one_and_keep_the_served_risk() -> None:
    features, outcomes = cohort(3000, seed=1)
    curve = fitted(features, outcomes)
    rng = np.random.default_rng(2)
    # Many patients, including extreme features and extreme served risks.
    new = pd.DataFrame({"burden": rng.normal(0, 3, 5000), "frailty": rng.normal(0, 3, 5000)})
    risk = rng.uniform(0, 1, 5000)
    risk[:10] = [0, 1, 1e-9, 1 - 1e-9, 0.5, 0, 1, 0.2, 0.9, 0.99]
    relapse, death = curve.incidences(new, risk)
    assert relapse.shape == death.shape == (5000, 3)
    np.testing.assert_array_equal(relapse[:, 1], risk)
    assert np.all(np.diff(relapse, axis=1) >= -1e-12)
    assert np.all(np.diff(death, axis=1) >= -1e-12)
    assert np.all(relapse + death <= 1 + 1e-12)
    assert np.all((relapse >= 0) & (death >= 0))


def test_mean_curve_matches_the_weighted_incidence_of_the_training_patients() -> None:
    features, outcomes = cohort(4000, seed=3)
    curve = fitted(features, outcomes)
    at_risk = outcomes[outcomes.time_days > 28]
    x = features.loc[at_risk.patient_id].reset_index(drop=True)
    primary = build_landmark_task(at_risk, 28, 365)
    # The served risk: a weighted logistic regression on the task's patients.
    served = LogisticRegression().fit(
        features.loc[primary.patient_ids], primary.label, sample_weight=primary.weight
    )
    risk = served.predict_proba(x)[:, 1]
    relapse, death = curve.incidences(x, risk)
    for k, horizon in enumerate(HORIZONS):
        task = build_landmark_task(at_risk, 28, horizon)
        observed_relapse = np.average(task.label, weights=task.weight)
        observed_death = np.average(task.death_label, weights=task.weight)
        assert relapse[:, k].mean() == pytest.approx(observed_relapse, abs=0.02), horizon
        assert death[:, k].mean() == pytest.approx(observed_death, abs=0.02), horizon


def test_horizons_not_after_the_landmark_are_missing_and_unknown_deaths_are_missing() -> None:
    features, outcomes = cohort(2000, seed=4)
    curve = fitted(features, outcomes, landmark=180)
    relapse, death = curve.incidences(features.iloc[:50], np.full(50, 0.3))
    assert np.isnan(relapse[:, 0]).all() and np.isnan(death[:, 0]).all()
    assert np.isfinite(relapse[:, 1:]).all() and np.isfinite(death[:, 1:]).all()
    version_1 = outcomes.drop(columns="death_without_relapse")
    curve = fitted(features, version_1)
    relapse, death = curve.incidences(features.iloc[:50], np.full(50, 0.3))
    assert not curve.death_known
    assert np.isnan(death).all() and np.isfinite(relapse).all()


def test_a_factor_with_few_events_is_the_weighted_share() -> None:
    features, outcomes = cohort(600, seed=5)
    curve = fitted(features, outcomes, min_events=10_000)
    assert all(f.estimator is None for f in curve.factors.values())
    relapse, _ = curve.incidences(features.iloc[:3], np.full(3, 0.4))
    assert relapse[0, 0] == pytest.approx(0.4 * curve.factors["relapse_by_180_given_by_365"].share)
