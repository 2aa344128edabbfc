"""Competing risks: event codes, Aalen-Johansen incidence and the cause-specific Cox baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.nonparametric import cumulative_incidence_competing_risks, kaplan_meier_estimator
from sksurv.util import Surv

from relapse_ml.evaluation import (
    aalen_johansen_incidence,
    auroc,
    cumulative_incidence_from_cause_specific_hazards,
    event_codes,
    fit_cause_specific_cox,
)
from relapse_ml.task import build_landmark_task

# Nine patients, landmark 0. Day 5 has a relapse, a death and a censoring (a tie of all
# three kinds); day 12 a relapse and a death.
HAND_T = np.array([3, 5, 5, 5, 8, 10, 12, 12, 15])
HAND_E = np.array([1, 1, 2, 0, 1, 0, 1, 2, 0])


def simulate(n: int, seed: int, *, beta: float = 1.5, death_rate: float = 1 / 600):
    """Relapse hazard exp(beta * x) / 300 per day, death hazard constant, uniform censoring.

    Times are rounded up to whole days (ties, as in the data), and start at day 0, so
    some patients have their event or censoring before the landmark.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    relapse = rng.exponential(300 * np.exp(-beta * x))
    death = rng.exponential(1 / death_rate, size=n)
    censor = rng.uniform(30, 900, size=n)
    first = np.minimum.reduce([relapse, death, censor])
    event = np.select([first == relapse, first == death], [1, 2], 0)
    return np.ceil(first), event, x


def step(times, values, at):
    """Right-continuous step function through (times, values), 0 before the first time."""
    index = np.searchsorted(times, at, side="right") - 1
    return np.where(index >= 0, np.asarray(values)[..., np.maximum(index, 0)], 0.0)


# --- event codes ---------------------------------------------------------------------


def test_event_codes_by_hand():
    relapse = [True, False, False, False, True]
    death = pd.array([pd.NA, True, False, pd.NA, False], dtype="boolean")
    # relapse wins whatever death says; NA death without relapse is censoring
    np.testing.assert_array_equal(event_codes(relapse, death), [1, 2, 0, 0, 1])
    # plain Python / float missing values are read the same way
    np.testing.assert_array_equal(
        event_codes(relapse, [None, 1.0, 0.0, np.nan, None]), [1, 2, 0, 0, 1]
    )


def test_event_codes_refuse_contradictions_and_missing_relapse():
    with pytest.raises(ValueError, match="both relapse and death"):
        event_codes([True, False], [True, False])
    with pytest.raises(ValueError, match="relapse must not be missing"):
        event_codes([None, False], [False, False])
    with pytest.raises(ValueError, match="length"):
        event_codes([True], [False, False])


# --- Aalen-Johansen --------------------------------------------------------------------


def test_aalen_johansen_by_hand_with_tied_causes():
    # day 3:  n=9, one relapse        -> F1 = 1/9,            S = 8/9
    # day 5:  n=8, relapse and death  -> F1 += 8/9 * 1/8,     F2 = 8/9 * 1/8,  S = 6/9
    #         (the patient censored on day 5 is at risk for both events)
    # day 8:  n=5, relapse            -> F1 += 6/9 * 1/5,     S = 24/45
    # day 12: n=3, relapse and death  -> F1 += 24/45 * 1/3,   F2 += 24/45 * 1/3
    relapse = aalen_johansen_incidence(HAND_T, HAND_E, 12, cause=1)
    death = aalen_johansen_incidence(HAND_T, HAND_E, 12, cause=2)
    assert relapse.estimate == pytest.approx(1 / 9 + 1 / 9 + 2 / 15 + 8 / 45)  # 24/45
    assert death.estimate == pytest.approx(1 / 9 + 8 / 45)  # 13/45
    assert (relapse.n_at_risk, relapse.n_events, death.n_events) == (9, 4, 2)
    # between event days the estimate is that of the last day before
    assert aalen_johansen_incidence(HAND_T, HAND_E, 11).estimate == pytest.approx(16 / 45)
    assert aalen_johansen_incidence(HAND_T, HAND_E, 2).estimate == 0.0
    for ci in (relapse, death):
        assert 0 < ci.ci_low < ci.estimate < ci.ci_high < 1


