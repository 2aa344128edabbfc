"""Shared fixtures: simulated cohorts, a fast training recipe, a real MLflow server on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from relapse_ml.artifact import save_model
from relapse_ml.config import TrainConfig
from relapse_ml.training import train_relapse_model
from relapse_ml.validation import validate_folder
from relapse_ml.workflows.simulate import run_simulate
from tests.helpers import free_port, quick_train_config, stop_process, venv_env, wait_for_http


@pytest.fixture(scope="session")
def simulated_cohort(tmp_path_factory) -> Path:
    """An 800-patient simulated training cohort written as CSV (with truth.csv)."""
    folder = tmp_path_factory.mktemp("cohort")
    run_simulate(n=800, seed=11, out_dir=folder, fmt="csv")
    return folder


@pytest.fixture(scope="session")
def fast_config() -> TrainConfig:
    """A training recipe small enough for tests: one family, one candidate, few bootstraps."""
    return quick_train_config(experiment="tests")


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


@pytest.fixture(scope="session")
def model_path(tmp_path_factory) -> Path:
    """A small, fast model (one family, one candidate) saved as a .skops file."""
    folder = tmp_path_factory.mktemp("train")
    run_simulate(n=800, seed=11, out_dir=folder, fmt="parquet")
    data = validate_folder(folder, require_outcomes=True)
    config = quick_train_config()
    result = train_relapse_model(data.patients, data.measurements, data.outcomes, config)
    return save_model(result.model, folder / "model.skops")
