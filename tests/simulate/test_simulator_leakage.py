"""No measurement depends on the realised event time (the oracle must be a ceiling).

The simulator draws the realised relapse and death times from their own random
stream. Redrawing only that stream (``event_seed``) keeps the latent state and every
observation draw, so a measurement taken while the patient is event-free in both
runs must be identical: its value may depend on the latent hazards only, and the
realised event may only stop observation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from relapse_ml.simulate import TRUTH_LANDMARKS, TRUTH_PAIRS, risk_column
from relapse_ml.simulate._cohort import simulate

N, SEED = 3000, 5


@pytest.fixture(scope="module")
def pair():
    """The same cohort twice, with different realised event times."""
    return simulate(N, SEED, event_seed=101), simulate(N, SEED, event_seed=202)


def test_only_the_events_differ(pair):
    a, b = pair
    latent = [c for c in a.truth.columns if c.startswith(("z_", "true_", "risk_"))]
    latent += ["primary_refractory", "t_loss_day", "cmax_copies_ug", "tmax_day"]
    pd.testing.assert_frame_equal(a.truth[latent], b.truth[latent])
    pd.testing.assert_frame_equal(a.patients, b.patients)
    for col in ("latent_relapse_day", "latent_death_day"):
        changed = a.truth[col].fillna(-1) != b.truth[col].fillna(-1)
        assert changed.mean() > 0.1, col
    assert (a.outcomes["time_days"] != b.outcomes["time_days"]).mean() > 0.5


@pytest.mark.parametrize("landmark", TRUTH_LANDMARKS)
def test_measurements_up_to_the_landmark_ignore_the_realised_event(pair, landmark):
    a, b = pair
    time_a = a.outcomes.set_index("patient_id")["time_days"]
    time_b = b.outcomes.set_index("patient_id")["time_days"]
    in_task = time_a.index[(time_a > landmark) & (time_b > landmark)]
    # Patients in the task in both runs whose realised futures differ.
    differ = (time_a.loc[in_task] != time_b.loc[in_task]).sum()
    assert len(in_task) > 500 and differ > 300

    def rows(cohort):
        m = cohort.measurements
        keep = m["patient_id"].isin(in_task) & (m["day"] <= landmark)
        return m[keep].reset_index(drop=True)

    seen_a, seen_b = rows(a), rows(b)
    assert len(seen_a) > 10 * len(in_task)
    assert set(seen_a["marker"]) >= {"mrd_pct", "car_transgene", "b_cells"}
    pd.testing.assert_frame_equal(seen_a, seen_b)


def test_every_common_measurement_ignores_the_realised_event(pair):
    """After the landmarks too: while both runs observe a patient, the rows are the same."""
    a, b = pair
    time_a = a.outcomes.set_index("patient_id")["time_days"]
    time_b = b.outcomes.set_index("patient_id")["time_days"]
    common = np.minimum(time_a, time_b)

    def rows(cohort):
        m = cohort.measurements
        return m[m["day"] <= m["patient_id"].map(common)].reset_index(drop=True)

    seen_a, seen_b = rows(a), rows(b)
    assert (seen_a["day"] > 180).sum() > 1000
    pd.testing.assert_frame_equal(seen_a, seen_b)


def test_observation_stops_at_the_event(pair):
    for cohort in pair:
        last = cohort.measurements.groupby("patient_id")["day"].max()
        time = cohort.outcomes.set_index("patient_id")["time_days"]
        assert (last <= time.loc[last.index]).all()


@pytest.mark.parametrize("landmark", [90, 180])
def test_mrd_still_carries_the_latent_risk(cohort_mrd, landmark):
    """MRD at the landmark visit follows the latent relapse hazard (Spearman > 0.3)."""
    mrd, truth = cohort_mrd
    near = mrd[(mrd["day"] - landmark).abs() <= 14].groupby("patient_id")["value"].mean()
    horizon = max(h for lm, h in TRUTH_PAIRS if lm == landmark)
    risk = truth.set_index("patient_id").loc[near.index, risk_column(landmark, horizon)]
    ok = risk.notna()
    assert ok.sum() > 200
    assert spearmanr(near[ok], risk[ok]).statistic > 0.3


@pytest.fixture(scope="module")
def cohort_mrd(pair):
    a = pair[0]
    m = a.measurements
    return m[m["marker"] == "mrd_pct"], a.truth
