"""The predict workflow's options: JSON summary, progress in a pipe, refused options."""

from __future__ import annotations

import json

import pytest

from relapse_ml.batch.config import PredictConfig
from relapse_ml.errors import UserError
from relapse_ml.workflows.predict import run_predict


def test_json_summary(model_path, cohort_dirs, tmp_path):
    lines: list[str] = []
    run_predict(
        PredictConfig(
            cohort_dirs["csv"], str(model_path), tmp_path / "p.csv", json_summary=True, workers=1
        ),
        echo=lines.append,
    )
    data = json.loads(lines[0])
    assert data["n_scored"] == 150 and data["patients_per_s"] > 0


def test_progress_is_quiet_in_a_pipe(model_path, cohort_dirs, tmp_path, capfd):
    run_predict(
        PredictConfig(
            cohort_dirs["csv"], str(model_path), tmp_path / "p.csv", progress=True, workers=1
        )
    )
    assert capfd.readouterr().err == ""


def test_bad_options(model_path, cohort_dirs, tmp_path):
    with pytest.raises(UserError, match=r"csv or \.parquet"):
        run_predict(
            PredictConfig(cohort_dirs["csv"], str(model_path), tmp_path / "p.txt", workers=1)
        )
    with pytest.raises(UserError, match="engine"):
        run_predict(
            PredictConfig(
                cohort_dirs["csv"], str(model_path), tmp_path / "p.csv", engine="dask", workers=1
            )
        )
    assert not list(tmp_path.iterdir())
