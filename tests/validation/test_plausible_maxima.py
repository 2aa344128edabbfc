"""Plausible maxima: a value no body can hold is rejected for one patient, never the batch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from relapse_ml.batch.config import PredictConfig
from relapse_ml.errors import PER_PATIENT
from relapse_ml.features import LandmarkFeatures
from relapse_ml.features._panel import attach_measurements
from relapse_ml.schema import load_contract
from relapse_ml.validation import validate_folder
from relapse_ml.workflows.predict import run_predict
from relapse_ml.workflows.simulate import run_simulate
from tests.helpers import tiny_tables, write_tables

MARKERS = tuple(load_contract().markers.values())


def _one_marker_row(marker: str, value: str) -> dict[str, pd.DataFrame]:
    """Tiny tables whose last measurement row (file row 7, patient P3) is ``marker = value``."""
    tables = tiny_tables()
    unit = load_contract().markers[marker].unit
    row = pd.DataFrame(
        [{"patient_id": "P3", "day": "7", "marker": marker, "value": value, "unit": unit}]
    )
    tables["measurements"] = pd.concat([tables["measurements"], row], ignore_index=True).fillna("")
    return tables


@pytest.mark.parametrize("marker", MARKERS, ids=lambda m: m.name)
def test_each_marker_rejects_a_value_above_its_maximum(tmp_path, marker):
    above = f"{marker.maximum * 1.001:.17g}"
    report = validate_folder(
        write_tables(tmp_path, _one_marker_row(marker.name, above), "csv")
    ).report
    [problem] = report.problems
    assert (problem.kind, problem.table, problem.column) == (PER_PATIENT, "measurements", "value")
    assert (problem.row, problem.patient_id) == (7, "P3")
    assert (
        problem.expected == f"a value <= {marker.maximum:g} {marker.unit} for marker {marker.name}"
    )
    assert problem.found == str(float(above))
    assert "P3" in report.rejected_patients


@pytest.mark.parametrize("marker", MARKERS, ids=lambda m: m.name)
def test_each_marker_accepts_its_maximum(tmp_path, marker):
    at_max = f"{marker.maximum:.17g}"
    report = validate_folder(
        write_tables(tmp_path, _one_marker_row(marker.name, at_max), "csv")
    ).report
    assert report.is_valid, report.render()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_absurd_values_are_rejected_in_both_formats(tmp_path, fmt):
    tables = _one_marker_row("ferritin_ng_ml", "1e308")
    tables["measurements"].loc[0, "value"] = "1e12"  # P1's car_transgene, file row 1
    tables["patients"].loc[1, "ldh_u_per_l"] = "1e308"  # P2, file row 2
    report = validate_folder(write_tables(tmp_path, tables, fmt)).report
    found = {(p.table, p.column, p.row, p.patient_id) for p in report.problems}
    assert found == {
        ("measurements", "value", 1, "P1"),
        ("measurements", "value", 7, "P3"),
        ("patients", "ldh_u_per_l", 2, "P2"),
    }
    assert set(report.rejected_patients) == {"P1", "P2", "P3"}
    assert "<= 1e+07 copies/ug for marker car_transgene" in report.rejected_patients["P1"]
    assert "<= 1e+06 ng/mL for marker ferritin_ng_ml" in report.rejected_patients["P3"]
    assert "from 0 to 20000 U/L" in report.rejected_patients["P2"]


def test_one_absurd_measurement_costs_one_patient_not_the_batch(model_path, tmp_path):
    folder = tmp_path / "cohort"
    run_simulate(n=60, seed=3, out_dir=folder, fmt="csv")
    (folder / "outcomes.csv").unlink()
    measurements = pd.read_csv(folder / "measurements.csv", dtype=str, keep_default_na=False)
    ids = pd.read_csv(folder / "patients.csv", dtype=str, keep_default_na=False)["patient_id"]
    # A transgene value inside the window the features use (days 0..28).
    in_window = (measurements["marker"] == "car_transgene") & measurements["day"].astype(
        int
    ).between(1, 28)
    index = measurements.index[in_window][0]
    victim = measurements.loc[index, "patient_id"]
    measurements.loc[index, "value"] = "1e308"
    measurements.to_csv(folder / "measurements.csv", index=False)
    out = tmp_path / "out" / "scores.csv"

    summary = run_predict(
        PredictConfig(folder, str(model_path), out, chunk_size=16, progress=False, workers=1)
    )

    scored = pd.read_csv(out, dtype={"patient_id": str}, keep_default_na=False)
    rejects = pd.read_csv(out.with_name("scores.rejects.csv"), dtype=str, keep_default_na=False)
    assert (summary.n_input, summary.n_scored, summary.n_rejected) == (60, 59, 1)
    assert sorted(scored["patient_id"]) == sorted(set(ids) - {victim})
    assert np.isfinite(scored["risk"].astype(float)).all()
    [reject] = rejects.to_dict("records")
    assert reject["patient_id"] == victim
    assert (reject["table"], reject["column"], reject["row"]) == (
        "measurements",
        "value",
        str(index + 1),
    )
    assert reject["expected"] == "a value <= 1e+07 copies/ug for marker car_transgene"
    assert reject["found"] == "1e+308"


def _extreme_cohort(landmark: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Patients at every numeric maximum with every marker at its maximum on every day 0..L.

    Patient X2 starts and ends each series at the smallest positive double, with the
    maximum in between: the largest possible fold expansion and contraction rate.
    """
    contract = load_contract()
    patients = {}
    for column in contract.patients.columns:
        if column.dtype in ("number", "integer"):
            patients[column.name] = [float(column.maximum)] * 2
        elif column.dtype == "category":
            patients[column.name] = [column.values[0]] * 2
        elif column.dtype == "boolean":
            patients[column.name] = [1.0, 1.0]
    patients["patient_id"] = ["X1", "X2"]
    frame = pd.DataFrame(patients)
    for column in contract.patients.columns:
        if column.dtype == "category":
            frame[column.name] = pd.Categorical(frame[column.name], categories=column.values)
    rows = []
    tiny = np.nextafter(0.0, 1.0)
    for pid in ("X1", "X2"):
        for marker in contract.markers.values():
            for day in range(landmark + 1):
                edge = pid == "X2" and day in (0, landmark)
                for _ in range(3):  # replicates are summed before they are averaged
                    rows.append((pid, day, marker.name, tiny if edge else marker.maximum, ""))
    measurements = pd.DataFrame(rows, columns=["patient_id", "day", "marker", "value", "qualifier"])
    measurements["marker"] = pd.Categorical(
        measurements["marker"], categories=list(contract.markers)
    )
    return frame, measurements


