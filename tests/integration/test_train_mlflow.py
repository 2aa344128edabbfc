"""`relapse-ml train` end to end against real MLflow stores (embedded SQLite and a server)."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from relapse_ml.cli import main
from relapse_ml.config import load_train_config
from relapse_ml.workflows.train import run_train
from tests.helpers import assert_valid_risks, free_port

pytestmark = pytest.mark.integration

HEADLINE = ("auroc", "auprc", "brier", "calibration_slope", "calibration_intercept", "ici")


@pytest.fixture
def embedded_store(tmp_path, monkeypatch):
    """Run in an empty folder with no MLFLOW_TRACKING_URI: the embedded sqlite default."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    # mlflow.set_registry_uri copies the URI into the environment and never unsets
    # it: setting it here makes monkeypatch remove it afterwards, or a later
    # `mlflow models serve` would use this store.
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", "")
    monkeypatch.delenv("MLFLOW_REGISTRY_URI")
    monkeypatch.chdir(tmp_path)
    yield f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


def _request(cohort, n=5) -> pd.DataFrame:
    from relapse_ml.serving.scoring import request_frame
    from relapse_ml.validation import validate_folder

    data = validate_folder(cohort)
    patients = data.patients.head(n)
    measurements = data.measurements[
        data.measurements["patient_id"].isin(set(patients["patient_id"]))
    ]
    return request_frame(patients, measurements)