def test_estimate_and_interval_are_scikit_survivals_at_the_horizon():
    # the horizon is looked up on the landmark clock, between event days included, for
    # the right cause, and alpha is the complement of scikit-survival's conf_level
    t, e, _ = simulate(400, 10)
    landmark = 28
    kept = t > landmark
    days, cif, ci = cumulative_incidence_competing_risks(
        e[kept], t[kept] - landmark, conf_type="log-log", conf_level=0.9
    )
    for cause in (1, 2):
        for horizon in (landmark + days[2], 100.5, 365, 700):
            got = aalen_johansen_incidence(t, e, horizon, landmark=landmark, cause=cause, alpha=0.1)
            expected = step(days, cif[cause], horizon - landmark)
            low, high = step(days, ci[cause], horizon - landmark)
            assert got.estimate == pytest.approx(expected, rel=1e-12)
            assert (got.ci_low, got.ci_high) == pytest.approx((low, high), rel=1e-12)
            assert 0 < got.ci_low < got.estimate < got.ci_high < 1


def test_aalen_johansen_conditions_on_the_landmark():
    # landmark 4 drops the day-3 relapse: n=8 at risk from day 5 on
    # day 5: F1 = 1/8, S = 6/8; day 8 (n=5): F1 += 6/8 * 1/5, S = 0.6; day 12 (n=3): F1 += 0.6/3
    at_4 = aalen_johansen_incidence(HAND_T, HAND_E, 100, landmark=4)
    assert at_4.estimate == pytest.approx(1 / 8 + 0.15 + 0.2)
    assert (at_4.n_at_risk, at_4.n_events) == (8, 3)
    t, e, _ = simulate(300, 1)
    landmark, horizon = 28, 365
    kept = t > landmark
    for cause in (1, 2):
        shifted = aalen_johansen_incidence(
            t[kept] - landmark, e[kept], horizon - landmark, cause=cause
        )
        direct = aalen_johansen_incidence(t, e, horizon, landmark=landmark, cause=cause)
        assert direct == shifted


def test_without_censoring_it_is_the_plain_proportion():
    t, e, _ = simulate(400, 2)
    e = np.where(e == 0, 2, e)  # every censoring made a death: no censoring left
    landmark = 28
    kept = t > landmark
    assert np.unique(t[kept & (e == 1)], return_counts=True)[1].max() > 1  # tied days
    for cause in (1, 2):
        for horizon in (60, 180, 365):
            expected = np.mean((e[kept] == cause) & (t[kept] <= horizon))
            got = aalen_johansen_incidence(t, e, horizon, landmark=landmark, cause=cause)
            assert got.estimate == pytest.approx(expected)


def test_without_competing_events_it_is_one_minus_kaplan_meier():
    t, e, _ = simulate(400, 3)
    e = np.where(e == 2, 0, e)  # deaths made censorings: no competing event
    landmark = 28
    kept = t > landmark
    days, survival, ci = kaplan_meier_estimator(
        e[kept] == 1, t[kept] - landmark, conf_type="log-log"
    )
    for horizon in (60, 180, 365, 700):
        got = aalen_johansen_incidence(t, e, horizon, landmark=landmark)
        assert got.estimate == pytest.approx(1 - step(days, survival, horizon - landmark))
        # the interval is the Kaplan-Meier one, flipped: low = 1 - upper bound of S
        s_low, s_high = step(days, ci, horizon - landmark)
        assert (got.ci_low, got.ci_high) == pytest.approx((1 - s_high, 1 - s_low))
        assert got.ci_low < got.estimate < got.ci_high
    # and no incidence at all for the cause without events
    death = aalen_johansen_incidence(t, e, 365, landmark=landmark, cause=2)
    assert death.estimate == 0.0 and death.n_events == 0
    assert np.isnan(death.ci_low) and np.isnan(death.ci_high)