@pytest.mark.parametrize("landmark", [28, 3650])
def test_no_feature_overflows_within_the_maxima(landmark):
    patients, measurements = _extreme_cohort(landmark)
    X = attach_measurements(patients, measurements)
    features = LandmarkFeatures(landmark_day=landmark).fit(X).transform(X)
    numeric = features.select_dtypes("number").to_numpy(dtype=float)
    assert not np.isinf(numeric).any(), features.columns[np.isinf(numeric).any(axis=0)].tolist()


def test_patients_at_every_maximum_are_scored(model_path, tmp_path):
    patients, measurements = _extreme_cohort(28)
    units = {m.name: m.unit for m in MARKERS}
    measurements["unit"] = measurements["marker"].astype(str).map(units)
    measurements["value"] = measurements["value"].map(repr)
    for name in ("bridging_therapy", "tocilizumab"):
        patients[name] = "true"
    folder = tmp_path / "extreme"
    folder.mkdir()
    patients.to_csv(folder / "patients.csv", index=False)
    measurements.to_csv(folder / "measurements.csv", index=False)
    assert validate_folder(folder).report.is_valid
    out = tmp_path / "out" / "scores.csv"

    summary = run_predict(PredictConfig(folder, str(model_path), out, progress=False, workers=1))

    scored = pd.read_csv(out, dtype={"patient_id": str})
    assert (summary.n_scored, summary.n_rejected) == (2, 0)
    assert np.isfinite(scored["risk"]).all()