def test_train_logs_a_complete_run_and_registers_a_champion(
    simulated_cohort, fast_config, embedded_store, capsys
):
    config_file = embedded_store.removeprefix("sqlite:///").replace("mlflow.db", "train.yaml")
    with open(config_file, "w") as handle:
        handle.write(
            "selection: {families: [logistic], n_candidates: 1, cv_repeats: 1, calibration_methods: [sigmoid]}\n"
        )
        handle.write("evaluation: {n_bootstrap: 50, subgroup_min_events: 5}\n")
    code = main(
        [
            "train",
            "--data",
            str(simulated_cohort),
            "--config",
            config_file,
            "--experiment",
            "e2e",
            "--json",
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["version"], summary["alias"]) == ("1", "champion")

    # The CLI leaves MLflow's process-wide URIs as it found them: point them at the store.
    mlflow.set_tracking_uri(embedded_store)
    mlflow.set_registry_uri(embedded_store)
    client = MlflowClient(embedded_store, registry_uri=embedded_store)
    run = client.get_run(summary["run_id"])
    params, metrics = run.data.params, run.data.metrics
    for key in (
        "landmark_day",
        "horizon_days",
        "censoring_rule",
        "schema_version",
        "package_version",
        "task.censoring_weighting",
        "split.strategy",
        "chosen_family",
    ):
        assert key in params, key
    assert params["landmark_day"] == "28" and params["censoring_rule"] == "ipcw"
    # Every (landmark, horizon) pair is logged; deaths were known in this cohort.
    assert params["landmarks_days"] == "28,90,180" and params["horizons_days"] == "180,365,730"
    assert params["task.competing_death"] == "known" and params["schema_version"] == "2"
    for landmark, horizon in ((28, 180), (28, 730), (90, 180), (90, 730), (180, 365), (180, 730)):
        for name in ("auroc", "brier", "calibration_in_the_large", "calibration_slope"):
            assert f"{name}_L{landmark}_H{horizon}" in metrics, (name, landmark, horizon)
        assert f"oracle_auroc_L{landmark}_H{horizon}" in metrics
    assert not any(k.endswith(("_L90_H90", "_L180_H180")) for k in metrics)
    # Which relapse: the conditional model with CIs, the product's AUROC, the rule for unknowns.
    for name in ("phenotype_auroc", "phenotype_brier", "phenotype_calibration_slope"):
        assert {name, f"{name}_ci_low", f"{name}_ci_high"} <= set(metrics), name
    assert {"auroc_antigen_negative", "oracle_auroc_antigen_negative"} <= set(metrics)
    assert "missing at random" in params["phenotype.unknown_status_rule"]
    for name in HEADLINE:
        assert {name, f"{name}_ci_low", f"{name}_ci_high"} <= set(metrics), name
        assert metrics[f"{name}_ci_low"] <= metrics[name] <= metrics[f"{name}_ci_high"]
    assert {"baseline_auroc", "oracle_auroc", "auroc_oracle_ratio"} <= set(metrics)
    assert metrics["auroc_oracle_ratio"] == pytest.approx(
        metrics["auroc"] / metrics["oracle_auroc"]
    )
    artifacts = (
        {a.path for a in client.list_artifacts(run.info.run_id)}
        | {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
        | {a.path for a in client.list_artifacts(run.info.run_id, "tables")}
    )
    for path in (
        "model_card.md",
        "plots/roc.png",
        "plots/calibration.png",
        "plots/decision_curve.png",
        "tables/decision_curve.csv",
        "tables/subgroup_metrics.csv",
        "tables/cv_candidates.csv",
        "tables/risk_curve_metrics.csv",
        "tables/phenotype_subgroup_metrics.csv",
    ):
        assert path in artifacts, path
    card = mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/model_card.md")
    for heading in (
        "## Intended use",
        "## Outcome and horizon",
        "## Predictors",
        "## Missing data",
        "## Performance",
        "## Subgroups",
        "## Limitations",
        "## Risk over follow-up (landmarks and horizons)",
        "### Landmark day 90",
        "### Landmark day 180",
    ):
        assert heading in card
    assert "non-relapse death now competes" in card
    assert "## Which relapse: antigen-negative or antigen-positive" in card
    assert "Share of relapses with unknown status" in card
    # Datasets are logged by digest and schema, never rows.
    inputs = run.inputs.dataset_inputs
    assert inputs and inputs[0].dataset.digest and "patient_id" in inputs[0].dataset.schema
    assert "P000001" not in json.dumps([i.dataset.profile for i in inputs])

    champion = client.get_model_version_by_alias("car-t-relapse", "champion")
    assert str(champion.version) == "1" and champion.run_id == run.info.run_id
    model = mlflow.pyfunc.load_model("models:/car-t-relapse@champion")
    answer = model.predict(_request(simulated_cohort))
    assert_valid_risks(answer["risk"].to_numpy(), 5)
    contributions = answer[[c for c in answer if c.startswith("contrib_")]].sum(axis=1)
    np.testing.assert_allclose(answer["baseline_risk"] + contributions, answer["risk"], atol=1e-6)
    # The logged input example is synthetic, never a training patient.
    example = model.input_example if hasattr(model, "input_example") else None
    if example is not None:
        assert all(pid.startswith("SYNTHETIC-") for pid in example["patient_id"])


def test_same_data_and_seed_give_identical_metrics_and_a_challenger(
    simulated_cohort, fast_config, embedded_store
):
    first = run_train(simulated_cohort, fast_config)
    second = run_train(simulated_cohort, fast_config)
    assert first.metrics == second.metrics
    assert (first.alias, second.alias) == ("champion", "challenger")
    client = MlflowClient(embedded_store, registry_uri=embedded_store)
    assert (
        str(client.get_model_version_by_alias("car-t-relapse", "champion").version) == first.version
    )
    assert (
        str(client.get_model_version_by_alias("car-t-relapse", "challenger").version)
        == second.version
    )
    params = client.get_run(second.run_id).data.params
    assert (
        params["promotion.alias"] == "challenger"
        and params["promotion.champion_version"] == first.version
    )


def test_train_against_a_real_mlflow_server(
    simulated_cohort, fast_config, mlflow_server, monkeypatch, tmp_path
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", "")  # removed again afterwards (see embedded_store)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI")
    summary = run_train(
        simulated_cohort,
        load_train_config(
            None, **{**_as_overrides(fast_config), "registered_name": "server-model"}
        ),
    )
    assert summary.tracking_uri == mlflow_server and summary.alias == "champion"
    assert not (tmp_path / "mlflow.db").exists(), "must not fall back to a local store"
    mlflow.set_tracking_uri(mlflow_server)
    mlflow.set_registry_uri(mlflow_server)
    model = mlflow.pyfunc.load_model("models:/server-model@champion")
    answer = model.predict(_request(simulated_cohort, n=3))
    assert_valid_risks(answer["risk"].to_numpy(), 3)
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


def test_unreachable_tracking_server_is_a_clear_error(
    simulated_cohort, monkeypatch, tmp_path, capsys
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    assert main(["train", "--data", str(simulated_cohort)]) == 2
    err = capsys.readouterr().err
    assert "cannot reach the MLflow tracking server" in err and "Traceback" not in err
    assert not (tmp_path / "mlflow.db").exists()


def _as_overrides(config) -> dict:
    import dataclasses

    return {
        "selection": dataclasses.asdict(config.selection),
        "evaluation": dataclasses.asdict(config.evaluation),
        "experiment": config.experiment,
    }
