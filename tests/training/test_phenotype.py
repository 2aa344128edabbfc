"""Which relapse: the conditional phenotype model, its skip rule, unknown status, and its metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from relapse_ml.serving.scoring import score_patients
from relapse_ml.training.phenotype import antigen_status, fit_phenotype
from tests.helpers import landmark_task_data, quick_train_config


@pytest.fixture(scope="module")
def day_28(simulated_data):
    return landmark_task_data(simulated_data, 28)


def test_the_two_kinds_add_up_to_the_risk_for_every_patient(landmark_models, simulated_data):
    for landmark in (28, 90):
        model = landmark_models().at(landmark)
        assert model.phenotype is not None and model.phenotype_note == ""
        scores = score_patients(model, simulated_data.patients, simulated_data.measurements)
        total = scores["risk_antigen_negative"] + scores["risk_antigen_positive"]
        np.testing.assert_allclose(total, scores["risk"], rtol=0, atol=1e-12)
        assert (scores["risk_antigen_negative"] >= 0).all()
        assert (scores["risk_antigen_positive"] >= 0).all()
        assert scores["risk_antigen_negative"].std() > 0


def test_unknown_status_is_neither_negative_nor_positive(day_28, simulated_data, training_result):
    outcomes = simulated_data.outcomes
    status = antigen_status(day_28, outcomes)
    by_id = outcomes.set_index("patient_id")["relapse_antigen"].astype(object)
    kinds = by_id.reindex(day_28.task.patient_ids).to_numpy()
    relapsed = day_28.label == 1
    assert (status[relapsed & (kinds == "unknown")] == -1).all()
    assert (status[relapsed & (kinds == "negative")] == 1).all()
    assert (status[~relapsed] == -1).all()
    # Relabelling the unknowns changes nothing: they are left out of the fit.
    config = quick_train_config()
    fitted, _ = fit_phenotype(day_28, outcomes, config)
    flipped = outcomes.assign(
        relapse_antigen=outcomes["relapse_antigen"].astype(object).replace({"unknown": pd.NA})
    )
    again, _ = fit_phenotype(day_28, flipped, config)
    x = day_28.rows(day_28.test)
    np.testing.assert_allclose(fitted.predict_proba(x), again.predict_proba(x))
    assert training_result().metrics["phenotype_unknown_share"] > 0


def test_too_few_relapses_of_known_status_skip_the_part_with_a_reason(day_28, simulated_data):
    config = quick_train_config(phenotype={"min_known_relapses": 100_000})
    classifier, note = fit_phenotype(day_28, simulated_data.outcomes, config)
    assert classifier is None and "fewer than 100000" in note


def test_the_run_logs_the_phenotype_metrics_and_the_rule(training_result):
    result = training_result()
    metrics, params = result.metrics, result.params
    for name in ("phenotype_auroc", "phenotype_brier", "phenotype_calibration_slope"):
        assert metrics[f"{name}_ci_low"] <= metrics[name] <= metrics[f"{name}_ci_high"]
    assert 0.5 < metrics["auroc_antigen_negative"] <= 1
    assert "missing at random" in params["phenotype.unknown_status_rule"]
    assert params["phenotype.L28"] == "fitted"
    table = result.tables["phenotype_subgroup_metrics.csv"]
    assert set(table["variable"]) == {"target_antigen"}
