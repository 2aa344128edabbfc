"""Truth by kind of relapse (antigen-negative / antigen-positive) and the realised antigen status."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import quad

from relapse_ml.simulate import (
    TRUTH_HORIZONS,
    TRUTH_LANDMARKS,
    TRUTH_PAIRS,
    SimulatedCohort,
    SimulationConfig,
    antigen_negative_column,
    antigen_negative_share_column,
    antigen_positive_column,
    risk_column,
    simulate_cohort,
)
from relapse_ml.simulate import _params as P
from relapse_ml.simulate._nrm import nrm_cumulative_hazard
from relapse_ml.simulate._outcomes import NEGATIVE_MECHANISMS
from relapse_ml.simulate._truth import conditional_incidences

NEG, POS, SHARE = antigen_negative_column, antigen_positive_column, antigen_negative_share_column


def test_column_names():
    assert NEG(28, 365) == "true_risk_antigen_negative_L28_H365"
    assert POS(180, 730) == "true_risk_antigen_positive_L180_H730"
    assert SHARE(90, 365) == "true_antigen_negative_share_L90_H365"
    assert set(NEGATIVE_MECHANISMS) == {"antigen_escape", "lineage_switch"}


def test_kinds_add_up_to_the_relapse_truth(cohort: SimulatedCohort):
    """Every patient and pair: round(negative + positive, 6) == risk exactly; all in
    [0, 1]; NaN exactly for primary-refractory patients; the share is negative / risk."""
    t = cohort.truth
    refractory = (t["primary_refractory"] == "true").to_numpy()
    for lm, hz in TRUTH_PAIRS:
        risk = t[risk_column(lm, hz)].to_numpy()
        neg, pos = t[NEG(lm, hz)].to_numpy(), t[POS(lm, hz)].to_numpy()
        share = t[SHARE(lm, hz)].to_numpy()
        for values in (neg, pos, share):
            assert np.isnan(values[refractory]).all()
            assert ((values[~refractory] >= 0) & (values[~refractory] <= 1)).all(), (lm, hz)
        ok = ~refractory
        assert (np.round(neg[ok] + pos[ok], 6) == risk[ok]).all(), (lm, hz)
        assert np.abs(neg[ok] + pos[ok] - risk[ok]).max() < 1e-12
        assert (neg[ok] > 0).all()  # every patient in remission can escape
        big = ok & (risk > 0.01)
        np.testing.assert_allclose(share[big], neg[big] / risk[big], atol=2e-4)
        assert 0.05 < np.nanmean(share[ok]) < 0.95


def test_kinds_non_decreasing_in_horizon(cohort: SimulatedCohort):
    t = cohort.truth
    ok = t["primary_refractory"] == "false"
    for lm in TRUTH_LANDMARKS:
        horizons = [hz for hz in TRUTH_HORIZONS if hz > lm]
        for a, b in itertools.pairwise(horizons):
            for col in (NEG, POS, risk_column):
                diff = t.loc[ok, col(lm, b)] - t.loc[ok, col(lm, a)]
                assert (diff >= 0).all(), (col.__name__, lm, a, b)


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


@pytest.mark.parametrize(
    ("cause", "kind"),
    [("lam_escape", NEG), ("lam_lineage", NEG), ("lam_pos_base", POS), ("lam_pos_after", POS)],
)
def test_each_cause_goes_to_its_kind(cause, kind):
    out = conditional_incidences(_lat(**{cause: 0.6}, nrm_m=0.1))
    other = POS if kind is NEG else NEG
    for lm, hz in TRUTH_PAIRS:
        assert out[kind(lm, hz)][0] == pytest.approx(out[risk_column(lm, hz)][0], abs=1e-15)
        assert out[kind(lm, hz)][0] > 0 and out[other(lm, hz)][0] == 0.0
        assert out[SHARE(lm, hz)][0] == (1.0 if kind is NEG else 0.0)


def _hazard(t: float, lam: float, start: float, scale: float, shape: float) -> float:
    s = max(t - start, 0.0) / scale
    return 0.0 if s <= 0 else lam * shape / scale * s ** (shape - 1) * np.exp(-(s**shape))


def _cum(t: float, lam: float, start: float, scale: float, shape: float) -> float:
    return lam * -np.expm1(-((max(t - start, 0.0) / scale) ** shape))


def test_kinds_match_quadrature():
    """All four causes and NRM, a late antigen-positive start: each kind's one-day-grid
    incidence agrees with adaptive quadrature of h_kind(t) S(t) / S(L) to 1e-5."""
    causes = {
        "neg": [(0.4, 28.0, *P.ESCAPE_SHAPE), (0.2, 28.0, *P.LINEAGE_SHAPE)],
        "pos": [(0.15, 28.0, *P.POSITIVE_BASE_SHAPE), (1.2, 200.5, *P.POSITIVE_AFTER_SHAPE)],
    }
    lat = _lat(
        lam_escape=0.4, lam_lineage=0.2, lam_pos_base=0.15, lam_pos_after=1.2,
        start_after=200.5, nrm_m=0.15, nrm_tox=2.0,
    )  # fmt: skip
    out = conditional_incidences(lat)

    def cum_all(t: float) -> float:
        rel = sum(_cum(t, *c) for kind in causes.values() for c in kind)
        return rel + nrm_cumulative_hazard(lat, np.array([t]))[0]

    def incidence(kind: str, lm: int, hz: int) -> float:
        def integrand(t: float) -> float:
            h = sum(_hazard(t, *c) for c in causes[kind])
            return h * np.exp(-(cum_all(t) - cum_all(lm)))

        return quad(integrand, lm, hz, points=[200.5], limit=200)[0]

    for lm, hz in TRUTH_PAIRS:
        neg, pos = incidence("neg", lm, hz), incidence("pos", lm, hz)
        assert out[NEG(lm, hz)][0] == pytest.approx(neg, abs=1e-5)
        assert out[POS(lm, hz)][0] == pytest.approx(pos, abs=1e-5)
        assert out[SHARE(lm, hz)][0] == pytest.approx(neg / (neg + pos), abs=1e-4)


def _first_event(t: pd.DataFrame) -> pd.Series:
    return t[["latent_relapse_day", "latent_death_day"]].min(axis=1).fillna(np.inf)


@pytest.mark.parametrize(("landmark", "horizon"), list(TRUTH_PAIRS))
def test_mean_truth_by_kind_matches_latent_realised_incidence(big_truth, landmark, horizon):
    """Patients event-free at L (latent, uncensored times): mean truth of each kind =
    realised share with a relapse of that kind by H (n ~ 9,000-15,000, SE <= 0.004)."""
    t = big_truth
    at_risk = t[(t["primary_refractory"] == "false") & (_first_event(t) > landmark)]
    by_h = at_risk["latent_relapse_day"] <= horizon
    negative = at_risk["mechanism"].isin(NEGATIVE_MECHANISMS)
    assert abs(at_risk[NEG(landmark, horizon)].mean() - (by_h & negative).mean()) < 0.012
    assert abs(at_risk[POS(landmark, horizon)].mean() - (by_h & ~negative).mean()) < 0.012


def _aalen_johansen(time: np.ndarray, cause: np.ndarray, landmark: int, horizon: int, k: int):
    """CIF of causes 1..k by ``horizon`` from ``landmark`` (cause 0 = censored)."""
    surv, cif = 1.0, np.zeros(k + 1)
    for day in np.unique(time[(time > landmark) & (time <= horizon)]):
        n_risk = (time >= day).sum()
        d = np.bincount(cause[time == day], minlength=k + 1)
        d[0] = 0
        cif += surv * d / n_risk
        surv *= 1.0 - d.sum() / n_risk
    return cif[1:]


@pytest.mark.parametrize(("landmark", "horizon"), [(28, 365), (28, 730), (90, 730), (180, 365)])
def test_observed_incidence_by_kind_matches_mean_truth(big_truth, landmark, horizon):
    """The landmark task on the outcomes table (censoring and unknown status included):
    Aalen-Johansen incidences of negative, positive and unknown-status relapse, the
    unknowns split by the known share (status missing at random), agree with the mean
    truth of each kind (+-0.015)."""
    task = big_truth[big_truth["time_days"] > landmark]
    status = task["relapse_antigen"].where(task["obs_relapse"] == "true")
    cause = np.select(
        [
            status == "negative",
            status == "positive",
            status == "unknown",
            task["death_without_relapse"] == "true",
        ],
        [1, 2, 3, 4],
        0,
    )
    assert (np.isin(cause, [1, 2, 3]) == (task["obs_relapse"] == "true")).all()
    neg, pos, unknown, _ = _aalen_johansen(
        task["time_days"].to_numpy(), cause, landmark, horizon, 4
    )
    known_share = neg / (neg + pos)
    assert abs(task[NEG(landmark, horizon)].mean() - (neg + unknown * known_share)) < 0.015
    assert abs(task[POS(landmark, horizon)].mean() - (pos + unknown * (1 - known_share))) < 0.015
    # Leaving the unknowns out instead would understate both kinds.
    assert unknown > 0.01


def test_b_all_cd19_negative_share_in_published_range(big_truth):
    """B-ALL after CD19 CAR T: about half of relapses are CD19-negative or lineage switch
    (domain.md 2.1: 41 % CD19- + 7 % lineage switch, CD19- 41-58 % across cohorts), so
    the share must be in 30-70 %: in the truth (mean negative / mean risk) and among
    realised relapses after day 28 of known status. Dual CD19/CD22 targeting lowers it."""
    ball = big_truth[
        (big_truth["disease"] == "B-ALL") & (big_truth["primary_refractory"] == "false")
    ]
    cd19 = ball[ball["target_antigen"] == "CD19"]
    for lm, hz in [(28, 365), (28, 730), (90, 365)]:
        share = cd19[NEG(lm, hz)].mean() / cd19[risk_column(lm, hz)].mean()
        assert 0.30 <= share <= 0.70, (lm, hz, share)
    relapsed = cd19[(cd19["obs_relapse"] == "true") & (cd19["time_days"] > P.RESPONSE_DAY)]
    known = relapsed["relapse_antigen"].isin(["negative", "positive"])
    assert known.sum() > 300
    assert 0.30 <= (relapsed.loc[known, "relapse_antigen"] == "negative").mean() <= 0.70
    dual = ball[ball["target_antigen"] == "CD19/CD22"]
    dual_share = dual[NEG(28, 365)].mean() / dual[risk_column(28, 365)].mean()
    assert dual_share < cd19[NEG(28, 365)].mean() / cd19[risk_column(28, 365)].mean() - 0.05


def test_realised_antigen_follows_the_cause(cohort: SimulatedCohort):
    """relapse_antigen: negative for antigen escape and lineage switch, positive for
    persistence loss (or unknown); empty without relapse; unknown ~12 % of relapses,
    whatever the kind."""
    o = cohort.outcomes.merge(cohort.truth[["patient_id", "mechanism"]], on="patient_id")
    relapsed = o["relapse"] == "true"
    assert o.loc[~relapsed, "relapse_antigen"].isna().all()
    r = o[relapsed]
    assert r["relapse_antigen"].notna().all()
    negative = r["mechanism"].isin(NEGATIVE_MECHANISMS)
    persistence = r["mechanism"] == "persistence_loss"
    assert set(r.loc[negative, "relapse_antigen"]) == {"negative", "unknown"}
    assert set(r.loc[persistence, "relapse_antigen"]) == {"positive", "unknown"}
    unknown = r["relapse_antigen"] == "unknown"
    assert 0.09 <= unknown.mean() <= 0.15
    assert abs(unknown[negative].mean() - unknown[persistence].mean()) < 0.05


@pytest.mark.parametrize("prob", [0.0, 0.4])
def test_unknown_antigen_share_is_configurable(prob):
    cfg = SimulationConfig(unknown_antigen_prob=prob, disease_mix=(("B-ALL", 1.0),))
    o = simulate_cohort(1500, 5, cfg).outcomes
    status = o.loc[o["relapse"] == "true", "relapse_antigen"]
    assert len(status) > 300
    assert abs((status == "unknown").mean() - prob) < 0.06
    with pytest.raises(ValueError, match="unknown_antigen_prob"):
        SimulationConfig(unknown_antigen_prob=1.5)
