"""Landmark task: hand-computed Kaplan-Meier, labels and IPCW weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from relapse_ml.errors import UserError
from relapse_ml.task import (
    TaskDefinitionError,
    build_landmark_task,
    censoring_survival,
    kaplan_meier,
)


def outcomes(rows: list[tuple[str, bool, int]]) -> pd.DataFrame:
    ids, relapse, time = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "patient_id": pd.Series(ids, dtype="str"),
            "relapse": pd.Series(relapse, dtype=bool),
            "time_days": pd.Series(time, dtype="int64"),
        }
    )


# L = 28, H = 365. A and B are not at risk at L; D and E are censored before H;
# D is censored on the day C relapses (tie); I is last seen relapse-free on day H.
NINE = outcomes(
    [
        ("A", True, 10),
        ("B", False, 28),
        ("C", True, 100),
        ("D", False, 100),
        ("E", False, 200),
        ("F", True, 300),
        ("G", False, 400),
        ("H", True, 500),
        ("I", False, 365),
    ]
)


def test_kaplan_meier_hand_computed() -> None:
    # relapse-free survival among the 7 at-risk patients (C..I):
    # day 100: 7 at risk (D censored the same day stays at risk), 1 event -> 6/7
    # day 300: 4 at risk (F, G, H, I), 1 event -> 6/7 * 3/4 = 9/14
    # day 500: 1 at risk (H), 1 event -> 0
    at_risk = NINE[NINE.time_days > 28]
    km = kaplan_meier(at_risk.time_days.to_numpy(), at_risk.relapse.to_numpy())
    np.testing.assert_allclose(km.times, [100, 300, 500])
    np.testing.assert_allclose(km.at_risk, [7, 4, 1])
    np.testing.assert_allclose(
        km([50, 100, 299, 300, 365, 500, 900]), [1, 6 / 7, 6 / 7, 9 / 14, 9 / 14, 0, 0]
    )
    np.testing.assert_allclose(km.left_limit([100, 300, 500]), [1, 6 / 7, 9 / 14])


def test_censoring_survival_relapse_before_censoring_at_ties() -> None:
    # censoring as the event; at day 100 C relapses first, so 6 (not 7) at risk:
    # 100: 5/6; 200: 5 at risk -> 2/3; 365: 3 at risk -> 4/9; 400: 2 at risk -> 2/9
    at_risk = NINE[NINE.time_days > 28]
    g = censoring_survival(at_risk.time_days.to_numpy(), at_risk.relapse.to_numpy())
    np.testing.assert_allclose(g.times, [100, 200, 365, 400])
    np.testing.assert_allclose(g.at_risk, [6, 5, 3, 2])
    np.testing.assert_allclose(g([100, 200, 365, 400]), [5 / 6, 2 / 3, 4 / 9, 2 / 9])
    np.testing.assert_allclose(g.left_limit([100, 300, 365]), [1, 2 / 3, 2 / 3])
    # the usual convention would keep C at risk: 6/7 at day 100
    usual = kaplan_meier(at_risk.time_days.to_numpy(), ~at_risk.relapse.to_numpy())
    assert usual(100) == pytest.approx(6 / 7)


def test_ipcw_task_hand_computed() -> None:
    task = build_landmark_task(NINE, landmark_day=28, horizon_days=365)
    assert list(task.patient_ids) == ["C", "F", "G", "H", "I"]
    assert list(task.label) == [1, 1, 0, 0, 0]
    # raw weights 1/G(min(T,H)-): C 1/G(100-)=1, F 1/G(300-)=3/2, G, H, I 1/G(365-)=3/2;
    # mean 7/5, so normalised weights are (5/7, 15/14, 15/14, 15/14, 15/14)
    np.testing.assert_allclose(task.weight, [5 / 7, 15 / 14, 15 / 14, 15 / 14, 15 / 14])
    assert task.weight.mean() == pytest.approx(1.0)
    assert (task.n_input, task.n_not_at_risk, task.n_at_risk) == (9, 2, 7)
    assert (task.n_censored_before_horizon, task.n_task) == (2, 5)
    assert (task.n_events, task.n_non_events) == (2, 3)
    assert task.censoring_survival_at_horizon == pytest.approx(2 / 3)
    assert task.max_weight == pytest.approx(15 / 14)
    # weighted risk equals the Kaplan-Meier relapse risk by H: 1 - 9/14
    assert np.average(task.label, weights=task.weight) == pytest.approx(5 / 14)


def test_exclude_task_has_unit_weights_and_same_patients() -> None:
    task = build_landmark_task(NINE, landmark_day=28, horizon_days=365, censoring="exclude")
    assert list(task.patient_ids) == ["C", "F", "G", "H", "I"]
    np.testing.assert_array_equal(task.weight, np.ones(5))
    assert np.isnan(task.censoring_survival_at_horizon)
    params = task.to_params()
    assert params["censoring_rule"] == "exclude"
    assert "censoring_survival_at_horizon" not in params


def test_to_params_are_flat_scalars() -> None:
    params = build_landmark_task(NINE).to_params()
    assert params["landmark_day"] == 28
    assert params["horizon_days"] == 365
    assert params["censoring_rule"] == "ipcw"
    assert params["n_censored_before_horizon"] == 2
    assert "normalised to mean 1" in str(params["censoring_weighting"])
    assert all(isinstance(v, str | int | float) for v in params.values())


def test_weighted_risk_matches_kaplan_meier_on_random_cohort() -> None:
    rng = np.random.default_rng(3)
    n = 400
    event_time = rng.integers(1, 900, n)
    censor_time = rng.integers(1, 900, n)
    frame = pd.DataFrame(
        {
            "patient_id": [f"P{i}" for i in range(n)],
            "relapse": event_time <= censor_time,
            "time_days": np.minimum(event_time, censor_time),
        }
    )
    task = build_landmark_task(frame, landmark_day=28, horizon_days=365)
    at_risk = frame[frame.time_days > 28]
    km = kaplan_meier(at_risk.time_days.to_numpy(), at_risk.relapse.to_numpy())
    assert np.average(task.label, weights=task.weight) == pytest.approx(1 - km(365), rel=1e-12)
    assert np.all(task.weight > 0)
    assert task.n_task + task.n_censored_before_horizon == task.n_at_risk


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"landmark_day": 28, "horizon_days": 28}, "greater than landmark_day"),
        ({"landmark_day": 100, "horizon_days": 50}, "greater than landmark_day"),
        ({"censoring": "drop"}, "unknown censoring rule"),
        ({"landmark_day": -1}, ">= 0"),
        ({"horizon_days": 365.5}, "integer"),
    ],
)
def test_bad_arguments_raise_user_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(TaskDefinitionError, match=message) as info:
        build_landmark_task(NINE, **kwargs)
    assert isinstance(info.value, UserError) and isinstance(info.value, ValueError)


def test_no_patient_at_risk_is_a_clear_error() -> None:
    early = outcomes([("A", True, 10), ("B", False, 28)])
    with pytest.raises(TaskDefinitionError, match="no patient is alive, relapse-free"):
        build_landmark_task(early)


def test_all_censored_before_horizon_is_a_clear_error() -> None:
    lost = outcomes([("A", False, 100), ("B", False, 200)])
    with pytest.raises(TaskDefinitionError, match="no label is known"):
        build_landmark_task(lost)


def test_bad_outcomes_table_is_rejected() -> None:
    with pytest.raises(TaskDefinitionError, match="lacks column"):
        build_landmark_task(NINE.drop(columns="relapse"))
    with pytest.raises(TaskDefinitionError, match="more than once"):
        build_landmark_task(pd.concat([NINE, NINE.iloc[[2]]], ignore_index=True))


def with_deaths(rows: list[tuple[str, bool, object, int]]) -> pd.DataFrame:
    ids, relapse, death, time = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "patient_id": pd.Series(ids, dtype="str"),
            "relapse": pd.Series(relapse, dtype=bool),
            "time_days": pd.Series(time, dtype="int64"),
            "death_without_relapse": pd.Series(death, dtype="boolean"),
        }
    )


def test_a_death_before_the_horizon_is_a_known_no_relapse_not_censoring() -> None:
    # L = 28, H = 365. D dies without relapse on day 100 (the day C relapses); E is
    # lost to follow-up on day 200; G is followed past H.
    frame = with_deaths(
        [
            ("C", True, False, 100),
            ("D", False, True, 100),
            ("E", False, False, 200),
            ("F", True, False, 300),
            ("G", False, False, 400),
        ]
    )
    task = build_landmark_task(frame, landmark_day=28, horizon_days=365)
    kept = dict(zip(task.patient_ids, zip(task.label, task.death_label, strict=True), strict=True))
    assert kept == {"C": (1, 0), "D": (0, 1), "F": (1, 0), "G": (0, 0)}
    # Censoring KM: only E is censored (day 200, 3 at risk then: E, F, G): G(t) = 2/3
    # after 200. Raw weights 1, 1, 3/2 (F at 300), 3/2 (G), normalised to mean 1.
    raw = np.array([1.0, 1.0, 1.5, 1.5])
    np.testing.assert_allclose(task.weight, raw / raw.mean())
    assert task.n_deaths_before_horizon == 1
    assert task.competing_death == "known"
    # Counting D's death as censoring (the version-1 rule) would give it no label.
    censoring_only = build_landmark_task(frame.drop(columns="death_without_relapse"), 28, 365)
    assert "D" not in set(censoring_only.patient_ids)
    assert censoring_only.competing_death == "unknown"


def test_death_status_unknown_for_some_rows_is_partial_and_handled_as_censoring() -> None:
    frame = with_deaths(
        [
            ("A", False, pd.NA, 100),
            ("B", False, True, 120),
            ("C", True, pd.NA, 150),
            ("D", False, False, 400),
        ]
    )
    task = build_landmark_task(frame, landmark_day=28, horizon_days=365)
    assert "A" not in set(task.patient_ids)
    assert task.competing_death == "partial"
    assert task.n_death_status_unknown == 1
    assert task.to_params()["competing_death"] == "partial"


def test_relapse_and_death_both_true_is_refused() -> None:
    frame = with_deaths([("A", True, True, 100), ("B", False, False, 400)])
    with pytest.raises(TaskDefinitionError, match="patient A has both relapse and death"):
        build_landmark_task(frame, landmark_day=28, horizon_days=365)


def test_weighted_shares_are_the_aalen_johansen_incidences_on_a_random_cohort() -> None:
    from sksurv.nonparametric import cumulative_incidence_competing_risks

    rng = np.random.default_rng(5)
    n = 600
    # Distinct times after the landmark: every patient is at risk at L.
    time = rng.permutation(np.arange(29, 29 + 2 * n, 2))[:n]
    kind = rng.choice([0, 1, 2], size=n, p=[0.3, 0.45, 0.25])  # censored, relapse, death
    frame = pd.DataFrame(
        {
            "patient_id": [f"P{i}" for i in range(n)],
            "relapse": kind == 1,
            "time_days": time,
            "death_without_relapse": pd.Series(kind == 2, dtype="boolean"),
        }
    )
    task = build_landmark_task(frame, landmark_day=28, horizon_days=700)
    days, incidence = cumulative_incidence_competing_risks(kind, time)
    for cause, label in ((1, task.label), (2, task.death_label)):
        expected = incidence[cause][np.searchsorted(days, 700, side="right") - 1]
        assert np.average(label, weights=task.weight) == pytest.approx(expected, rel=1e-9)
    assert not np.any((task.label == 1) & (task.death_label == 1))
