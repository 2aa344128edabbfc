"""Fixtures for batch prediction tests: a small trained model and simulated cohorts."""

from __future__ import annotations

from pathlib import Path

import pytest

from relapse_ml.serving.artifact import save_model
from relapse_ml.testing import quick_train_config
from relapse_ml.training import train_relapse_model
from relapse_ml.validation import validate_folder
from relapse_ml.workflows.simulate import run_simulate


@pytest.fixture(scope="session")
def model_path(tmp_path_factory) -> Path:
    """A small, fast model (one family, one candidate) saved as a .skops file."""
    folder = tmp_path_factory.mktemp("train")
    run_simulate(n=800, seed=11, out_dir=folder, fmt="parquet")
    data = validate_folder(folder, require_outcomes=True)
    config = quick_train_config()
    result = train_relapse_model(data.patients, data.measurements, data.outcomes, config)
    return save_model(result.model, folder / "model.skops")


@pytest.fixture(scope="session")
def cohort_dirs(tmp_path_factory) -> dict[str, Path]:
    """The same 150 simulated patients as a CSV folder and as a Parquet folder."""
    out = {}
    for fmt in ("csv", "parquet"):
        folder = tmp_path_factory.mktemp(f"cohort_{fmt}")
        run_simulate(n=150, seed=5, out_dir=folder, fmt=fmt)
        (folder / f"outcomes.{fmt}").unlink()
        out[fmt] = folder
    return out
