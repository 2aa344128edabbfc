"""The explanation adds up to exactly the served risk, for every family and calibration."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from relapse_ml.explain import (
    RISK_ADDITIVITY_TOL,
    ExplanationError,
    build_native_explainer,
    explain_patients,
    to_probability_scale,
)
from relapse_ml.explain.explanation import feature_matrix
from relapse_ml.modeling import fitted_pipeline, preprocessed_to_feature
from relapse_ml.schema import load_contract

FAMILIES = ("logistic", "hist_gradient_boosting", "random_forest")
CALIBRATIONS = ("sigmoid", "isotonic")


@pytest.mark.parametrize(("family", "calibration"), list(itertools.product(FAMILIES, CALIBRATIONS)))
def test_baseline_plus_contributions_is_the_served_risk(
    trained_model, simulated_data, family, calibration
):
    model = trained_model(family, calibration)
    assert model.calibration_method == calibration
    model_input = model.model_input(simulated_data.patients, simulated_data.measurements)
    explanation = explain_patients(model, model_input)
    served = model.risk(model_input)  # the pipeline's own predict_proba, computed independently
    np.testing.assert_allclose(explanation.risk, served, rtol=0, atol=1e-12)
    total = explanation.baseline_risk + explanation.feature_contributions.sum(axis=1).to_numpy()
    assert np.abs(total - served).max() < RISK_ADDITIVITY_TOL
    groups = explanation.group_contributions
    assert list(groups.columns) == list(load_contract().groups)
    assert (
        np.abs(explanation.baseline_risk + groups.sum(axis=1).to_numpy() - served).max()
        < RISK_ADDITIVITY_TOL
    )
    # Each group is the sum of its features.
    for group in groups.columns:
        members = [s.name for s in model.catalogue if s.group == group]
        np.testing.assert_allclose(
            groups[group], explanation.feature_contributions[members].sum(axis=1), atol=1e-12
        )
    # Contributions explain something: not all zero unless the calibration map is flat.
    assert explanation.feature_contributions.abs().to_numpy().max() > 1e-3


@pytest.mark.parametrize("family", FAMILIES)
def test_baseline_is_one_constant_per_model(trained_model, simulated_data, family):
    model = trained_model(family)
    model_input = model.model_input(simulated_data.patients, simulated_data.measurements)
    first = explain_patients(model, model_input.iloc[:50].reset_index(drop=True))
    second = explain_patients(model, model_input.iloc[400:].reset_index(drop=True))
    assert first.baseline_risk == second.baseline_risk
    assert 0.0 < first.baseline_risk < 1.0
    # A patient's explanation does not depend on the batch it comes in.
    alone = explain_patients(model, model_input.iloc[[420]].reset_index(drop=True))
    np.testing.assert_allclose(
        alone.feature_contributions.iloc[0], second.feature_contributions.iloc[20], atol=1e-12
    )


def test_values_and_imputed_flags(trained_model, simulated_data):
    model = trained_model("hist_gradient_boosting")
    explanation = explain_patients(
        model, model.model_input(simulated_data.patients, simulated_data.measurements)
    )
    assert list(explanation.feature_values.columns) == [s.name for s in model.catalogue]
    assert explanation.imputed.equals(explanation.feature_values.isna())
    assert explanation.imputed.to_numpy().any()  # the simulator leaves values missing
    assert "TreeSHAP" in explanation.method and "g(b0)" in explanation.method


def test_linear_closed_form_is_the_exact_shapley_value():
    """Brute-force Shapley values (interventional, background mean) of a tiny logistic model."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = (X @ np.array([1.0, -2.0, 0.5, 0.0]) + rng.normal(size=200) > 0).astype(int)
    clf = LogisticRegression().fit(X, y)
    mean = X[:50].mean(axis=0)
    explainer = build_native_explainer(clf, mean)
    z = X[123]

    def value(subset: tuple[int, ...]) -> float:
        point = mean.copy()
        point[list(subset)] = z[list(subset)]
        return float(clf.decision_function(point[None, :])[0])

    from math import factorial

    d = 4
    expected = np.zeros(d)
    for i in range(d):
        others = [j for j in range(d) if j != i]
        for size in range(d):
            for subset in itertools.combinations(others, size):
                weight = factorial(size) * factorial(d - size - 1) / factorial(d)
                expected[i] += weight * (value((*subset, i)) - value(subset))
    phi, native = explainer.explain(z[None, :])
    np.testing.assert_allclose(phi[0], expected, atol=1e-10)
    assert explainer.base_value == pytest.approx(value(()))
    assert native[0] == pytest.approx(float(clf.decision_function(z[None, :])[0]))


