"""TreeSHAP through shap's kernel alone gives exactly what shap.TreeExplainer gives."""

from __future__ import annotations

import numpy as np
import pytest
import shap
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

from relapse_ml.explain._native import build_native_explainer


@pytest.mark.parametrize(
    "classifier",
    [
        HistGradientBoostingClassifier(max_iter=30, random_state=0),
        RandomForestClassifier(n_estimators=15, min_samples_leaf=3, random_state=0),
    ],
    ids=["hgb", "forest"],
)
def test_kernel_values_equal_tree_explainer(classifier):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 6))
    if isinstance(classifier, HistGradientBoostingClassifier):
        X[rng.random(X.shape) < 0.1] = np.nan  # missing values take the default branch
    y = np.nan_to_num(X[:, 0]) + 0.5 * np.nan_to_num(X[:, 1]) + rng.normal(size=400) > 0
    classifier.fit(X, y.astype(int))
    ours = build_native_explainer(classifier, None)
    reference = shap.TreeExplainer(classifier, feature_perturbation="tree_path_dependent")
    expected = np.asarray(reference.shap_values(X, check_additivity=False))
    if expected.ndim == 3:
        expected = expected[:, :, 1]
    phi, native = ours.explain(X)
    np.testing.assert_array_equal(phi, expected)
    assert np.abs(phi).sum() > 0
    np.testing.assert_allclose(ours.base_value + phi.sum(axis=1), native, atol=1e-9)
