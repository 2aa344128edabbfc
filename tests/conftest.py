"""Session-wide fixtures: one simulated cohort, one trained-model factory, a real MLflow server.

Training is the slow part of the suite, so every test that needs a trained model
asks the one factory (``trained_model`` / ``model_file``): each (family,
calibration) pair is trained at most once per session, on the one shared
cohort. Tests must treat the models and files they get as read-only (copy a
file before changing it).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from relapse_ml.artifact import LandmarkModels, RelapseRiskModel, save_model
from relapse_ml.training import TrainingResult, train_relapse_model
from relapse_ml.training.config import TrainConfig
from relapse_ml.validation import ValidatedData, validate_folder
from relapse_ml.workflows.simulate import run_simulate
from tests.helpers import free_port, quick_train_config, stop_process, venv_env, wait_for_http

# The one training cohort of the suite (large enough for every test that trains).
TRAIN_N, TRAIN_SEED = 800, 11


@pytest.fixture(scope="session")
def simulated_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared 800-patient simulated training cohort written as CSV (with truth.csv)."""
    folder = tmp_path_factory.mktemp("cohort")
    run_simulate(n=TRAIN_N, seed=TRAIN_SEED, out_dir=folder, fmt="csv")
    return folder


@pytest.fixture(scope="session")
def simulated_data(simulated_cohort: Path) -> ValidatedData:
    """The shared cohort's validated canonical tables (outcomes included)."""
    return validate_folder(simulated_cohort, require_outcomes=True)


@pytest.fixture(scope="session")
def training_result(
    simulated_data: ValidatedData,
) -> Callable[..., TrainingResult]:
    """``training_result(family="logistic", calibration="sigmoid")`` -> TrainingResult.

    Each pair is trained once per session on the shared cohort with
    :func:`tests.helpers.quick_train_config`; later calls return the same object.
    """
    cache: dict[tuple[str, str], TrainingResult] = {}

    def get(family: str = "logistic", calibration: str = "sigmoid") -> TrainingResult:
        key = (family, calibration)
        if key not in cache:
            cache[key] = train_relapse_model(
                simulated_data.patients,
                simulated_data.measurements,
                simulated_data.outcomes,
                quick_train_config(family, calibration),
            )
        return cache[key]

    return get


@pytest.fixture(scope="session")
def landmark_models(
    training_result: Callable[..., TrainingResult],
) -> Callable[..., LandmarkModels]:
    """``landmark_models(family=..., calibration=...)`` -> the whole artifact (every landmark)."""

    def get(family: str = "logistic", calibration: str = "sigmoid") -> LandmarkModels:
        return training_result(family, calibration).model

    return get


@pytest.fixture(scope="session")
def trained_model(
    landmark_models: Callable[..., LandmarkModels],
) -> Callable[..., RelapseRiskModel]:
    """``trained_model(family=..., calibration=..., landmark=None)`` -> one landmark's model.

    The first landmark's (day 28) unless ``landmark`` names another trained one.
    """

    def get(
        family: str = "logistic", calibration: str = "sigmoid", landmark: int | None = None
    ) -> RelapseRiskModel:
        return landmark_models(family, calibration).at(landmark)

    return get


@pytest.fixture(scope="session")
def model_file(
    landmark_models: Callable[..., LandmarkModels], tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., Path]:
    """``model_file(family="logistic", calibration="sigmoid")`` -> the model saved once as .skops."""
    folder = tmp_path_factory.mktemp("models")
    cache: dict[tuple[str, str], Path] = {}

    def get(family: str = "logistic", calibration: str = "sigmoid") -> Path:
        key = (family, calibration)
        if key not in cache:
            model = landmark_models(family, calibration)
            cache[key] = save_model(model, folder / f"{family}-{calibration}.skops")
        return cache[key]

    return get


@pytest.fixture(scope="session")
def model_path(model_file: Callable[..., Path]) -> Path:
    """The default small model (logistic, sigmoid) saved as a .skops file."""
    return model_file()


@pytest.fixture(scope="session")
def fast_config() -> TrainConfig:
    """A training recipe small enough for tests: one family, one candidate, few bootstraps."""
    return quick_train_config(experiment="tests")


@pytest.fixture(scope="session")
def cohort_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same 150 simulated patients (no outcomes) as a CSV folder and as a Parquet folder."""
    out = {}
    for fmt in ("csv", "parquet"):
        folder = tmp_path_factory.mktemp(f"cohort_{fmt}")
        run_simulate(n=150, seed=5, out_dir=folder, fmt=fmt)
        (folder / f"outcomes.{fmt}").unlink()
        out[fmt] = folder
    return out


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real ``mlflow server`` on 127.0.0.1 with a SQLite backend and an artifacts folder."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", f"sqlite:///{root / 'server.db'}",
        "--artifacts-destination", str(root / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    log = (root / "server.log").open("w")
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=venv_env(), cwd=root
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/health", process=process)
        yield url
    finally:
        stop_process(process, 20)
        log.close()
