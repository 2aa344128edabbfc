"""A small simulated folder with a hostile site name, and a saved model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from relapse_ml.artifact import save_model
from relapse_ml.training import train_relapse_model
from relapse_ml.validation import validate_folder
from relapse_ml.workflows.simulate import run_simulate
from tests.helpers import quick_train_config

HOSTILE_SITE = "<script>alert(1)</script>"


@pytest.fixture(scope="session")
def report_setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    """(data folder, saved model path, patient ids); the first patient's site is hostile."""
    root = tmp_path_factory.mktemp("report")
    train_dir = root / "train"
    run_simulate(n=600, seed=11, out_dir=train_dir, fmt="csv")
    data = validate_folder(train_dir, require_outcomes=True)
    config = quick_train_config("hist_gradient_boosting")
    model = train_relapse_model(data.patients, data.measurements, data.outcomes, config).model
    model_path = save_model(model, root / "model.skops")
    new_dir = root / "new"
    run_simulate(n=40, seed=12, out_dir=new_dir, fmt="csv")
    (new_dir / "outcomes.csv").unlink()
    patients = pd.read_csv(new_dir / "patients.csv", dtype=str, keep_default_na=False)
    patients.loc[0, "site"] = HOSTILE_SITE
    patients.loc[5, "age_years"] = "250"  # rejected by validation
    patients.to_csv(new_dir / "patients.csv", index=False)
    ids = patients["patient_id"].tolist()
    shutil.rmtree(train_dir)
    return new_dir, model_path, ids
