"""Simulated tables hold exactly the contract's columns, categories, units and ranges."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from relapse_ml.schema import load_contract
from relapse_ml.simulate import SimulatedCohort, SimulationConfig


def test_columns_are_exactly_the_contract(cohort: SimulatedCohort):
    contract = load_contract()
    assert tuple(cohort.patients.columns) == contract.patients.column_names
    assert tuple(cohort.measurements.columns) == contract.measurements.column_names
    assert tuple(cohort.outcomes.columns) == contract.outcomes.column_names


def test_patient_values_within_contract(cohort: SimulatedCohort):
    contract = load_contract()
    p = cohort.patients
    assert p["patient_id"].is_unique
    assert p["patient_id"].map(lambda s: re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", s) is not None).all()
    assert p["patient_id"].iloc[0] == "P000001"
    assert set(p["site"].dropna()) <= {f"SITE{i:02d}" for i in range(1, 13)}
    for col in contract.patients.columns:
        values = p[col.name].dropna()
        if col.required:
            assert p[col.name].notna().all(), col.name
        if col.dtype == "category":
            assert set(values) <= set(col.values), col.name
        elif col.dtype == "boolean":
            assert set(values) <= {"true", "false"}, col.name
        elif col.dtype in ("number", "integer"):
            x = values.astype(float).to_numpy()
            assert np.isfinite(x).all(), col.name
            assert (x >= float(col.minimum)).all() and (x <= float(col.maximum)).all(), col.name
            if col.dtype == "integer":
                assert (x == np.round(x)).all(), col.name
        elif col.dtype == "date":
            dates = pd.to_datetime(values, format="%Y-%m-%d")
            assert dates.min() >= pd.Timestamp("2016-01-01")
            assert dates.max() <= pd.Timestamp(dt.date.today())


def test_optional_values_are_partly_missing(cohort: SimulatedCohort):
    p = cohort.patients
    for col in ("antigen_splice_variant_pct", "product_memory_pct", "tgfb_pg_ml"):
        share = p[col].isna().mean()
        assert 0.1 < share < 0.6, col
    # B-ALL has no PET metabolic tumour volume; lymphoma has no marrow blast count.
    assert p.loc[p["disease"] == "B-ALL", "metabolic_tumor_volume_ml"].isna().all()
    assert p.loc[p["disease"] == "LBCL", "marrow_blasts_pct"].isna().all()


def test_product_assignment_follows_real_products(cohort: SimulatedCohort):
    p = cohort.patients
    assert set(p.loc[p["disease"] == "MM", "target_antigen"]) == {"BCMA"}
    assert set(p.loc[p["target_antigen"] == "BCMA", "costim_domain"]) == {"4-1BB"}
    ball_targets = set(p.loc[p["disease"] == "B-ALL", "target_antigen"])
    assert ball_targets == {"CD19", "CD22", "CD19/CD22"}
    lymphoma = p[p["disease"].isin(["LBCL", "FL", "MCL", "CLL"])]
    assert set(lymphoma["target_antigen"]) == {"CD19"}


def test_measurement_values_units_and_lloq(cohort: SimulatedCohort):
    contract = load_contract()
    m = cohort.measurements
    units = {name: spec.unit for name, spec in contract.markers.items()}
    assert set(m["marker"]) == set(units)  # every catalogue marker is emitted
    assert (m["unit"] == m["marker"].map(units)).all()
    assert m["day"].between(-60, 3650).all()
    assert m["day"].dtype == np.int64
    assert np.isfinite(m["value"]).all() and (m["value"] >= 0).all()
    maxima = m["marker"].map({name: spec.maximum for name, spec in contract.markers.items()})
    assert (m["value"] <= maxima).all()  # the contract's plausible maxima (100 for a %)
    assert set(m["qualifier"]) == {"", "<"}
    lloq = dict(SimulationConfig().lloq)
    below = m[m["qualifier"] == "<"]
    assert (below["value"].to_numpy() == below["marker"].map(lloq).to_numpy()).all()
    above = m[(m["qualifier"] == "") & m["marker"].isin(list(lloq))]
    assert (above["value"].to_numpy() >= above["marker"].map(lloq).to_numpy()).all()


def test_measurements_messy_like_a_registry(cohort: SimulatedCohort):
    m = cohort.measurements
    rows_per_patient = len(m) / len(cohort.patients)
    assert 20 <= rows_per_patient <= 45
    assert (m["day"] > 28).mean() > 0.15  # follow-up rows exist (leakage tests need them)
    replicates = m.duplicated(["patient_id", "day", "marker"], keep=False)
    assert 0.005 < replicates.mean() < 0.1
    # Jittered sampling: the day-28 visit lands on several different days.
    assert m.loc[m["day"].between(26, 30), "day"].nunique() == 5
    # Values below the LLOQ happen for the transgene late on.
    late_car = m[(m["marker"] == "car_transgene") & (m["day"] > 180)]
    assert (late_car["qualifier"] == "<").mean() > 0.2


def test_measurements_stop_at_the_end_of_follow_up(cohort: SimulatedCohort):
    last = cohort.measurements.groupby("patient_id")["day"].max()
    time = cohort.outcomes.set_index("patient_id")["time_days"]
    assert (last <= time.loc[last.index]).all()


def test_outcomes_are_consistent_and_censored(cohort: SimulatedCohort):
    o = cohort.outcomes
    assert set(o["relapse"]) == {"true", "false"}
    assert (o["time_days"] >= 1).all() and o["time_days"].dtype == np.int64
    relapsed = o["relapse"] == "true"
    died = o["death_without_relapse"] == "true"
    assert set(o["death_without_relapse"]) == {"true", "false"}
    assert o.loc[~relapsed, "relapse_antigen"].isna().all()
    assert set(o.loc[relapsed, "relapse_antigen"]) == {"positive", "negative", "unknown"}
    at_risk = o["time_days"] > 28
    censored_early = at_risk & ~relapsed & ~died & (o["time_days"] < 365)
    assert 0.03 < censored_early.sum() / at_risk.sum() < 0.25
    # Primary refractory patients progress by day 28 and leave the landmark task.
    assert (o.loc[relapsed & (o["time_days"] <= 28)].shape[0]) > 0.1 * len(o)
