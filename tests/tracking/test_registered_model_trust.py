"""``models:/`` URIs: relapse-ml loads only the checked ``.skops`` file, never the logged code."""

from __future__ import annotations

import shutil
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from relapse_ml.artifact import file_sha256, load_model
from relapse_ml.cli import main
from relapse_ml.errors import UntrustedModelError
from relapse_ml.serving.rest import score_request
from relapse_ml.tracking import (
    ARTIFACT_FILE,
    SHA256_TAG,
    load_served_model,
    register_and_promote,
    training_run,
)
from relapse_ml.workflows.train import run_train, synthetic_request
from tests.artifact.hostile import hostile_archive
from tests.helpers import tiny_tables, write_tables

pytestmark = pytest.mark.integration
NAME = "car-t-relapse"


@pytest.fixture(scope="module")
def store(tmp_path_factory, simulated_cohort, fast_config):
    """An embedded SQLite store holding one registered champion, trained by relapse-ml."""
    folder = tmp_path_factory.mktemp("registry")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        patch.chdir(folder)
        summary = run_train(simulated_cohort, fast_config)
        uri = f"sqlite:///{folder / 'mlflow.db'}"
        yield uri, summary, folder
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


@pytest.fixture
def in_store(store, monkeypatch):
    _, _, folder = store
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(folder)
    return store


def _files(uri: str, version: str) -> Path:
    """The registered version's model folder in the local store."""
    client = MlflowClient(uri, registry_uri=uri)
    return Path(client.get_model_version_download_uri(NAME, version))


def test_the_sha256_is_recorded_on_the_model_version(in_store):
    uri, summary, _ = in_store
    version = MlflowClient(uri, registry_uri=uri).get_model_version(NAME, summary.version)
    skops_file = _files(uri, summary.version) / "artifacts" / ARTIFACT_FILE
    assert version.tags[SHA256_TAG] == file_sha256(skops_file)


def test_models_uri_loads_only_the_skops_file_never_the_logged_code(in_store, tmp_path):
    uri, summary, _ = in_store
    code = _files(uri, summary.version) / "_pyfunc_code.py"
    original = code.read_text()
    marker = tmp_path / "logged-code-ran"
    code.write_text(f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n" + original)
    try:
        for model_uri in (
            f"models:/{NAME}@champion",
            f"models:/{NAME}/{summary.version}",
            f"runs:/{summary.run_id}/model",
        ):
            served = load_served_model(model_uri)
            assert served.model.model_name == NAME, model_uri
        assert (served.name, served.version) == (NAME, "")  # runs:/ has no registry version
        assert load_served_model(f"models:/{NAME}@champion").version == summary.version
        assert not marker.exists(), "relapse-ml ran the Python code logged with the model"
    finally:
        code.write_text(original)


def test_an_artifact_changed_after_registration_is_exit_2(in_store, tmp_path, model_path, capsys):
    uri, summary, _ = in_store
    skops_file = _files(uri, summary.version) / "artifacts" / ARTIFACT_FILE
    backup = tmp_path / "backup.skops"
    shutil.copyfile(skops_file, backup)
    shutil.copyfile(model_path, skops_file)  # a genuine model, but not the registered one
    data = write_tables(tmp_path / "data", tiny_tables())
    out = tmp_path / "scores.csv"
    try:
        code = main(["predict", "--data", str(data), "--out", str(out), "--workers", "1"])
    finally:
        shutil.copyfile(backup, skops_file)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in err
    assert "sha256" in lines[0] and f"models:/{NAME}@champion" in lines[0]
    assert not out.exists()


def test_a_registered_hostile_artifact_is_refused_through_the_registry(
    in_store, tmp_path, model_path, capsys
):
    uri, _, _ = in_store
    marker = tmp_path / "code-ran"
    folder = tmp_path / "upload"
    folder.mkdir()
    hostile = hostile_archive(folder / ARTIFACT_FILE, marker, "builtins.exec")
    genuine = load_model(model_path)
    example = synthetic_request(0)
    with training_run(uri, "hostile-upload") as run:
        logged = run.model(
            hostile,
            input_example=example,
            output_example=score_request(genuine, example),
            pip_requirements=[],
        )
        client = MlflowClient(uri, registry_uri=uri)
        register_and_promote(
            client,
            logged.model_uri,
            "shared-model",
            metric="auroc",
            new_value=0.9,
            margin=0.0,
            higher_is_better=True,
            run_id=run.run_id,
            skops_sha256=logged.skops_sha256,
        )
    with pytest.raises(UntrustedModelError) as refused:
        load_served_model("models:/shared-model@champion")
    message = str(refused.value)
    assert "models:/shared-model@champion" in message and "builtins.exec" in message
    assert "\n" not in message and str(tmp_path) not in message.split(" (")[0]
    data = write_tables(tmp_path / "data", tiny_tables())
    report = tmp_path / "report.html"
    code = main(
        [
            *("explain", "--data", str(data), "--patient", "P1", "--out", str(report)),
            *("--model", "models:/shared-model@champion"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "builtins.exec" in err and "Traceback" not in err
    assert not marker.exists() and not report.exists()
