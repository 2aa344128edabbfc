"""The predict workflow's options: JSON summary, progress in a pipe, refused options."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pandas as pd
import pytest

from relapse_ml.artifact import load_model
from relapse_ml.batch.config import PredictConfig
from relapse_ml.errors import UserError
from relapse_ml.validation import validate_folder
from relapse_ml.workflows.predict import run_predict
from tests.helpers import CONSOLE_SCRIPT


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


def test_landmark_scores_with_that_landmarks_model_and_data_known_by_then(
    model_path, cohort_dirs, tmp_path
):
    first, later = tmp_path / "28.csv", tmp_path / "90.csv"
    run_predict(PredictConfig(cohort_dirs["csv"], str(model_path), first, workers=1))
    run_predict(PredictConfig(cohort_dirs["csv"], str(model_path), later, workers=1, landmark=90))
    at_28, at_90 = pd.read_csv(first), pd.read_csv(later)
    assert list(at_28.columns) == list(at_90.columns)  # files can be appended
    assert set(at_28["landmark_day"]) == {28} and set(at_90["landmark_day"]) == {90}
    models = load_model(model_path)
    data = validate_folder(cohort_dirs["csv"], include_outcomes=False)
    expected = models.at(90).risk(models.at(90).model_input(data.patients, data.measurements))
    np.testing.assert_allclose(at_90["risk"], expected, rtol=0, atol=1e-9)


def test_an_untrained_landmark_is_refused_before_any_output(model_path, cohort_dirs, tmp_path):
    out = tmp_path / "p.csv"
    with pytest.raises(UserError, match=r"no model for landmark day 60.*28, 90, 180"):
        run_predict(PredictConfig(cohort_dirs["csv"], str(model_path), out, landmark=60))
    assert not list(tmp_path.iterdir())
    done = subprocess.run(
        [CONSOLE_SCRIPT, "predict", "--data", str(cohort_dirs["csv"]), "--model",
         str(model_path), "--out", str(out), "--landmark", "60"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "no model for landmark day 60" in done.stderr and not out.exists()
