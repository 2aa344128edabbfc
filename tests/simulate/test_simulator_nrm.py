"""Non-relapse mortality (NRM) as a competing event, against shared/spec/domain.md.

Targets (cumulative incidence by day 365 with relapse competing, all infused;
n = 20,000, seed 31, binomial SE ~0.002 overall, 0.004-0.008 per disease):

* overall 5-10 % (real world: Germany LBCL 6 %, cilta-cel 10 %, brexu-cel 9.1 %);
* LBCL 6 % -> [0.04, 0.08]; MCL 9.1 % -> [0.065, 0.12]; cilta-cel 10 % -> [0.075, 0.14];
  ide-cel below cilta-cel; B-ALL (mostly children) the lowest of the diseases;
* early (infections) but mostly after day 28: 10-45 % of the 1-year NRM by day 28;
* raised by grade >= 3 CRS/ICANS, inflammation (CAR-HEMATOTOX-like: 13 % vs 2 %) and age.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from relapse_ml.simulate import SimulatedCohort


def _nrm365(frame: pd.DataFrame) -> float:
    return float((frame["latent_death_day"] <= 365).mean())


def test_nrm_at_one_year_overall(cohort: SimulatedCohort, big_truth):
    assert 0.05 <= _nrm365(big_truth) <= 0.10
    assert 0.045 <= _nrm365(cohort.truth) <= 0.10  # the shared 6,000-patient cohort too


@pytest.mark.parametrize(
    ("disease", "low", "high"), [("LBCL", 0.04, 0.08), ("MCL", 0.065, 0.12), ("B-ALL", 0.02, 0.06)]
)
def test_nrm_at_one_year_by_disease(big_truth, disease, low, high):
    rate = _nrm365(big_truth[big_truth["disease"] == disease])
    assert low <= rate <= high, f"{disease}: 1-year NRM {rate:.3f}"


def test_nrm_myeloma_products(big_truth):
    mm = big_truth[big_truth["disease"] == "MM"]
    cilta, ide = _nrm365(mm[mm["product"] == "cilta"]), _nrm365(mm[mm["product"] == "ide"])
    assert 0.075 <= cilta <= 0.14
    assert 0.04 <= ide < cilta


def test_nrm_is_early_but_mostly_after_day_28(big_truth):
    death = big_truth["latent_death_day"]
    by_year = (death <= 365).sum()
    share_early = (death <= 28).sum() / by_year
    assert 0.10 <= share_early <= 0.45, share_early
    # The hazard is highest in the first months (days 1-90 vs 276-365), and the late
    # hazard fades: years 2-10 together hold fewer NRM deaths than the first year.
    first = (death <= 90).sum()
    last = ((death > 275) & (death <= 365)).sum()
    assert first > 4 * last
    assert (death > 365).sum() < by_year


def test_nrm_drivers(big_truth):
    death = big_truth["latent_death_day"] <= 365
    severe = (big_truth["crs_grade"] >= 3) | (big_truth["icans_grade"] >= 3)
    assert death[severe].mean() > 2.0 * death[~severe].mean()
    z = big_truth["z_inflam"]
    high, low = death[z > z.quantile(2 / 3)].mean(), death[z < z.quantile(1 / 3)].mean()
    assert high > 2.0 * low  # CAR-HEMATOTOX high vs low: 13 % vs 2 %
    adults = big_truth[big_truth["disease"] != "B-ALL"]
    old = adults["age_years"] >= 70
    young = adults["age_years"] < 55
    d = adults["latent_death_day"] <= 365
    assert d[old].mean() > 1.2 * d[young].mean()


def test_death_competes_with_relapse(big_truth):
    """The first event wins: never both a latent relapse and a latent death."""
    both = big_truth["latent_relapse_day"].notna() & big_truth["latent_death_day"].notna()
    assert not both.any()
    died = big_truth["latent_death_day"].notna()
    assert (big_truth.loc[died, "mechanism"] == "none").all()
    # Early deaths happen, also among patients who would be primary refractory.
    assert (big_truth["latent_death_day"] <= 28).sum() > 100
    refractory = big_truth["primary_refractory"] == "true"
    assert (died & refractory).any()


def test_outcome_rows_for_death(big_truth):
    t = big_truth
    relapse = t["obs_relapse"] == "true"
    death = t["death_without_relapse"] == "true"
    assert set(t["death_without_relapse"]) == {"true", "false"}
    assert not (relapse & death).any()
    assert death.mean() > 0.04
    assert (t.loc[death, "time_days"] == t.loc[death, "latent_death_day"]).all()
    assert t.loc[death, "relapse_antigen"].isna().all()
    assert (t.loc[relapse, "time_days"] == t.loc[relapse, "latent_relapse_day"]).all()
    # Censored rows end before their first latent event (or none happens).
    censored = ~relapse & ~death
    first = t[["latent_relapse_day", "latent_death_day"]].min(axis=1).fillna(np.inf)
    assert (t.loc[censored, "time_days"] < first[censored]).all()
    # A latent death within follow-up is always reported.
    seen = t["latent_death_day"] <= t["time_days"]
    assert (death == seen).all()
