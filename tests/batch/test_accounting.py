"""Nothing lost: every input patient is scored or rejected (with a reason), never both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from relapse_ml.batch.config import PredictConfig
from relapse_ml.errors import ContractError
from relapse_ml.schema import load_contract
from relapse_ml.workflows.predict import run_predict


def _read_text(path):
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _write(folder, patients, measurements):
    folder.mkdir(parents=True, exist_ok=True)
    patients.to_csv(folder / "patients.csv", index=False)
    measurements.to_csv(folder / "measurements.csv", index=False)


@pytest.fixture()
def mixed_folder(cohort_dirs, tmp_path):
    """Valid patients mixed with every kind of per-patient problem and orphan rows."""
    patients = _read_text(cohort_dirs["csv"] / "patients.csv").iloc[:40].copy()
    measurements = _read_text(cohort_dirs["csv"] / "measurements.csv")
    measurements = measurements[measurements["patient_id"].isin(patients["patient_id"])].copy()
    ids = patients["patient_id"].tolist()
    patients.loc[2, "age_years"] = "abc"  # not a number: file row 3
    patients.loc[5, "age_years"] = "150"  # out of range: file row 6
    patients.loc[9, "patient_id"] = ""  # no id: file row 10
    bad_marker = measurements.index[measurements["patient_id"] == ids[12]][0]
    measurements.loc[bad_marker, "marker"] = "no_such_marker"
    bad_unit = measurements.index[measurements["patient_id"] == ids[20]][0]
    measurements.loc[bad_unit, "unit"] = "furlongs"
    ghost = measurements.iloc[:3].copy()
    ghost["patient_id"] = "GHOST"
    measurements = pd.concat([measurements.iloc[:10], ghost, measurements.iloc[10:]])
    folder = tmp_path / "mixed"
    _write(folder, patients, measurements)
    return folder, ids


def test_every_patient_scored_or_rejected_once(model_path, mixed_folder, tmp_path):
    folder, ids = mixed_folder
    out = tmp_path / "out" / "pred.csv"
    summary = run_predict(PredictConfig(folder, str(model_path), out, chunk_size=8, workers=1))
    scored = pd.read_csv(out, dtype={"patient_id": str}, keep_default_na=False)
    rejects = pd.read_csv(out.with_name("pred.rejects.csv"), dtype=str, keep_default_na=False)
    orphan = rejects["expected"] == "a patient_id present in patients"
    patient_rejects = rejects[~orphan]
    input_ids = [*ids[:9], "", *ids[10:]]
    assert sorted(scored["patient_id"].tolist() + patient_rejects["patient_id"].tolist()) == sorted(
        input_ids
    )
    assert not set(scored["patient_id"]) & set(patient_rejects["patient_id"])
    assert summary.n_input == 40
    assert (summary.n_scored, summary.n_rejected) == (35, 5)
    by_id = patient_rejects.set_index("patient_id")
    assert by_id.loc[ids[2], ["table", "column", "row", "found"]].tolist() == [
        "patients",
        "age_years",
        "3",
        "'abc'",
    ]
    assert by_id.loc[ids[5], "column"] == "age_years" and by_id.loc[ids[5], "row"] == "6"
    assert by_id.loc["", ["column", "row"]].tolist() == ["patient_id", "10"]
    assert by_id.loc[ids[12], ["table", "column"]].tolist() == ["measurements", "marker"]
    assert by_id.loc[ids[20], ["table", "column"]].tolist() == ["measurements", "unit"]
    # The row that lost its id leaves its measurements without a patient, like GHOST's.
    assert rejects[orphan]["patient_id"].tolist() == ["GHOST", ids[9]]
    ghost = rejects[orphan].iloc[0]
    # GHOST rows are file rows 11-13 of measurements; the first is reported.
    assert (ghost["table"], ghost["column"], ghost["row"]) == ("measurements", "patient_id", "11")
    assert "3 measurement row(s)" in ghost["reason"]
    assert summary.n_unknown_patients == 2


def test_repeated_id_across_chunks_stops_and_writes_nothing(model_path, cohort_dirs, tmp_path):
    patients = _read_text(cohort_dirs["csv"] / "patients.csv").iloc[:20].copy()
    patients.loc[15, "patient_id"] = patients.loc[1, "patient_id"]
    folder = tmp_path / "dup"
    _write(folder, patients, _read_text(cohort_dirs["csv"] / "measurements.csv"))
    out = tmp_path / "out" / "pred.csv"
    with pytest.raises(ContractError) as caught:
        run_predict(PredictConfig(folder, str(model_path), out, chunk_size=5, workers=1))
    assert caught.value.exit_code == 2
    problem = caught.value.problems[0]
    assert (problem.kind, problem.column, problem.row) == ("structural", "patient_id", 16)
    assert not (tmp_path / "out").exists()


def test_missing_required_column_stops_and_writes_nothing(model_path, cohort_dirs, tmp_path):
    patients = _read_text(cohort_dirs["csv"] / "patients.csv").drop(columns=["disease"])
    folder = tmp_path / "nocol"
    _write(folder, patients, _read_text(cohort_dirs["csv"] / "measurements.csv"))
    with pytest.raises(ContractError, match="disease"):
        run_predict(PredictConfig(folder, str(model_path), tmp_path / "out" / "p.csv", workers=1))
    assert not (tmp_path / "out").exists()


def test_data_after_the_landmark_never_changes_a_risk(model_path, cohort_dirs, tmp_path):
    landmark = 28
    patients = _read_text(cohort_dirs["csv"] / "patients.csv")
    measurements = _read_text(cohort_dirs["csv"] / "measurements.csv")
    base = tmp_path / "base" / "p.csv"
    run_predict(PredictConfig(cohort_dirs["csv"], str(model_path), base, workers=1))
    late = measurements["day"].astype(int) > landmark
    altered = measurements.copy()
    altered.loc[late, "value"] = (altered.loc[late, "value"].astype(float) * 0.37).astype(str)
    extra = measurements[~late].drop_duplicates("patient_id").copy()
    extra["day"] = str(landmark + 1)
    extra["value"] = "99"
    # Patient columns known only after the landmark (none in contract v1 at day 28).
    later = [
        c.name
        for c in load_contract().patients.columns
        if c.available_from_day is not None and c.available_from_day > landmark
    ]
    for column in later:
        patients[column] = ""
    folder = tmp_path / "late"
    _write(folder, patients, pd.concat([altered, extra]))
    moved = tmp_path / "late_out" / "p.csv"
    run_predict(PredictConfig(folder, str(model_path), moved, workers=1))
    a, b = pd.read_csv(base), pd.read_csv(moved)
    pd.testing.assert_frame_equal(
        a.drop(columns=["ood", "ood_reason"]), b.drop(columns=["ood", "ood_reason"])
    )


KILL_SCRIPT = """
import sys, time
from relapse_ml.serving.scoring import score_patients
from relapse_ml.batch.config import PredictConfig
from relapse_ml.workflows.predict import run_predict

def slow(*args, **kwargs):
    time.sleep(0.5)
    return score_patients(*args, **kwargs)

run_predict(PredictConfig(sys.argv[1], sys.argv[2], sys.argv[3], chunk_size=10, workers=1), scorer=slow)
"""


def test_sigkill_leaves_no_file_at_the_output_path(model_path, cohort_dirs, tmp_path):
    out = tmp_path / "out" / "pred.parquet"
    process = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(cohort_dirs["parquet"]), str(model_path), str(out)]
    )
    try:
        deadline = time.monotonic() + 60
        # Wait until the job is writing (its temporary files exist), then kill it.
        while not list(out.parent.glob(".pred.parquet.relapse-ml-tmp-*")):
            assert process.poll() is None, "the job ended before it could be killed"
            assert time.monotonic() < deadline, "the job never started writing"
            time.sleep(0.05)
        time.sleep(1.0)
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
    assert not out.exists()
    assert not out.with_name("pred.rejects.csv").exists()
    assert not out.with_name("pred.drift.json").exists()