def test_native_categorical_hgb_trap_is_caught():
    """shap 0.51 TreeSHAP is wrong for HGB native categorical splits; the check rejects it."""
    rng = np.random.default_rng(0)
    n = 2000
    category = rng.integers(0, 6, n)
    x = rng.normal(size=n)
    logit = np.array([-2.0, 1.5, -1.0, 2.0, 0.0, -0.5])[category] + x
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    X = np.column_stack([category, x]).astype(float)
    native_cat = HistGradientBoostingClassifier(
        categorical_features=[0], max_iter=50, random_state=0
    ).fit(X, y)
    explainer = build_native_explainer(native_cat, None)
    # The trap: shap's own values miss the model's log-odds by whole units.
    raw_gap = np.abs(
        explainer.base_value
        + explainer.shap_values(X).sum(axis=1)
        - native_cat.decision_function(X)
    )
    assert raw_gap.max() > 1.0
    with pytest.raises(ExplanationError, match="do not add up"):
        explainer.explain(X)
    # The same data one-hot encoded (what the project does) explains exactly.
    one_hot = np.column_stack([np.eye(6)[category], x])
    encoded = HistGradientBoostingClassifier(max_iter=50, random_state=0).fit(one_hot, y)
    phi, native = build_native_explainer(encoded, None).explain(one_hot)
    assert phi.shape == one_hot.shape and np.isfinite(native).all()


def test_probability_scale_rule_by_hand():
    # Secant: phi (2, 2), risk 0.7, baseline 0.5 -> ratio 0.2 / 4 = 0.05 -> (0.1, 0.1).
    out = to_probability_scale(np.array([[2.0, 2.0]]), np.array([0.7]), 0.5, slope_at_base=0.25)
    np.testing.assert_allclose(out, [[0.1, 0.1]])
    # Signs and proportions kept: phi (3, -1) sums to 2, risk 0.6 from 0.5 -> (0.15, -0.05).
    out = to_probability_scale(np.array([[3.0, -1.0]]), np.array([0.6]), 0.5, slope_at_base=0.25)
    np.testing.assert_allclose(out, [[0.15, -0.05]])
    # sum(phi) == 0: the slope at the baseline, still adding up to risk - baseline (0).
    out = to_probability_scale(np.array([[1.0, -1.0]]), np.array([0.5]), 0.5, slope_at_base=0.25)
    np.testing.assert_allclose(out, [[0.25, -0.25]])
    # All-zero phi: nothing to share.
    out = to_probability_scale(np.zeros((1, 3)), np.array([0.5]), 0.5, slope_at_base=0.25)
    np.testing.assert_array_equal(out, np.zeros((1, 3)))


def test_every_preprocessed_column_maps_to_one_feature(trained_model):
    model = trained_model("logistic")
    preprocessor = fitted_pipeline(model.classifier).named_steps["preprocess"]
    names = [s.name for s in model.catalogue]
    matrix = feature_matrix(preprocessor, names)
    assert (matrix.sum(axis=1) == 1).all()
    mapping = pd.Series(
        preprocessed_to_feature(preprocessor), index=preprocessor.get_feature_names_out()
    )
    disease_columns = [c for c in mapping.index if c.startswith("categorical__disease_")]
    assert len(disease_columns) == 6 and (mapping[disease_columns] == "disease").all()
    indicator = [c for c in mapping.index if "missingindicator" in c]
    assert indicator and all(mapping[c] in c for c in indicator)


def test_linear_explainer_equals_shap_with_the_training_matrix_as_background():
    """Column means suffice: shap.LinearExplainer on the full training matrix gives the same values."""
    import shap

    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 5)) + np.arange(5)
    y = (X @ np.array([1.0, -1.0, 0.5, 0.0, 2.0]) + rng.normal(size=300) > 6).astype(int)
    clf = LogisticRegression().fit(X, y)
    ours = build_native_explainer(clf, X.mean(axis=0))
    # shap samples 100 background rows unless told to keep all of them.
    reference = shap.LinearExplainer(clf, shap.maskers.Independent(X, max_samples=len(X)))
    phi, _ = ours.explain(X[:20])
    np.testing.assert_allclose(phi, reference.shap_values(X[:20]), atol=1e-10)
    assert ours.base_value == pytest.approx(float(np.ravel(reference.expected_value)[0]))
