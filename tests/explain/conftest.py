"""Shared simulated cohort and small trained models (one per family and calibration)."""

from __future__ import annotations

from pathlib import Path

import pytest

from relapse_ml.artifact import RelapseRiskModel
from relapse_ml.training import train_relapse_model
from relapse_ml.validation import ValidatedData, validate_folder
from relapse_ml.workflows.simulate import run_simulate
from tests.helpers import quick_train_config

FAMILIES = ("logistic", "hist_gradient_boosting", "random_forest")
CALIBRATIONS = ("sigmoid", "isotonic")


def small_config(family: str, calibration: str):
    """Fast training options: one family, one candidate, one CV repeat."""
    return quick_train_config(family, calibration)


@pytest.fixture(scope="session")
def sim_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An 800-patient simulated cohort written as CSV."""
    out = tmp_path_factory.mktemp("sim800")
    run_simulate(n=800, seed=3, out_dir=out, fmt="csv")
    return out


@pytest.fixture(scope="session")
def sim_data(sim_dir: Path) -> ValidatedData:
    """The cohort's validated canonical tables."""
    return validate_folder(sim_dir, require_outcomes=True)


@pytest.fixture(scope="session")
def trained(sim_data: ValidatedData):
    """``trained(family, calibration)`` -> RelapseRiskModel, each trained once per session."""
    cache: dict[tuple[str, str], RelapseRiskModel] = {}

    def get(family: str, calibration: str = "sigmoid") -> RelapseRiskModel:
        key = (family, calibration)
        if key not in cache:
            result = train_relapse_model(
                sim_data.patients,
                sim_data.measurements,
                sim_data.outcomes,
                small_config(family, calibration),
            )
            cache[key] = result.model
        return cache[key]

    return get