def test_relapse_and_death_add_up_to_one_minus_event_free_survival():
    t, e, _ = simulate(500, 4)
    landmark = 28
    kept = t > landmark
    days, survival = kaplan_meier_estimator(e[kept] > 0, t[kept] - landmark)
    # relapse and death on the same day exist: the tie rule is exercised
    days_1, days_2 = set(t[kept & (e == 1)]), set(t[kept & (e == 2)])
    assert days_1 & days_2
    for horizon in (45, 120, 365, 800):
        relapse = aalen_johansen_incidence(t, e, horizon, landmark=landmark, cause=1)
        death = aalen_johansen_incidence(t, e, horizon, landmark=landmark, cause=2)
        assert relapse.estimate + death.estimate == pytest.approx(
            1 - step(days, survival, horizon - landmark)
        )


def test_it_is_the_ipcw_weighted_share_of_the_landmark_task():
    # The task's IPCW weights (censoring Kaplan-Meier, events before censorings on a
    # day) make the weighted share of each label the Aalen-Johansen incidence, ties
    # between relapses, deaths and censorings included.
    rng = np.random.default_rng(11)
    n = 700
    time = rng.integers(1, 800, size=n)  # whole days: many ties, some before L
    kind = rng.choice([0, 1, 2], size=n, p=[0.35, 0.4, 0.25])  # censored, relapse, death
    frame = pd.DataFrame(
        {
            "patient_id": [f"P{i}" for i in range(n)],
            "relapse": kind == 1,
            "time_days": time,
            "death_without_relapse": pd.Series(kind == 2, dtype="boolean"),
        }
    )
    kept = time > 28
    days_of = {k: set(time[kept & (kind == k)]) for k in (0, 1, 2)}
    assert days_of[1] & days_of[2] and days_of[1] & days_of[0]  # tied kinds on one day
    for horizon in (90, 365, 700):
        task = build_landmark_task(frame, landmark_day=28, horizon_days=horizon)
        for cause, label in ((1, task.label), (2, task.death_label)):
            aj = aalen_johansen_incidence(time, kind, horizon, landmark=28, cause=cause)
            share = np.average(label, weights=task.weight)
            assert share == pytest.approx(aj.estimate, rel=1e-9)
            assert aj.n_events == int(label.sum())


def test_confidence_interval_widens_with_confidence():
    t, e, _ = simulate(300, 5)
    wide = aalen_johansen_incidence(t, e, 365, landmark=28, alpha=0.01)
    narrow = aalen_johansen_incidence(t, e, 365, landmark=28, alpha=0.5)
    assert wide.estimate == narrow.estimate
    assert wide.ci_low < narrow.ci_low < narrow.estimate < narrow.ci_high < wide.ci_high


@pytest.mark.parametrize(
    ("time", "event", "horizon", "kwargs", "message"),
    [
        ([3, 5], [1, 3], 10, {}, "event codes"),
        ([3, 0], [1, 0], 10, {}, "time"),
        ([3, 5], [1, 0], 10, {"landmark": 10}, "after the landmark"),
        ([3, 5], [1, 0], 10, {"landmark": 6}, "no patient is at risk"),
        ([3, 5], [1, 0], 10, {"cause": 0}, "cause"),
        ([3, 5], [1, 2], 10, {"alpha": 1.0}, "alpha"),
    ],
)
def test_aalen_johansen_refuses_bad_input(time, event, horizon, kwargs, message):
    with pytest.raises(ValueError, match=message):
        aalen_johansen_incidence(time, event, horizon, **kwargs)


# --- combining cause-specific hazards --------------------------------------------------


