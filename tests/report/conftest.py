"""A small simulated folder with a hostile site name, and the shared gradient-boosting model file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from relapse_ml.workflows.simulate import run_simulate

HOSTILE_SITE = "<script>alert(1)</script>"


@pytest.fixture(scope="session")
def report_setup(
    tmp_path_factory: pytest.TempPathFactory, model_file
) -> tuple[Path, Path, list[str]]:
    """(data folder, saved model path, patient ids); the first patient's site is hostile."""
    # A tree model: the report's explanations then go through TreeSHAP.
    model_path = model_file("hist_gradient_boosting")
    new_dir = tmp_path_factory.mktemp("report") / "new"
    run_simulate(n=40, seed=12, out_dir=new_dir, fmt="csv")
    (new_dir / "outcomes.csv").unlink()
    patients = pd.read_csv(new_dir / "patients.csv", dtype=str, keep_default_na=False)
    patients.loc[0, "site"] = HOSTILE_SITE
    patients.loc[5, "age_years"] = "250"  # rejected by validation
    patients.to_csv(new_dir / "patients.csv", index=False)
    ids = patients["patient_id"].tolist()
    return new_dir, model_path, ids
