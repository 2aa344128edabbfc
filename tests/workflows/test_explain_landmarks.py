"""``build_report`` and ``run_explain`` at a landmark: the model chosen, single models, errors."""

from __future__ import annotations

import pandas as pd
import pytest

from relapse_ml.artifact import LandmarkNotTrainedError
from relapse_ml.errors import UserError
from relapse_ml.validation import validate_folder
from relapse_ml.workflows.explain import build_report, run_explain, select_patients
from relapse_ml.workflows.simulate import run_simulate

FAMILY = "hist_gradient_boosting"


@pytest.fixture(scope="module")
def new_patients(tmp_path_factory):
    """(folder, canonical patients, measurements) of three simulated patients without outcomes."""
    folder = tmp_path_factory.mktemp("explain-landmarks") / "new"
    run_simulate(n=12, seed=21, out_dir=folder, fmt="csv")
    (folder / "outcomes.csv").unlink()
    ids = pd.read_csv(folder / "patients.csv", dtype=str)["patient_id"].tolist()[:3]
    patients, measurements = select_patients(validate_folder(folder, include_outcomes=False), ids)
    return folder, patients, measurements


def test_build_report_uses_the_landmark_model(landmark_models, new_patients):
    models = landmark_models(FAMILY)
    _, patients, measurements = new_patients
    model_input = models.primary.model_input(patients, measurements)
    default, _ = build_report(models, patients, measurements)
    assert default["model"]["landmark_day"] == models.primary.landmark_day
    last = models.landmarks_days[-1]
    content, page = build_report(models, patients, measurements, landmark=last)
    assert content["model"]["landmark_day"] == last
    risks = models.at(last).risk(model_input)
    assert [p["risk"] for p in content["patients"]] == pytest.approx(list(risks), rel=1e-9)
    assert f"given the data known at day {last}" in page


def test_build_report_accepts_one_landmark_model(trained_model, new_patients):
    """Existing callers pass one ``RelapseRiskModel``: a one-landmark report."""
    _, patients, measurements = new_patients
    model = trained_model(FAMILY, landmark=90)
    content, _ = build_report(model, patients, measurements)
    assert content["model"]["landmarks_days"] == [90]
    for patient in content["patients"]:
        assert [t["landmark_day"] for t in patient["trajectory"]] == [90]
        assert patient["trajectory"][0]["risk"] == pytest.approx(patient["risk"], rel=1e-12)
    with pytest.raises(LandmarkNotTrainedError, match="landmark day 28"):
        build_report(model, patients, measurements, landmark=28)


def test_untrained_landmark_is_a_user_error_and_writes_nothing(
    landmark_models, model_file, new_patients, tmp_path
):
    folder, patients, _ = new_patients
    trained = landmark_models(FAMILY).landmarks_days
    untrained = next(d for d in range(trained[0] + 1, 10_000) if d not in trained)
    with pytest.raises(UserError) as caught:
        run_explain(
            folder,
            str(model_file(FAMILY)),
            [str(patients["patient_id"].iloc[0])],
            tmp_path / "r.html",
            tmp_path / "r.json",
            landmark=untrained,
        )
    assert caught.value.exit_code == 2
    assert f"landmark day {untrained}" in str(caught.value)
    assert ", ".join(str(d) for d in trained) in str(caught.value)
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "r.json").exists()
