"""``relapse-ml explain --landmark L`` through the installed console script."""

from __future__ import annotations

import json
import subprocess

import pandas as pd
import pytest

from relapse_ml.workflows.simulate import run_simulate
from tests.helpers import CONSOLE_SCRIPT, venv_env

FAMILY = "hist_gradient_boosting"


@pytest.fixture(scope="module")
def explain_inputs(tmp_path_factory, model_file, landmark_models):
    """(data folder, model file, a patient id, the trained landmark days)."""
    folder = tmp_path_factory.mktemp("explain-cli") / "new"
    run_simulate(n=10, seed=31, out_dir=folder, fmt="csv")
    patient = pd.read_csv(folder / "patients.csv", dtype=str)["patient_id"].iloc[0]
    return folder, model_file(FAMILY), patient, landmark_models(FAMILY).landmarks_days


def _explain(folder, model, patient, out, *extra: str) -> subprocess.CompletedProcess:
    command = [CONSOLE_SCRIPT, "explain", "--data", str(folder), "--patient", patient]
    command += ["--out", str(out), "--model", str(model), *extra]
    return subprocess.run(
        command, capture_output=True, text=True, env=venv_env(), timeout=300, check=False
    )


def test_untrained_landmark_exits_2_naming_the_trained_ones(explain_inputs, tmp_path):
    folder, model, patient, trained = explain_inputs
    untrained = next(d for d in range(trained[0] + 1, 10_000) if d not in trained)
    result = _explain(folder, model, patient, tmp_path / "r.html", "--landmark", str(untrained))
    assert result.returncode == 2, result.stdout + result.stderr
    message = result.stdout + result.stderr
    assert f"no model for landmark day {untrained}" in message
    assert ", ".join(str(d) for d in trained) in message
    assert "Traceback" not in message
    assert not (tmp_path / "r.html").exists()


def test_landmark_option_reports_every_trained_landmark_up_to_it(explain_inputs, tmp_path):
    folder, model, patient, trained = explain_inputs
    landmark = trained[1]
    result = _explain(
        folder,
        model,
        patient,
        tmp_path / "r.html",
        "--landmark",
        str(landmark),
        "--json",
        str(tmp_path / "r.json"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    content = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    (reported,) = content["patients"]
    assert reported["landmark_day"] == landmark
    assert [t["landmark_day"] for t in reported["trajectory"]] == [
        d for d in trained if d <= landmark
    ]
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert f"alive and relapse-free at day {landmark}" in page
