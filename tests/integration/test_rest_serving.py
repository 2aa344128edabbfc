"""REST: ``mlflow models serve`` answers the documented request like ``relapse-ml predict``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from relapse_ml.batch.config import PredictConfig
from relapse_ml.serving.scoring import request_frame
from relapse_ml.validation import validate_folder
from relapse_ml.workflows.predict import run_predict
from relapse_ml.workflows.simulate import run_simulate
from relapse_ml.workflows.train import run_train
from tests.helpers import free_port, quick_train_config, stop_process, venv_env, wait_for_http

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 180
GROUPS = ["antigen", "exhaustion", "persistence", "tme", "clinical"]
README = Path(__file__).resolve().parents[2] / "README.md"
README_TEXT = README.read_text()
# The README's serve command, as shown (its port is replaced by a free one).
(README_SERVE,) = re.findall(r"^mlflow models serve .*$", README_TEXT, flags=re.M)


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


@pytest.fixture(scope="module")
def served(registered, tmp_path_factory):
    """``mlflow models serve`` of the champion, as the README starts it, on 127.0.0.1."""
    _root, uri = registered
    port = free_port()
    env = venv_env(MLFLOW_TRACKING_URI=uri)
    command = [
        str(Path(sys.executable).parent / "mlflow"),
        *README_SERVE.split()[1:-1],
        str(port),
        "--workers",
        "1",
    ]
    assert command[1:4] == ["models", "serve", "-m"] and command[-4] == "-p"
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    log = log_path.open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://{HOST}:{port}"
        wait_for_http(f"{url}/ping", STARTUP_TIMEOUT_S, process)
        yield url
    finally:
        stop_process(process, 30)
        log.close()


def _reject_constant(name: str):
    raise ValueError(f"not strict JSON: {name}")


def _post(url: str, body: str) -> dict:
    """POST ``body`` to /invocations; parse the answer as strict JSON (no NaN/Infinity)."""
    request = urllib.request.Request(
        f"{url}/invocations",
        data=body.encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read(), parse_constant=_reject_constant)


def _split_body(frame: pd.DataFrame, params: dict | None = None) -> str:
    split = json.loads(frame.to_json(orient="split", date_format="iso"))
    payload = {"dataframe_split": {"columns": split["columns"], "data": split["data"]}}
    if params:
        payload["params"] = params
    return json.dumps(payload)


def test_rest_answer_equals_batch_predict(registered, served, tmp_path, monkeypatch):
    _root, uri = registered
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    data_dir = tmp_path / "new"
    run_simulate(n=25, seed=21, out_dir=data_dir, fmt="csv")
    out = tmp_path / "pred.csv"
    run_predict(
        PredictConfig(data_dir, "models:/car-t-relapse@champion", out, chunk_size=10, workers=1)
    )
    batch = pd.read_csv(out, dtype={"patient_id": str})

    data = validate_folder(data_dir, include_outcomes=False)
    frame = request_frame(data.patients, data.measurements)
    answer = pd.DataFrame(_post(served, _split_body(frame))["predictions"])
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


def test_rest_rejects_a_bad_patient_and_scores_the_others(served, tmp_path):
    """A patient breaking the contract is answered with a reason; the JSON stays strict."""
    run_simulate(n=4, seed=5, out_dir=tmp_path, fmt="csv")
    data = validate_folder(tmp_path, include_outcomes=False)
    frame = request_frame(data.patients, data.measurements)
    bad = frame["patient_id"].iloc[1]
    frame["age_years"] = frame["age_years"].astype(object)
    frame.loc[1, "age_years"] = "not a number"
    answer = _post(served, _split_body(frame, {"top_k": 2}))["predictions"]
    assert [row["patient_id"] for row in answer] == frame["patient_id"].tolist()
    by_id = {row["patient_id"]: row for row in answer}
    rejected = by_id[bad]
    assert "age_years" in rejected["rejected_reason"]
    assert rejected["risk"] is None and rejected["contrib_antigen"] is None
    scored = [row for pid, row in by_id.items() if pid != bad]
    assert scored and all(row["rejected_reason"] == "" for row in scored)
    assert all(0 <= row["risk"] <= 1 for row in scored)


def test_readme_curl_request_is_answered(served):
    """The README's ``curl`` body, sent as written, gets one scored row."""
    (body,) = re.findall(r"-d '(\{.*?\})'\n```", README_TEXT, flags=re.S)
    (row,) = _post(served, body)["predictions"]
    assert row["patient_id"] == "SYNTHETIC-0001"
    assert row["rejected_reason"] == ""
    assert 0 <= row["risk"] <= 1
    assert row["driver_1"] and row["driver_2"]
    assert "driver_3" not in row  # the request asked for top_k 2


def test_rest_landmark_param_scores_at_that_landmark_with_the_curve_columns(served, tmp_path):
    """``params: {"landmark": 180}`` scores with the day-180 model; the columns do not change."""
    run_simulate(n=6, seed=9, out_dir=tmp_path, fmt="csv")
    data = validate_folder(tmp_path, include_outcomes=False)
    frame = request_frame(data.patients, data.measurements)
    first = pd.DataFrame(_post(served, _split_body(frame))["predictions"])
    later = pd.DataFrame(_post(served, _split_body(frame, {"landmark": 180}))["predictions"])
    assert list(first.columns) == list(later.columns)
    assert set(first["landmark_day"]) == {28} and set(later["landmark_day"]) == {180}
    for answer, landmark in ((first, 28), (later, 180)):
        np.testing.assert_allclose(answer["risk"], answer["risk_by_day_365"], rtol=0, atol=1e-12)
        curve = answer[["risk_by_day_180", "risk_by_day_365", "risk_by_day_730"]].astype(float)
        death = answer[[f"death_without_relapse_by_day_{h}" for h in (180, 365, 730)]].astype(float)
        if landmark == 28:
            assert (curve.diff(axis=1).iloc[:, 1:] >= -1e-12).all().all()
            assert ((curve.to_numpy() + death.to_numpy()) <= 1 + 1e-12).all()
        else:  # horizon 180 is not after landmark 180: null in the JSON, hence NaN here
            assert curve["risk_by_day_180"].isna().all()
            assert (curve["risk_by_day_730"] >= curve["risk_by_day_365"] - 1e-12).all()
    assert not np.allclose(first["risk"].astype(float), later["risk"].astype(float))
    # Which relapse: the two kinds add up to the risk in the REST answer too.
    for answer in (first, later):
        parts = answer["risk_antigen_negative"].astype(float) + answer["risk_antigen_positive"]
        np.testing.assert_allclose(parts, answer["risk"].astype(float), rtol=0, atol=1e-9)


def test_rest_untrained_landmark_is_refused_naming_the_trained_ones(served, tmp_path):
    run_simulate(n=2, seed=9, out_dir=tmp_path, fmt="csv")
    data = validate_folder(tmp_path, include_outcomes=False)
    body = _split_body(request_frame(data.patients, data.measurements), {"landmark": 60})
    request = urllib.request.Request(
        f"{served}/invocations", data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=60)
    message = caught.value.read().decode()
    assert "no model for landmark day 60" in message and "28, 90, 180" in message
