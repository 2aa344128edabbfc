"""Shared simulated cohorts for the simulator tests (fixed seeds, session scope)."""

from __future__ import annotations

import pandas as pd
import pytest

from relapse_ml.simulate import SimulatedCohort, simulate_cohort

CALIBRATION_N = 6000
CALIBRATION_SEED = 2024


@pytest.fixture(scope="session")
def cohort() -> SimulatedCohort:
    """A 6,000-patient cohort used by the calibration and contract tests."""
    return simulate_cohort(CALIBRATION_N, CALIBRATION_SEED)


@pytest.fixture(scope="session")
def truth_by_patient(cohort: SimulatedCohort) -> pd.DataFrame:
    """Truth joined with disease, costim and target from the patients table."""
    cols = ["patient_id", "disease", "costim_domain", "target_antigen"]
    return cohort.truth.merge(cohort.patients[cols], on="patient_id", validate="1:1")


BIG_N = 20000
BIG_SEED = 31


@pytest.fixture(scope="session")
def big_cohort() -> SimulatedCohort:
    """A 20,000-patient cohort for rates that need tight standard errors (NRM, incidences)."""
    return simulate_cohort(BIG_N, BIG_SEED)


@pytest.fixture(scope="session")
def big_truth(big_cohort: SimulatedCohort) -> pd.DataFrame:
    """Truth of the big cohort joined with patient covariates and the outcomes table."""
    cols = ["patient_id", "disease", "target_antigen", "age_years", "prior_lines", "crs_grade"]
    cols.append("icans_grade")
    out = big_cohort.outcomes.rename(columns={"relapse": "obs_relapse"})
    return big_cohort.truth.merge(big_cohort.patients[cols], on="patient_id", validate="1:1").merge(
        out, on="patient_id", validate="1:1"
    )
