"""True conditional incidences per (landmark, horizon): columns, ranges, exactness, calibration."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import quad

from relapse_ml.schema import load_contract
from relapse_ml.simulate import (
    PRIMARY_HORIZON,
    PRIMARY_LANDMARK,
    TRUTH_HORIZONS,
    TRUTH_LANDMARKS,
    TRUTH_PAIRS,
    SimulatedCohort,
    death_column,
    risk_column,
)
from relapse_ml.simulate import _params as P
from relapse_ml.simulate._nrm import nrm_cumulative_hazard
from relapse_ml.simulate._truth import conditional_incidences

EXPECTED_PAIRS = [(28, 180), (28, 365), (28, 730), (90, 180), (90, 365), (90, 730), (180, 365), (180, 730)]  # fmt: skip


def test_grids_and_column_names():
    assert (TRUTH_LANDMARKS, TRUTH_HORIZONS) == ((28, 90, 180), (180, 365, 730))
    assert list(TRUTH_PAIRS) == EXPECTED_PAIRS
    assert risk_column(90, 365) == "true_risk_L90_H365"
    assert death_column(180, 730) == "true_death_L180_H730"
    contract = load_contract()
    assert (PRIMARY_LANDMARK, PRIMARY_HORIZON) == (
        contract.default_landmark_day,
        contract.default_horizon_days,
    )


def test_truth_pair_columns_ranges_and_order(cohort: SimulatedCohort):
    t = cohort.truth
    refractory = t["primary_refractory"] == "true"
    for lm, hz in TRUTH_PAIRS:
        risk, death = t[risk_column(lm, hz)], t[death_column(lm, hz)]
        assert risk[~refractory].between(0, 1).all() and death[~refractory].between(0, 1).all()
        assert risk[refractory].isna().all() and death[refractory].isna().all()
        assert (risk[~refractory] + death[~refractory] <= 1.0 + 1e-12).all()
        assert (death[~refractory] > 0).all()  # NRM competes for everyone
    for lm in TRUTH_LANDMARKS:
        horizons = [hz for hz in TRUTH_HORIZONS if hz > lm]
        for a, b in itertools.pairwise(horizons):
            for col in (risk_column, death_column):
                diff = t[col(lm, b)] - t[col(lm, a)]
                assert (diff[~refractory] >= 0).all(), (lm, a, b)
    primary = risk_column(PRIMARY_LANDMARK, PRIMARY_HORIZON)
    pd.testing.assert_series_equal(t["true_risk"], t[primary], check_names=False)


def _lat(**values) -> dict[str, np.ndarray]:
    base = {
        "disease": 0,
        "lam_escape": 0.0,
        "lam_pos_base": 0.0,
        "lam_pos_after": 0.0,
        "lam_lineage": 0.0,
        "start_after": 28.0,
        "nrm_m": 0.0,
        "nrm_tox": 1.0,
        "refractory": False,
    }
    base.update(values)
    return {k: np.atleast_1d(np.asarray(v)) for k, v in base.items()}


def _weibull_hazard(t: float, lam: float, start: float, scale: float, shape: float) -> float:
    s = max(t - start, 0.0) / scale
    return 0.0 if s <= 0 else lam * shape / scale * s ** (shape - 1) * np.exp(-(s**shape))


def _weibull_cum(t: float, lam: float, start: float, scale: float, shape: float) -> float:
    return lam * -np.expm1(-((max(t - start, 0.0) / scale) ** shape))


def test_relapse_only_equals_the_closed_form():
    lat = _lat(lam_escape=0.5)
    out = conditional_incidences(lat)
    for lm, hz in TRUTH_PAIRS:
        cum = _weibull_cum(hz, 0.5, 28.0, *P.ESCAPE_SHAPE) - _weibull_cum(
            lm, 0.5, 28.0, *P.ESCAPE_SHAPE
        )
        assert out[risk_column(lm, hz)][0] == pytest.approx(-np.expm1(-cum), abs=1e-12)
        assert out[death_column(lm, hz)][0] == 0.0


def test_death_only_equals_the_closed_form():
    lat = _lat(nrm_m=0.2, nrm_tox=2.0)
    out = conditional_incidences(lat)
    for lm, hz in TRUTH_PAIRS:
        d = nrm_cumulative_hazard(lat, np.array([float(hz)])) - nrm_cumulative_hazard(
            lat, np.array([float(lm)])
        )
        assert out[death_column(lm, hz)][0] == pytest.approx(-np.expm1(-d[0]), abs=1e-12)
        assert out[risk_column(lm, hz)][0] == 0.0


def test_competing_incidences_match_quadrature():
    """Both causes, a late antigen-positive start (CAR T loss on day 200.5): the one-day
    grid agrees with adaptive quadrature of h_k(t) S(t) / S(L) to 1e-5."""
    lam_esc, lam_after, t_loss, m, tox = 0.4, 1.2, 200.5, 0.15, 2.0
    lat = _lat(
        lam_escape=lam_esc, lam_pos_after=lam_after, start_after=t_loss, nrm_m=m, nrm_tox=tox
    )
    out = conditional_incidences(lat)

    def rel_hazard(t):
        return _weibull_hazard(t, lam_esc, 28.0, *P.ESCAPE_SHAPE) + _weibull_hazard(
            t, lam_after, t_loss, *P.POSITIVE_AFTER_SHAPE
        )

    def death_hazard(t):
        early = P.NRM_A * np.exp(-t / P.NRM_TAU) * tox
        return m * (early + P.NRM_B * np.exp(-t / P.NRM_TAU_LATE))

    def cum_all(t):
        rel = _weibull_cum(t, lam_esc, 28.0, *P.ESCAPE_SHAPE) + _weibull_cum(
            t, lam_after, t_loss, *P.POSITIVE_AFTER_SHAPE
        )
        return rel + nrm_cumulative_hazard(lat, np.array([t]))[0]

    def incidence(hazard, lm: int, hz: int) -> float:
        def integrand(t: float) -> float:
            return hazard(t) * np.exp(-(cum_all(t) - cum_all(lm)))

        return quad(integrand, lm, hz, points=[t_loss], limit=200)[0]

    for lm, hz in TRUTH_PAIRS:
        risk, death = incidence(rel_hazard, lm, hz), incidence(death_hazard, lm, hz)
        assert out[risk_column(lm, hz)][0] == pytest.approx(risk, abs=1e-5)
        assert out[death_column(lm, hz)][0] == pytest.approx(death, abs=1e-5)


def test_refractory_is_nan():
    out = conditional_incidences(_lat(lam_escape=0.5, nrm_m=0.1, refractory=True))
    assert all(np.isnan(v[0]) for v in out.values())


def _first_event(t: pd.DataFrame) -> pd.Series:
    return t[["latent_relapse_day", "latent_death_day"]].min(axis=1).fillna(np.inf)


@pytest.mark.parametrize(("landmark", "horizon"), EXPECTED_PAIRS)
def test_mean_truth_matches_realised_incidence(big_truth, landmark, horizon):
    """Patients event-free at L (latent, uncensored times): mean truth = realised share
    relapsing / dying without relapse by H. n ~ 9,000-15,000: SE <= 0.005 and 0.002."""
    t = big_truth
    at_risk = t[(t["primary_refractory"] == "false") & (_first_event(t) > landmark)]
    relapse = (at_risk["latent_relapse_day"] <= horizon).mean()
    death = (at_risk["latent_death_day"] <= horizon).mean()
    assert abs(at_risk[risk_column(landmark, horizon)].mean() - relapse) < 0.015
    assert abs(at_risk[death_column(landmark, horizon)].mean() - death) < 0.008


def _aalen_johansen(time: np.ndarray, cause: np.ndarray, landmark: int, horizon: int):
    """CIF of causes 1 and 2 by ``horizon`` from ``landmark`` (cause 0 = censored)."""
    surv, cif = 1.0, np.zeros(3)
    for day in np.unique(time[(time > landmark) & (time <= horizon)]):
        n_risk = (time >= day).sum()
        at = time == day
        d1, d2 = (at & (cause == 1)).sum(), (at & (cause == 2)).sum()
        cif[1] += surv * d1 / n_risk
        cif[2] += surv * d2 / n_risk
        surv *= 1.0 - (d1 + d2) / n_risk
    return cif[1], cif[2]


@pytest.mark.parametrize(("landmark", "horizon"), [(28, 365), (90, 730), (180, 365)])
def test_aalen_johansen_on_the_censored_outcomes_matches_mean_truth(big_truth, landmark, horizon):
    """The landmark task on the outcomes table itself (censoring included): the
    Aalen-Johansen incidences of its patients agree with their mean truth (+-0.02 / 0.01)."""
    task = big_truth[big_truth["time_days"] > landmark]
    assert (task["primary_refractory"] == "false").all()
    cause = np.where(
        task["obs_relapse"] == "true", 1, np.where(task["death_without_relapse"] == "true", 2, 0)
    )
    relapse, death = _aalen_johansen(task["time_days"].to_numpy(), cause, landmark, horizon)
    assert abs(task[risk_column(landmark, horizon)].mean() - relapse) < 0.02
    assert abs(task[death_column(landmark, horizon)].mean() - death) < 0.01
