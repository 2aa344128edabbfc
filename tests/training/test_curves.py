"""Evaluation of the risk curve at every (landmark, horizon) pair, and the run's curve figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from relapse_ml.evaluation.competing import aalen_johansen_incidence, event_codes
from relapse_ml.training.curves import PAIR_METRICS, evaluate_curve
from tests.helpers import landmark_task_data, quick_train_config


@pytest.fixture(scope="module")
def day_90(simulated_data):
    return landmark_task_data(simulated_data, 90)


def test_every_pair_after_the_landmark_is_evaluated_against_its_own_task(
    day_90, landmark_models, simulated_cohort
):
    model = landmark_models().at(90)
    truth = pd.read_csv(simulated_cohort / "truth.csv", dtype={"patient_id": str})
    metrics, table = evaluate_curve(day_90, model, quick_train_config(), truth)
    assert table["horizon_days"].tolist() == [180, 365, 730]
    for horizon in (180, 365, 730):
        suffix = f"_L90_H{horizon}"
        assert {f"{name}{suffix}" for name in PAIR_METRICS} <= set(metrics)
        assert metrics[f"calibration_in_the_large{suffix}"] == pytest.approx(
            metrics[f"mean_predicted_risk{suffix}"] - metrics[f"observed_incidence{suffix}"]
        )
        assert 0.5 < metrics[f"oracle_auroc{suffix}"] <= 1
        # The observed incidence is the Aalen-Johansen estimate on the held-out patients.
        held_out = day_90.at_risk_outcomes[day_90.at_risk_test]
        events = event_codes(held_out["relapse"], held_out["death_without_relapse"])
        aj_relapse = aalen_johansen_incidence(held_out["time_days"], events, horizon, landmark=90)
        for cause, name in ((1, "observed_incidence"), (2, "observed_death_incidence")):
            aj = aalen_johansen_incidence(
                held_out["time_days"], events, horizon, landmark=90, cause=cause
            )
            assert metrics[f"{name}{suffix}"] == pytest.approx(aj.estimate, abs=1e-9)
        assert metrics[f"observed_incidence_ci_low{suffix}"] == pytest.approx(aj_relapse.ci_low)
        # The survival-library baselines are there and sensible.
        assert 0.5 < metrics[f"baseline_cox_auroc{suffix}"] <= 1
        assert metrics[f"baseline_aalen_johansen_brier{suffix}"] > 0
    assert not any(k.endswith("_H90") or "_L28_" in k for k in metrics)
    observed = [metrics[f"observed_incidence_L90_H{h}"] for h in (180, 365, 730)]
    assert observed == sorted(observed)


def test_the_run_logs_every_pair_and_the_shift_from_competing_death(training_result):
    metrics = training_result().metrics
    pairs = {
        (28, 180),
        (28, 365),
        (28, 730),
        (90, 180),
        (90, 365),
        (90, 730),
        (180, 365),
        (180, 730),
    }
    for landmark, horizon in pairs:
        for name in ("auroc", "brier", "calibration_in_the_large", "calibration_slope"):
            assert np.isfinite(metrics[f"{name}_L{landmark}_H{horizon}"])
    assert "auroc_L180_H180" not in metrics
    # Deaths compete: fewer relapses by the horizon than when deaths are censored.
    assert metrics["observed_incidence_competing"] < metrics["observed_incidence_censoring_only"]
    # The primary pair's unsuffixed metrics are the same patients, risks and weights.
    for name in ("auroc", "brier", "calibration_slope"):
        assert metrics[name] == pytest.approx(metrics[f"{name}_L28_H365"], rel=1e-9)


def test_version_1_outcomes_train_with_one_warning_and_unknown_deaths(
    simulated_cohort, training_result, tmp_path
):
    """Without death_without_relapse, deaths look like censoring: said once, logged, no death curve."""
    import shutil

    from relapse_ml.training import train_relapse_model
    from relapse_ml.validation import validate_folder

    folder = tmp_path / "v1"
    shutil.copytree(simulated_cohort, folder)
    outcomes = pd.read_csv(folder / "outcomes.csv", dtype=str, keep_default_na=False)
    outcomes.drop(columns="death_without_relapse").to_csv(folder / "outcomes.csv", index=False)
    data = validate_folder(folder, require_outcomes=True)
    assert data.outcomes["death_without_relapse"].isna().all()
    result = train_relapse_model(
        data.patients, data.measurements, data.outcomes, quick_train_config()
    )
    assert result.params["task.competing_death"] == "unknown"
    said = [w for w in result.warnings if "death_without_relapse" in w]
    assert len(said) == 1 and "censoring" in said[0]
    model = result.model.at(28)
    relapse, death = model.incidences(model.features(model.model_input(
        data.patients.head(5), data.measurements)), np.full(5, 0.3))  # fmt: skip
    assert np.isnan(death).all() and np.isfinite(relapse).all()
    # With deaths unknown both rules agree, and they overstate relapse against the v2 data.
    v1, v2 = result.metrics, training_result().metrics
    assert v1["observed_incidence_competing"] == v1["observed_incidence_censoring_only"]
    assert v1["observed_incidence_competing"] > v2["observed_incidence_competing"]
