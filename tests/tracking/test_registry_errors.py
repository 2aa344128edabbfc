"""Registry errors are errors: a registry that cannot be read never means "no champion"."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from relapse_ml.cli import main
from relapse_ml.errors import RegistryError, TrackingError
from relapse_ml.tracking import (
    ARTIFACT_FILE,
    current_champion,
    next_model_version,
    register_and_promote,
)
from tests.helpers import free_port, venv_env, wait_for_http

pytestmark = pytest.mark.integration


class Server:
    """A dedicated ``mlflow server`` on 127.0.0.1 that a test may stop and restart on one store."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [
            sys.executable, "-m", "mlflow", "server",
            "--backend-store-uri", f"sqlite:///{self.root / 'server.db'}",
            "--artifacts-destination", str(self.root / "artifacts"),
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
        ]  # fmt: skip
        log = (self.root / "server.log").open("a")
        # Its own process group: stopping it stops its workers too (they hold the port).
        self.process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=venv_env(),
            cwd=self.root,
            start_new_session=True,
        )
        log.close()
        wait_for_http(f"{self.url}/health", process=self.process)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=20)


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A dedicated server; MLflow's client fails fast instead of retrying for minutes."""
    # Set, then deleted: monkeypatch removes whatever MLflow copies into it meanwhile.
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", "")
    monkeypatch.delenv("MLFLOW_REGISTRY_URI")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    root = tmp_path / "server"
    root.mkdir()
    srv = Server(root)
    srv.start()
    try:
        yield srv
    finally:
        srv.kill()
        mlflow.set_tracking_uri(None)  # a run against it leaves MLflow's process-wide URI


def _no_versions(url: str, name: str) -> bool:
    client = MlflowClient(url, registry_uri=url)
    return client.search_model_versions(f"name='{name}'") == []


def test_a_registry_that_cannot_be_read_fails_and_promotes_nothing(server):
    client = MlflowClient(server.url, registry_uri=server.url)
    # A live registry with no such model is a clean "no champion yet".
    assert current_champion(client, "down-model", "auroc") == (None, None)
    assert next_model_version(client, "down-model") == "1"
    server.kill()
    for call in (
        lambda: current_champion(client, "down-model", "auroc"),
        lambda: next_model_version(client, "down-model"),
        lambda: register_and_promote(
            client,
            "runs:/0123456789abcdef/model",
            "down-model",
            metric="auroc",
            new_value=0.9,
            margin=0.0,
            higher_is_better=True,
            run_id="0123456789abcdef",
            skops_sha256="0" * 64,
        ),
    ):
        with pytest.raises(RegistryError) as failure:
            call()
        message = str(failure.value)
        assert failure.value.exit_code == 1 and "down-model" in message and "\n" not in message
    server.start()  # same store: nothing was registered, no alias was set
    assert _no_versions(server.url, "down-model")


def test_server_stopped_mid_training_run_is_exit_1_and_nothing_promoted(
    server, simulated_cohort, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    config = tmp_path / "train.yaml"
    config.write_text(
        "selection: {families: [logistic], n_candidates: 1, cv_repeats: 1, "
        "calibration_methods: [sigmoid]}\nevaluation: {n_bootstrap: 20, subgroup_min_events: 5}\n"
    )

    def stop_when_the_model_is_uploaded() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if any((server.root / "artifacts").rglob(ARTIFACT_FILE)):
                server.kill()
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=stop_when_the_model_is_uploaded, daemon=True)
    watcher.start()
    code = main(
        [
            "train",
            "--data",
            str(simulated_cohort),
            "--config",
            str(config),
            "--register-as",
            "midrun",
        ]
    )
    watcher.join(timeout=5)
    err = capsys.readouterr().err.strip()
    assert code == 1, err
    # MLflow's own log lines may precede it (the test imported mlflow at INFO level).
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in err, err
    assert server.url in errors[0] or "midrun" in errors[0]
    server.start()
    client = MlflowClient(server.url, registry_uri=server.url)
    assert _no_versions(server.url, "midrun")
    with pytest.raises(MlflowException, match=r"RESOURCE_DOES_NOT_EXIST|not found"):
        client.get_model_version_by_alias("midrun", "champion")


@pytest.mark.parametrize("name", ["bad/name", "with:colon", "quote'name", " "])
def test_a_bad_registered_name_is_exit_2_before_training(
    name, simulated_cohort, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    started = time.monotonic()
    code = main(["train", "--data", str(simulated_cohort), "--register-as", name])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert "invalid registered model name" in err and "\n" not in err
    assert time.monotonic() - started < 20, "the name must be checked before training"


def test_the_registry_rejecting_a_name_is_a_user_error(tmp_path):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(store, registry_uri=store)
    with pytest.raises(TrackingError) as failure:
        next_model_version(client, "quote'name")
    assert failure.value.exit_code == 2 and "quote'name" in str(failure.value)
