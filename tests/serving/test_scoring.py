"""score_patients: exact columns, additivity, order; the REST request shape and its validation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from relapse_ml.errors import ContractError
from relapse_ml.serving.scoring import (
    request_frame,
    score_columns,
    score_patients,
    tables_from_request,
    validate_request,
)

EXPECTED_COLUMNS = [
    "patient_id",
    "risk",
    "risk_band",
    "baseline_risk",
    "risk_by_day_180",
    "risk_by_day_365",
    "risk_by_day_730",
    "death_without_relapse_by_day_180",
    "death_without_relapse_by_day_365",
    "death_without_relapse_by_day_730",
    "risk_antigen_negative",
    "risk_antigen_positive",
    "contrib_antigen",
    "contrib_exhaustion",
    "contrib_persistence",
    "contrib_tme",
    "contrib_clinical",
    "driver_1",
    "driver_2",
    "driver_3",
    "ood",
    "ood_reason",
    "model_name",
    "model_version",
    "landmark_day",
    "horizon_days",
    "schema_version",
]


def test_score_columns_and_invariants(trained_model, simulated_data):
    model = trained_model("hist_gradient_boosting")
    scores = score_patients(
        model, simulated_data.patients, simulated_data.measurements, model_version="7"
    )
    assert list(scores.columns) == EXPECTED_COLUMNS == score_columns(3)
    assert scores["patient_id"].tolist() == simulated_data.patients["patient_id"].tolist()
    contributions = scores[[c for c in scores if c.startswith("contrib_")]].sum(axis=1)
    assert np.abs(scores["baseline_risk"] + contributions - scores["risk"]).max() < 1e-6
    np.testing.assert_allclose(
        scores["risk"],
        model.risk(model.model_input(simulated_data.patients, simulated_data.measurements)),
    )
    assert set(scores["risk_band"]) <= {"low", "intermediate", "high"}
    assert (scores["model_version"] == "7").all() and (
        scores["landmark_day"] == model.landmark_day
    ).all()
    assert scores["ood"].dtype == bool and (scores["ood_reason"].ne("") == scores["ood"]).all()
    # The curve: risk is its primary horizon; monotone; relapse plus death at most 1.
    np.testing.assert_array_equal(scores["risk_by_day_365"], scores["risk"])
    relapse = scores[["risk_by_day_180", "risk_by_day_365", "risk_by_day_730"]].to_numpy()
    death = scores[[f"death_without_relapse_by_day_{h}" for h in (180, 365, 730)]].to_numpy()
    assert np.all(np.diff(relapse, axis=1) >= 0) and np.all(np.diff(death, axis=1) >= 0)
    assert np.all(relapse + death <= 1 + 1e-12) and np.all(death > 0)


def test_later_landmarks_leave_earlier_horizons_empty_with_the_same_columns(
    landmark_models, simulated_data
):
    models = landmark_models("logistic")
    patients, measurements = simulated_data.patients, simulated_data.measurements
    first = score_patients(models.at(28), patients, measurements)
    for landmark in (90, 180):
        later = score_patients(models.at(landmark), patients, measurements)
        assert list(later.columns) == list(first.columns)
        assert (later["landmark_day"] == landmark).all()
        # Day 180 is after landmark 90 but not after landmark 180.
        assert later["risk_by_day_180"].isna().all() == (landmark == 180)
        assert later["death_without_relapse_by_day_180"].isna().all() == (landmark == 180)
        assert np.all(later["risk_by_day_730"] >= later["risk_by_day_365"])
        assert later["risk"].notna().all()
        assert not np.allclose(later["risk"], first["risk"])


def test_score_is_order_and_top_k_robust(trained_model, simulated_data):
    model = trained_model("logistic")
    reversed_patients = simulated_data.patients.iloc[::-1].reset_index(drop=True)
    forward = score_patients(model, simulated_data.patients, simulated_data.measurements, top_k=1)
    backward = score_patients(model, reversed_patients, simulated_data.measurements, top_k=1)
    assert backward["patient_id"].tolist() == reversed_patients["patient_id"].tolist()
    np.testing.assert_array_equal(backward["risk"].to_numpy()[::-1], forward["risk"].to_numpy())
    assert "driver_2" not in forward and forward["driver_1"].ne("").all()


def test_empty_input_gives_empty_output(trained_model, simulated_data):
    scores = score_patients(
        trained_model("random_forest"),
        simulated_data.patients.iloc[:0],
        simulated_data.measurements.iloc[:0],
    )
    assert len(scores) == 0 and list(scores.columns) == EXPECTED_COLUMNS


def test_rest_request_round_trip_gives_identical_scores(trained_model, simulated_data):
    model = trained_model("hist_gradient_boosting")
    patients = simulated_data.patients.iloc[:60].reset_index(drop=True)
    frame = request_frame(patients, simulated_data.measurements)
    assert list(frame.columns) == [*patients.columns, "measurements"]
    # It survives JSON (dataframe_split) unchanged.
    split = json.loads(frame.to_json(orient="split", date_format="iso"))
    assert isinstance(json.loads(split["data"][0][-1]), list)
    data = validate_request(frame)
    assert data.report.n_problems == 0 and len(data.patients) == 60
    direct = score_patients(model, patients, simulated_data.measurements)
    via_request = score_patients(model, data.patients, data.measurements)
    assert via_request.equals(direct)


def test_bad_request_values_reject_patients_not_the_request(simulated_data):
    patients = simulated_data.patients.iloc[:3].reset_index(drop=True)
    frame = request_frame(patients, simulated_data.measurements)
    frame.loc[0, "age_years"] = 250.0  # out of range
    records = json.loads(frame.loc[1, "measurements"])
    records[0]["unit"] = "mg"  # wrong unit
    frame.loc[1, "measurements"] = json.dumps(records)
    frame.loc[2, "measurements"] = "{not json"
    data = validate_request(frame)
    ids = patients["patient_id"].tolist()
    assert set(data.report.rejected_patients) == set(ids)
    assert "age_years" in data.report.rejected_patients[ids[0]]
    assert "unit" in data.report.rejected_patients[ids[1]]
    assert len(data.patients) == 0


def test_request_without_measurements_column_is_structural(simulated_data):
    frame = request_frame(simulated_data.patients.iloc[:2], simulated_data.measurements).drop(
        columns=["measurements"]
    )
    with pytest.raises(ContractError):
        tables_from_request(frame)
