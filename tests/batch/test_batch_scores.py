"""Batch prediction: same scores as whole-file scoring, whatever the chunking, format or run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from relapse_ml.artifact import load_model
from relapse_ml.batch.config import PredictConfig
from relapse_ml.serving.scoring import score_patients
from relapse_ml.validation import validate_folder
from relapse_ml.workflows.predict import run_predict

GROUPS = ["antigen", "exhaustion", "persistence", "tme", "clinical"]


def test_matches_whole_file_scoring(model_path, cohort_dirs, tmp_path):
    out = tmp_path / "pred.parquet"
    summary = run_predict(
        PredictConfig(cohort_dirs["parquet"], str(model_path), out, chunk_size=40, workers=1)
    )
    got = pd.read_parquet(out)
    data = validate_folder(cohort_dirs["parquet"], include_outcomes=False)
    expected = score_patients(load_model(model_path).at(28), data.patients, data.measurements)
    assert list(got.columns) == list(expected.columns)
    np.testing.assert_allclose(got["risk"], expected["risk"], rtol=0, atol=1e-12)
    assert got["patient_id"].tolist() == expected["patient_id"].tolist()
    total = got["baseline_risk"] + got[[f"contrib_{g}" for g in GROUPS]].sum(axis=1)
    np.testing.assert_allclose(total, got["risk"], atol=1e-9)
    assert (summary.n_input, summary.n_scored, summary.n_rejected) == (150, 150, 0)
    assert summary.n_ood == int(got["ood"].sum())
    rejects = pd.read_csv(out.with_name("pred.rejects.csv"))
    assert rejects.empty and list(rejects.columns)[:2] == ["patient_id", "table"]


def test_chunk_size_does_not_change_results(model_path, cohort_dirs, tmp_path):
    paths = []
    for size in (7, 64, 10_000):
        out = tmp_path / f"c{size}" / "pred.csv"
        run_predict(
            PredictConfig(cohort_dirs["csv"], str(model_path), out, chunk_size=size, workers=1)
        )
        paths.append(out)
    # Identical up to floating-point summation order (BLAS blocks matrices by their size).
    first = pd.read_csv(paths[0])
    for path in paths[1:]:
        pd.testing.assert_frame_equal(
            pd.read_csv(path), first, check_exact=False, rtol=0, atol=1e-12
        )
    drifts = [p.with_name("pred.drift.json").read_text() for p in paths]
    assert drifts[0] == drifts[1] == drifts[2]


def test_csv_and_parquet_inputs_give_identical_output(model_path, cohort_dirs, tmp_path):
    a, b = tmp_path / "a" / "p.csv", tmp_path / "b" / "p.csv"
    run_predict(PredictConfig(cohort_dirs["csv"], str(model_path), a, chunk_size=50, workers=1))
    run_predict(PredictConfig(cohort_dirs["parquet"], str(model_path), b, chunk_size=50, workers=1))
    assert a.read_bytes() == b.read_bytes()


def test_deterministic(model_path, cohort_dirs, tmp_path):
    a, b = tmp_path / "a" / "p.parquet", tmp_path / "b" / "p.parquet"
    run_predict(PredictConfig(cohort_dirs["parquet"], str(model_path), a, chunk_size=33, workers=1))
    run_predict(PredictConfig(cohort_dirs["parquet"], str(model_path), b, chunk_size=33, workers=1))
    pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b))
    assert a.with_name("p.drift.json").read_text() == b.with_name("p.drift.json").read_text()


def test_drift_report_written_and_summarised(model_path, cohort_dirs, tmp_path):
    out = tmp_path / "pred.csv"
    lines: list[str] = []
    summary = run_predict(
        PredictConfig(cohort_dirs["csv"], str(model_path), out, workers=1), echo=lines.append
    )
    report = json.loads(out.with_name("pred.drift.json").read_text())
    assert report["n_patients"] == 150
    model = load_model(model_path).primary
    assert {f["feature"] for f in report["features"]} == set(model.reference.psi_edges)
    psis = [f["psi"] for f in report["features"]]
    assert psis == sorted(psis, reverse=True)
    assert summary.drift_summary["n_features"] == len(psis)
    assert "drift:" in lines[0] and "patients/s" in lines[0]


def test_worker_processes_give_byte_identical_output(model_path, cohort_dirs, tmp_path):
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    run_predict(
        PredictConfig(cohort_dirs["parquet"], str(model_path), one, chunk_size=40, workers=1)
    )
    summary = run_predict(
        PredictConfig(cohort_dirs["parquet"], str(model_path), two, chunk_size=40, workers=2)
    )
    assert summary.n_scored + summary.n_rejected == summary.n_input
    assert one.read_bytes() == two.read_bytes()
    assert (
        one.with_name("one.rejects.csv").read_bytes()
        == two.with_name("two.rejects.csv").read_bytes()
    )
