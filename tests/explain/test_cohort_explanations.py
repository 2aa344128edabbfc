"""Cohort-level importance tables and dependence figures."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from relapse_ml.explain import (
    cohort_explanations,
    dependence_figures,
    explain_patients,
    global_importance,
    group_importance,
)


def test_importance_is_mean_absolute_contribution(trained_model, simulated_data):
    model = trained_model("random_forest")
    explanation = explain_patients(
        model, model.model_input(simulated_data.patients, simulated_data.measurements)
    )
    features = global_importance(model, explanation)
    assert features["mean_abs_contribution"].is_monotonic_decreasing
    top = features.iloc[0]
    assert (
        top["mean_abs_contribution"]
        == np.abs(explanation.feature_contributions[top["feature"]]).mean()
    )
    groups = group_importance(explanation)
    assert groups["group"].tolist() == ["antigen", "exhaustion", "persistence", "tme", "clinical"]
    np.testing.assert_allclose(
        groups["mean_abs_contribution"], explanation.group_contributions.abs().mean().to_numpy()
    )


def test_dependence_figures_without_pyplot_state(trained_model, simulated_data):
    import matplotlib.pyplot as plt

    model = trained_model("hist_gradient_boosting")
    explanation = explain_patients(
        model, model.model_input(simulated_data.patients, simulated_data.measurements)
    )
    before = plt.get_fignums()
    figures = dependence_figures(model, explanation, top_n=4)
    top4 = global_importance(model, explanation)["feature"].head(4)
    assert list(figures) == [f"dependence_{f}.png" for f in top4]
    assert all(isinstance(f, Figure) and len(f.axes[0].collections) >= 1 for f in figures.values())
    assert plt.get_fignums() == before
    tables, all_figures = cohort_explanations(
        model, model.model_input(simulated_data.patients, simulated_data.measurements), top_n=2
    )
    assert set(tables) == {"shap_importance_features.csv", "shap_importance_groups.csv"}
    assert {"shap_importance.png", "shap_importance_groups.png"} <= set(all_figures) and len(
        all_figures
    ) == 4