def test_cumulative_incidence_from_hazards_by_hand():
    # one patient, linear predictors 0; jumps at t=1: dL1=0.1, dL2=0.3; t=2: dL1=0.2.
    # t=1: P(event) = 1 - exp(-0.4), shared 1:3;  S(1) = exp(-0.4)
    # t=2: P(event) = 1 - exp(-0.2), all relapse
    cif = cumulative_incidence_from_cause_specific_hazards(
        [1.0, 2.0], {1: [0.1, 0.2], 2: [0.3, 0.0]}, {1: [0.0], 2: [0.0]}, [0.5, 1, 1.5, 2, 9]
    )
    p1 = 1 - np.exp(-0.4)
    relapse = [0, 0.25 * p1, 0.25 * p1] + [0.25 * p1 + np.exp(-0.4) * (1 - np.exp(-0.2))] * 2
    np.testing.assert_allclose(cif[1][0], relapse)
    np.testing.assert_allclose(cif[2][0], [0, 0.75 * p1, 0.75 * p1, 0.75 * p1, 0.75 * p1])
    # the two add up to 1 - S = 1 - exp(-(0.1 + 0.3 + 0.2))
    assert cif[1][0, -1] + cif[2][0, -1] == pytest.approx(1 - np.exp(-0.6))
    # a linear predictor of log(2) is the same as doubling the baseline increments
    doubled = cumulative_incidence_from_cause_specific_hazards(
        [1.0, 2.0], {1: [0.2, 0.4], 2: [0.3, 0.0]}, {1: [0.0], 2: [0.0]}, [2]
    )
    shifted = cumulative_incidence_from_cause_specific_hazards(
        [1.0, 2.0], {1: [0.1, 0.2], 2: [0.3, 0.0]}, {1: [np.log(2)], 2: [0.0]}, [2]
    )
    np.testing.assert_allclose(shifted[1], doubled[1])
    np.testing.assert_allclose(shifted[2], doubled[2])


def test_small_increments_give_the_usual_sum_of_survival_times_hazard():
    # CIF_k(H) = sum S(t-) dL_k(t) with S = exp(-L) to first order in the increments
    rng = np.random.default_rng(6)
    times = np.arange(1.0, 201.0)
    d1, d2 = rng.uniform(0, 2e-4, 200), rng.uniform(0, 1e-4, 200)
    cif = cumulative_incidence_from_cause_specific_hazards(
        times, {1: d1, 2: d2}, {1: [0.0], 2: [0.0]}, [200]
    )
    s_before = np.exp(-(np.cumsum(d1 + d2) - (d1 + d2)))
    assert cif[1][0, 0] == pytest.approx(np.sum(s_before * d1), rel=1e-4)
    assert cif[2][0, 0] == pytest.approx(np.sum(s_before * d2), rel=1e-4)


# --- cause-specific Cox ----------------------------------------------------------------


def test_one_cause_one_covariate_is_one_minus_scikit_survival_survival():
    t, e, x = simulate(300, 7)
    e = np.where(e == 2, 0, e)  # no competing event
    landmark = 28
    kept = t > landmark
    features = pd.DataFrame({"x": x})
    model = fit_cause_specific_cox(features, t, e, landmark=landmark, penalizer=0.0)
    assert model.n_events == {1: int(((e == 1) & kept).sum()), 2: 0}
    assert model.models[2] is None and not model.baseline_hazards[2].any()
    # unpenalised, standardising changes neither the fit nor the predictions: the
    # reference is fitted on the raw covariate
    y = Surv.from_arrays(e[kept] == 1, t[kept] - landmark)
    reference = CoxPHSurvivalAnalysis(ties="breslow").fit(x[kept, None], y)
    assert model.models[1].coef_[0] / model.scale[0] == pytest.approx(reference.coef_[0])
    horizons = [45, 100, 365, 800]
    cif = model.predict_cumulative_incidence(features.iloc[:20], horizons)
    survival = reference.predict_survival_function(x[:20, None], return_array=True)
    for h in horizons:
        expected = 1 - step(reference.unique_times_, survival, h - landmark)
        np.testing.assert_allclose(cif[(1, h)], expected, rtol=1e-6)
        np.testing.assert_array_equal(cif[(2, h)], 0.0)  # no death: no incidence
    # the penalty is scikit-survival's alpha = penalizer * n on the standardised covariate
    penalised = fit_cause_specific_cox(features, t, e, landmark=landmark, penalizer=0.5)
    z = (x[kept, None] - penalised.center) / penalised.scale
    ridge = CoxPHSurvivalAnalysis(alpha=0.5 * kept.sum()).fit(z, y)
    assert penalised.models[1].coef_ == pytest.approx(ridge.coef_)
    assert abs(ridge.coef_[0]) < 0.8 * abs(model.models[1].coef_[0])  # it does shrink


