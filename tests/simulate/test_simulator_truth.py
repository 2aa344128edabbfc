"""Truth table: landmark risk in [0, 1] (NaN only when undefined), monotone in the latent drivers."""

from __future__ import annotations

import numpy as np
import pytest

from relapse_ml.simulate import SimulatedCohort, SimulationConfig, simulate_cohort
from relapse_ml.simulate._outcomes import cumulative_hazards

MECHANISMS = {"antigen_escape", "persistence_loss", "lineage_switch", "primary_refractory", "none"}


def test_truth_columns_and_ranges(cohort: SimulatedCohort):
    t = cohort.truth
    assert list(t.columns[:3]) == ["patient_id", "true_risk", "mechanism"]
    assert (t["patient_id"] == cohort.patients["patient_id"]).all()
    # Defined for every patient in remission at day 28; NaN only for primary refractory
    # disease (progression by day 28 is certain, so "event-free at 28" cannot happen).
    refractory = t["primary_refractory"] == "true"
    assert t.loc[~refractory, "true_risk"].between(0.0, 1.0).all()
    assert t.loc[refractory, "true_risk"].isna().all() and refractory.any()
    assert set(t["mechanism"]) == MECHANISMS
    assert set(t["dominant_mechanism"]) <= MECHANISMS - {"none", "primary_refractory"}
    # Observed mechanism agrees with the outcomes table.
    relapsed = cohort.outcomes["relapse"] == "true"
    assert ((t["observed_mechanism"] != "none") == relapsed).all()
    # Lineage switch only in B-ALL.
    dis = cohort.patients["disease"]
    assert (dis[t["mechanism"] == "lineage_switch"] == "B-ALL").all()


def test_true_risk_matches_realised_relapse_rate(cohort: SimulatedCohort):
    """Among patients event-free at day 28 (latent, uncensored), mean true risk = share
    relapsing by day 365 with death competing (+-0.03)."""
    t = cohort.truth
    first_event = (
        t["latent_relapse_day"].fillna(np.inf).clip(upper=t["latent_death_day"].fillna(np.inf))
    )
    at_risk = t[(t["primary_refractory"] == "false") & (first_event > 28)]
    empirical = (at_risk["latent_relapse_day"] <= 365).mean()
    assert abs(at_risk["true_risk"].mean() - empirical) < 0.03


def test_true_risk_rises_with_burden(cohort: SimulatedCohort):
    t = cohort.truth.assign(disease=cohort.patients["disease"])
    for _, grp in t.groupby("disease"):
        q = grp["z_burden"].quantile([0.2, 0.8]).to_numpy()
        low = grp.loc[grp["z_burden"] <= q[0], "true_risk"].mean()
        high = grp.loc[grp["z_burden"] >= q[1], "true_risk"].mean()
        assert high > low + 0.05


def test_escape_risk_rises_with_escape_propensity(cohort: SimulatedCohort):
    t = cohort.truth
    hi = t.loc[t["z_escape"] > 1, "risk_escape"].mean()
    lo = t.loc[t["z_escape"] < -1, "risk_escape"].mean()
    assert hi > 3 * lo


def test_cumulative_hazard_hand_computed():
    """One patient, escape cause only: Lambda(t) = lam * (1 - exp(-((t-28)/170)^1.3))."""
    lat = {
        "disease": np.array([0]),
        "lam_escape": np.array([0.5]),
        "lam_pos_base": np.array([0.0]),
        "lam_pos_after": np.array([0.0]),
        "lam_lineage": np.array([0.0]),
        "start_after": np.array([28.0]),
    }
    h = cumulative_hazards(lat, 28, 365.0)
    expected = 0.5 * (1.0 - np.exp(-((337.0 / 170.0) ** 1.3)))
    assert h.shape == (1, 4)
    assert h[0, 0] == pytest.approx(expected, rel=1e-12)
    assert h[0, 1:].sum() == 0.0
    assert cumulative_hazards(lat, 28, 28.0)[0, 0] == 0.0


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="unknown diseases"):
        SimulationConfig(disease_mix=(("AML", 1.0),))
    with pytest.raises(ValueError, match="n_sites"):
        SimulationConfig(n_sites=0)
    with pytest.raises(ValueError, match="n must be"):
        simulate_cohort(0, 1)


def test_disease_mix_knob_is_honoured():
    cfg = SimulationConfig(disease_mix=(("MM", 1.0),), n_sites=3)
    c = simulate_cohort(300, 3, cfg)
    assert set(c.patients["disease"]) == {"MM"}
    assert set(c.patients["site"].dropna()) <= {"SITE01", "SITE02", "SITE03"}
