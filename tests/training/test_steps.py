"""The named training steps: the task's split, the held-out evaluation, the artifact, the parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from relapse_ml.evaluation import METRIC_NAMES, metrics_with_ci
from relapse_ml.training.steps import (
    evaluate_on_test,
    headline_metric,
    run_parameters,
)
from tests.helpers import landmark_task_data, quick_train_config


@pytest.fixture(scope="module")
def data(simulated_data):
    return landmark_task_data(simulated_data, 28)


def test_task_data_splits_the_patients_at_risk_once(data):
    train, test = set(data.train.tolist()), set(data.test.tolist())
    assert train.isdisjoint(test)
    assert train | test == set(range(len(data.patients)))
    assert len(data.model_input) == len(data.patients) == len(data.label) == len(data.weight)
    assert list(data.patients["patient_id"].astype(str)) == list(data.task.patient_ids)
    at_risk = data.at_risk_outcomes
    assert (at_risk["time_days"] > 28).all() and len(data.at_risk_input) == len(at_risk)


def test_one_held_out_split_serves_every_landmark(simulated_data, data):
    """A patient held out at day 28 is held out at every later landmark, and vice versa."""
    first_test = set(data.at_risk_outcomes["patient_id"][data.at_risk_test])
    for landmark in (90, 180):
        later = landmark_task_data(simulated_data, landmark)
        ids = later.at_risk_outcomes["patient_id"]
        assert set(ids[later.at_risk_test]) == first_test & set(ids)
        assert set(ids[~later.at_risk_test]).isdisjoint(first_test)
        assert set(later.task.patient_ids[later.test]) <= first_test


def test_held_out_metrics_are_the_champion_on_the_test_split(data, training_result):
    result = training_result()
    x_test = data.rows(data.test)
    risk = result.model.primary.classifier.predict_proba(x_test)[:, 1]
    np.testing.assert_allclose(risk, result.test_risk)
    config = quick_train_config()
    direct = metrics_with_ci(
        data.label[data.test], risk, data.weight[data.test], seed=config.seed,
        n_boot=config.evaluation.n_bootstrap,
    )  # fmt: skip
    for name in METRIC_NAMES:
        assert result.metrics[name] == pytest.approx(direct[name])
    assert result.metrics["auroc_gain_over_baseline"] == pytest.approx(
        result.metrics["auroc"] - result.metrics["baseline_auroc"]
    )


def test_the_artifact_carries_exactly_the_headline_metrics(training_result):
    result = training_result()
    stored = result.model.metrics
    assert stored and all(headline_metric(k) for k in stored)
    assert {k for k in result.metrics if headline_metric(k)} == set(stored)
    assert not any(k.startswith("baseline_") for k in stored)
    assert headline_metric("auroc_ci_low") and not headline_metric("baseline_auroc")


def test_run_parameters_hold_the_recipe_task_and_split(data, training_result):
    result = training_result()
    config = quick_train_config()
    params = run_parameters(data, result.selection, config, schema_version=1)
    assert params["split.n_train"] == str(len(data.train))
    assert params["split.n_test"] == str(len(data.test))
    assert params["selection.families"] == str(config.selection.families)
    assert params["task.censoring_rule"] == config.task.censoring
    assert all(isinstance(v, str) for v in params.values())


def test_evaluation_adds_the_oracle_only_with_truth(data, training_result, simulated_cohort):
    result = training_result()
    config = quick_train_config()
    without = evaluate_on_test(data, result.selection, config)
    assert "oracle_auroc" not in without.metrics
    truth = pd.read_csv(simulated_cohort / "truth.csv")
    with_truth = evaluate_on_test(data, result.selection, config, truth)
    assert 0.5 < with_truth.metrics["oracle_auroc"] <= 1
    assert with_truth.metrics["auroc_oracle_ratio"] == pytest.approx(
        with_truth.metrics["auroc"] / with_truth.metrics["oracle_auroc"]
    )


def test_task_counts_from_1_to_9_never_reach_the_run_and_cannot_be_subtracted_out():
    """Published task parameters: exact when every count is 0 or >= 10, else all binned."""
    from relapse_ml.task import build_landmark_task
    from relapse_ml.training.steps import published_count, published_task_params

    rng = np.random.default_rng(4)
    n = 300
    big = pd.DataFrame(
        {
            "patient_id": [f"P{i}" for i in range(n)],
            "relapse": rng.random(n) < 0.4,
            "time_days": rng.integers(29, 800, n),
        }
    )
    exact = published_task_params(build_landmark_task(big, 28, 365))
    assert exact["n_events"] == str(build_landmark_task(big, 28, 365).n_events)
    # Three relapses: a small count, and every count it adds up with is binned too.
    small = big.assign(relapse=False)
    small.loc[:2, "relapse"] = True
    small.loc[:2, "time_days"] = 100
    params = published_task_params(build_landmark_task(small, 28, 365))
    counts = {k: v for k, v in params.items() if k.startswith("n_")}
    assert counts["n_events"] == "<10"
    assert all(v in ("0", "<10", ">=10") for v in counts.values()), counts
    assert params["landmark_day"] == "28" and params["censoring_rule"] == "ipcw"
    assert [published_count(c) for c in (0, 3, 9, 10, 250)] == ["0", "<10", "<10", "10", "250"]
