"""A bad value costs one patient, not the batch: the per-chunk guard and its limit."""

from __future__ import annotations

import pandas as pd
import pytest

from relapse_ml.batch.config import PredictConfig
from relapse_ml.cli import main
from relapse_ml.errors import InternalError
from relapse_ml.serving.scoring import score_patients
from relapse_ml.workflows.predict import run_predict


def _first_id(cohort_dirs) -> str:
    return str(pd.read_csv(cohort_dirs["csv"] / "patients.csv", dtype=str)["patient_id"].iloc[17])


def _failing_on(bad_id: str):
    def scorer(model, patients, measurements, **kwargs):
        if bad_id in set(patients["patient_id"].astype(str)):
            raise OverflowError("value too large to convert")
        return score_patients(model, patients, measurements, **kwargs)

    return scorer


def _always_failing(model, patients, measurements, **kwargs):
    raise ValueError("broken model")


def test_one_failing_patient_is_rejected_and_the_others_are_scored(
    model_path, cohort_dirs, tmp_path
):
    bad = _first_id(cohort_dirs)
    out = tmp_path / "pred.csv"
    lines: list[str] = []
    summary = run_predict(
        PredictConfig(cohort_dirs["csv"], str(model_path), out, chunk_size=40, workers=1),
        scorer=_failing_on(bad),
        echo=lines.append,
    )
    assert (summary.n_input, summary.n_scored, summary.n_rejected) == (150, 149, 1)
    assert summary.n_internal_errors == 1
    assert "warning: 1 patient(s) could not be scored" in lines[0]
    rejects = pd.read_csv(out.with_name("pred.rejects.csv"), dtype=str, keep_default_na=False)
    assert rejects["patient_id"].tolist() == [bad]
    assert rejects["reason"].iloc[0] == "internal error: OverflowError: value too large to convert"
    assert rejects["row"].iloc[0] == "18"
    # The other patients of the failed chunk get the same risk as in a normal run.
    scored = pd.read_csv(out, dtype={"patient_id": str})
    normal = tmp_path / "normal.csv"
    run_predict(
        PredictConfig(cohort_dirs["csv"], str(model_path), normal, chunk_size=40, workers=1)
    )
    expected = pd.read_csv(normal, dtype={"patient_id": str})
    expected = expected[expected["patient_id"] != bad].reset_index(drop=True)
    assert scored["patient_id"].tolist() == expected["patient_id"].tolist()
    pd.testing.assert_series_equal(scored["risk"], expected["risk"], rtol=0, atol=1e-12)


def test_more_internal_errors_than_allowed_fail_and_write_nothing(
    model_path, cohort_dirs, tmp_path
):
    bad = _first_id(cohort_dirs)
    out = tmp_path / "out" / "pred.csv"
    with pytest.raises(InternalError, match="1 of 150 patients") as caught:
        run_predict(
            PredictConfig(
                cohort_dirs["csv"],
                str(model_path),
                out,
                chunk_size=40,
                max_internal_error_share=0.0,
                workers=1,
            ),
            scorer=_failing_on(bad),
        )
    assert caught.value.exit_code == 1
    assert not (tmp_path / "out").exists()


def test_a_model_failing_on_every_patient_fails_the_run(model_path, cohort_dirs, tmp_path):
    out = tmp_path / "out" / "pred.parquet"
    with pytest.raises(InternalError, match=r"150 of 150 .*ValueError: broken model"):
        run_predict(
            PredictConfig(cohort_dirs["parquet"], str(model_path), out, workers=1),
            scorer=_always_failing,
        )
    assert not (tmp_path / "out").exists()


def test_cli_internal_failure_is_exit_1_with_one_line(
    model_path, cohort_dirs, tmp_path, monkeypatch, capsys
):
    # The CLI uses the default scorer; --workers 1 keeps it in this process.
    monkeypatch.setattr("relapse_ml.serving.scoring.score_patients", _always_failing)
    out = tmp_path / "pred.csv"
    code = main(
        [
            "predict",
            *("--data", str(cohort_dirs["csv"]), "--out", str(out)),
            *("--model", str(model_path), "--workers", "1"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: 150 of 150 patients could not be scored")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
