"""REST: ``mlflow models serve`` answers the documented request like ``relapse-ml predict``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from relapse_ml.serving.scoring import request_frame
from relapse_ml.testing import free_port, quick_train_config, venv_env, wait_for_http
from relapse_ml.validation import validate_folder
from relapse_ml.workflows.predict import run_predict
from relapse_ml.workflows.simulate import run_simulate
from relapse_ml.workflows.train import run_train

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 180
GROUPS = ["antigen", "exhaustion", "persistence", "tme", "clinical"]


@pytest.fixture(scope="module")
def registered(tmp_path_factory):
    """A model trained and registered as car-t-relapse@champion in a fresh SQLite store."""
    root = tmp_path_factory.mktemp("rest")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = uri
    try:
        train_dir = root / "train"
        run_simulate(n=800, seed=11, out_dir=train_dir, fmt="parquet")
        config = quick_train_config()
        run_train(train_dir, config)
        yield root, uri
    finally:
        if previous is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = previous


def test_rest_answer_equals_batch_predict(registered, tmp_path, monkeypatch):
    _root, uri = registered
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    data_dir = tmp_path / "new"
    run_simulate(n=25, seed=21, out_dir=data_dir, fmt="csv")
    out = tmp_path / "pred.csv"
    run_predict(data_dir, "models:/car-t-relapse@champion", out, chunk_size=10)
    batch = pd.read_csv(out, dtype={"patient_id": str})

    data = validate_folder(data_dir, include_outcomes=False)
    frame = request_frame(data.patients, data.measurements)
    split = json.loads(frame.to_json(orient="split", date_format="iso"))
    body = json.dumps({"dataframe_split": {"columns": split["columns"], "data": split["data"]}})

    port = free_port()
    env = venv_env(MLFLOW_TRACKING_URI=uri)
    command = [
        str(Path(sys.executable).parent / "mlflow"),
        "models",
        "serve",
        "-m",
        "models:/car-t-relapse@champion",
        "--env-manager",
        "local",
        "-h",
        HOST,
        "-p",
        str(port),
        "--workers",
        "1",
    ]
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://{HOST}:{port}"
        wait_for_http(f"{url}/ping", STARTUP_TIMEOUT_S, process)
        request = urllib.request.Request(
            f"{url}/invocations",
            data=body.encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            answer = pd.DataFrame(json.loads(response.read())["predictions"])
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        log.close()
    answer["patient_id"] = answer["patient_id"].astype(str)
    assert answer["patient_id"].tolist() == batch["patient_id"].tolist()
    assert (answer["rejected_reason"] == "").all()
    for column in ["risk", "baseline_risk", *(f"contrib_{g}" for g in GROUPS)]:
        np.testing.assert_allclose(answer[column], batch[column], rtol=0, atol=1e-9)
    assert answer["risk_band"].tolist() == batch["risk_band"].tolist()
    assert answer["model_name"].tolist() == batch["model_name"].tolist()
    # The served pyfunc knows its registry version; the batch job resolves it from the alias.
    assert (
        answer["model_version"].astype(str).tolist() == batch["model_version"].astype(str).tolist()
    )
    assert set(batch["model_version"].astype(str)) == {"1"}
    for column in ("driver_1", "ood", "ood_reason"):
        # CSV reads an empty text cell back as missing.
        served, batched = answer[column].fillna(""), batch[column].fillna("")
        assert served.astype(str).tolist() == batched.astype(str).tolist()