def test_without_features_the_baselines_are_nelson_aalen():
    # constant features are dropped; with none left, Breslow's baseline is d_k(t) / n(t):
    # days 3, 5, 8, 10, 12, 15 with 9, 8, 5, 4, 3, 1 at risk
    features = pd.DataFrame({"centre": np.ones(HAND_T.size)})
    model = fit_cause_specific_cox(features, HAND_T, HAND_E, landmark=0)
    assert model.columns == () and model.dropped == ("centre",)
    assert model.models == {1: None, 2: None}
    np.testing.assert_array_equal(model.times, [3, 5, 8, 10, 12, 15])
    np.testing.assert_allclose(model.baseline_hazards[1], [1 / 9, 1 / 8, 1 / 5, 0, 1 / 3, 0])
    np.testing.assert_allclose(model.baseline_hazards[2], [0, 1 / 8, 0, 0, 1 / 3, 0])
    cif = model.predict_cumulative_incidence(features.iloc[:2], [4])
    np.testing.assert_allclose(cif[(1, 4)], 1 - np.exp(-1 / 9))  # only day 3 counts


def test_combined_incidences_are_proper_and_rank_by_the_covariate():
    t, e, x = simulate(800, 8, beta=1.5)
    landmark, horizons = 28, [60, 120, 180, 365, 540]
    noise = np.random.default_rng(80).normal(size=x.size)
    features = pd.DataFrame({"x": x, "noise": noise, "centre": 3.0})
    model = fit_cause_specific_cox(features, t, e, landmark=landmark)
    assert model.columns == ("x", "noise") and model.dropped == ("centre",)
    # the effect is found (coefficients are per standard deviation among those at risk)
    x_per_unit, noise_per_unit = model.models[1].coef_ / model.scale
    assert x_per_unit == pytest.approx(1.5, abs=0.2) and abs(noise_per_unit) < 0.2
    cif = model.predict_cumulative_incidence(features, horizons)
    relapse = np.column_stack([cif[(1, h)] for h in horizons])
    death = np.column_stack([cif[(2, h)] for h in horizons])
    for values in (relapse, death, relapse + death):
        assert np.all(np.diff(values, axis=1) >= 0)
    assert np.all((relapse >= 0) & (relapse <= 1) & (death >= 0) & (death <= 1))
    # at most 1 (up to rounding: the sum is 1 - S(H), and S(H) is near 0 for some)
    assert np.all(relapse + death <= 1 + 1e-12) and (relapse + death).max() > 0.99
    # discrimination at day 365 among the patients whose status by then is known
    kept = t > landmark
    label = (e == 1) & (t <= 365)
    known = kept & (label | (t >= 365) | (e == 2))
    assert auroc(label[known].astype(int), cif[(1, 365)][known]) > 0.75
    # the model's average incidence agrees with the nonparametric estimate
    for cause in (1, 2):
        aj = aalen_johansen_incidence(t, e, 365, landmark=landmark, cause=cause)
        assert np.mean(cif[(cause, 365)][kept]) == pytest.approx(aj.estimate, abs=0.03)


def test_cause_specific_cox_refuses_bad_features():
    t, e, x = simulate(100, 9)
    with pytest.raises(ValueError, match="finite"):
        fit_cause_specific_cox(
            pd.DataFrame({"x": np.where(t > 28, np.nan, 0.0)}), t, e, landmark=28
        )
    with pytest.raises(ValueError, match="numeric"):
        fit_cause_specific_cox(pd.DataFrame({"x": x.astype(str)}), t, e, landmark=28)
    model = fit_cause_specific_cox(pd.DataFrame({"x": x}), t, e, landmark=28)
    with pytest.raises(ValueError, match="lack column"):
        model.predict_cumulative_incidence(pd.DataFrame({"y": x}), [365])
    with pytest.raises(ValueError, match="after the landmark"):
        model.predict_cumulative_incidence(pd.DataFrame({"x": x}), [28])
