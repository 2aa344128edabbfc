"""Cohort-level importance tables and dependence figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from relapse_ml.explain import (
    cohort_explanations,
    dependence_figures,
    explain_patients,
    global_importance,
    group_importance,
    importance_figure,
)
from tests.helpers import assert_fits_canvas, text_outside_canvas


def test_importance_is_mean_absolute_contribution(trained_model, simulated_data):
    model = trained_model("random_forest")
    explanation = explain_patients(
        model, model.model_input(simulated_data.patients, simulated_data.measurements)
    )
    features = global_importance(model, explanation)
    assert features["mean_abs_contribution"].is_monotonic_decreasing
    top = features.iloc[0]
    assert (
        # column means of a frame and the mean of one column may sum in different orders
        top["mean_abs_contribution"]
        == pytest.approx(
            np.abs(explanation.feature_contributions[top["feature"]]).mean(), rel=1e-12
        )
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


def test_every_cohort_figure_fits_its_canvas(trained_model, simulated_data):
    # The global SHAP plot used to cut its title, axis label and feature names
    # (labels up to 114 characters, cut at 70) on the 8-inch canvas it is logged on.
    model = trained_model()
    model_input = model.model_input(simulated_data.patients, simulated_data.measurements)
    tables, figures = cohort_explanations(model, model_input, top_n=6)
    assert len(figures) == 8
    for name, fig in figures.items():
        assert text_outside_canvas(fig) == [], name
    # feature names are wrapped, not cut: every word of the 15 top labels is drawn
    top = tables["shap_importance_features.csv"]["label"].head(15).iloc[::-1]
    assert top.str.len().max() > 70  # the case that used to be cut
    ticks = figures["shap_importance.png"].axes[0].get_yticklabels()
    assert [t.get_text().split() for t in ticks] == [label.split() for label in top]


def test_importance_figure_shortens_very_long_labels_and_still_fits():
    labels = [f"feature {i} " + "with a very long descriptive name " * (i + 1) for i in range(20)]
    importance = pd.DataFrame(
        {"label": labels, "mean_abs_contribution": np.linspace(0.1, 0.01, 20)}
    )
    fig = importance_figure(importance, top_n=20, title="Global importance " * 8)
    assert_fits_canvas(fig)
    texts = [t.get_text() for t in fig.axes[0].get_yticklabels()][::-1]
    assert texts[0].replace("\n", " ") == labels[0].strip()  # short enough: kept whole
    assert texts[-1].endswith("...") and texts[-1].count("\n") == 2  # three lines at most
    assert fig.get_suptitle().split() == ("Global importance " * 8).split()
