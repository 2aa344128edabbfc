"""CalibratedRiskClassifier: exact margin/calibration identities, calibration, weights, I/O."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest
import skops.io as sio
from scipy.special import expit, logit
from sklearn.linear_model import LogisticRegression

from relapse_ml.modeling import (
    CalibratedRiskClassifier,
    ContractColumnFeatures,
    ModelFamily,
    build_pipeline,
    contract_feature_catalogue,
    count_candidate_parameters,
    default_model_families,
    family_by_name,
)
from relapse_ml.modeling.calibration import apply_calibrator, fit_calibrator

from .synthetic import FEATURE_COLUMNS

CATALOGUE = contract_feature_catalogue(FEATURE_COLUMNS)
FEATURES = ContractColumnFeatures(FEATURE_COLUMNS)
PARAMS = {
    "logistic": {"C": 0.1, "l1_ratio": 0.5},
    "hist_gradient_boosting": {"max_iter": 30, "max_leaf_nodes": 7, "learning_rate": 0.1},
    "random_forest": {"n_estimators": 30, "max_depth": 4, "min_samples_leaf": 10},
}


def calibration_slope(y: np.ndarray, risk: np.ndarray) -> float:
    """Slope of an unpenalised logistic regression of y on logit(risk)."""
    lp = logit(np.clip(risk, 1e-9, 1 - 1e-9)).reshape(-1, 1)
    return float(LogisticRegression(C=np.inf).fit(lp, y).coef_[0, 0])


def make_model(family: str, method: str = "sigmoid", seed: int = 0) -> CalibratedRiskClassifier:
    fam = family_by_name(family)
    pipe = build_pipeline(FEATURES, CATALOGUE, fam, PARAMS[family], random_state=seed)
    return CalibratedRiskClassifier(pipe, method=method, cv=3, random_state=seed)


@pytest.mark.parametrize("family", list(PARAMS))
@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_predict_proba_is_calibrated_margin_exactly(cohort_400, family, method) -> None:
    X, y, w = cohort_400
    model = make_model(family, method).fit(X, y, sample_weight=w)
    margin = model.margin(X)
    risk = model.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(risk, model.calibrate(margin))
    np.testing.assert_array_equal(model.predict_proba(X)[:, 0], 1.0 - risk)
    classifier = model.estimator_.named_steps["classifier"]
    if family == "random_forest":
        assert model.margin_kind_ == "probability"
        native = model.estimator_.predict_proba(X)[:, 1]
        np.testing.assert_array_equal(margin, logit(np.clip(native, 1e-4, 1 - 1e-4)))
        np.testing.assert_array_equal(model.native_to_margin(native), margin)
    else:
        assert model.margin_kind_ == "log_odds"
        np.testing.assert_array_equal(margin, model.estimator_.decision_function(X))
        np.testing.assert_array_equal(model.native_to_margin(margin), margin)
    if method == "sigmoid":
        a, b = model.calibrator_.coef_[0, 0], model.calibrator_.intercept_[0]
        np.testing.assert_array_equal(risk, expit(a * margin + b))
    else:
        np.testing.assert_array_equal(risk, model.calibrator_.predict(margin))
        assert risk.min() >= 0.0 and risk.max() <= 1.0
    assert list(model.estimator_.named_steps) == ["features", "preprocess", "classifier"]
    assert classifier is model.estimator_[-1]
    np.testing.assert_array_equal(model.predict(X), (risk > 0.5).astype(int))
    assert model.oof_margin_.shape == (len(y),) and np.isfinite(model.oof_margin_).all()


def test_fit_is_deterministic(cohort_400) -> None:
    X, y, w = cohort_400
    for family in PARAMS:
        a = make_model(family, "isotonic").fit(X, y, sample_weight=w)
        b = make_model(family, "isotonic").fit(X, y, sample_weight=w)
        np.testing.assert_array_equal(a.oof_margin_, b.oof_margin_)
        np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_calibration_repairs_an_underconfident_model(cohort_2000) -> None:
    (X, y, _), (X_test, y_test, _) = cohort_2000
    # A shallow forest of stumps averages towards the base rate: its risks are
    # compressed (calibration slope far above 1) though the ranking is fine.
    shallow = {"n_estimators": 50, "max_depth": 2, "min_samples_leaf": 100, "max_features": 0.1}
    pipe = build_pipeline(FEATURES, CATALOGUE, family_by_name("random_forest"), shallow, 0)
    sig = CalibratedRiskClassifier(pipe, method="sigmoid", cv=5, random_state=0).fit(X, y)
    raw = sig.estimator_.predict_proba(X_test)[:, 1]
    assert calibration_slope(y_test, raw) > 3.0
    assert 0.9 < calibration_slope(y_test, sig.predict_proba(X_test)[:, 1]) < 1.1
    iso = CalibratedRiskClassifier(pipe, method="isotonic", cv=5, random_state=0).fit(X, y)
    raw_brier = np.mean((raw - y_test) ** 2)
    for model in (sig, iso):
        assert np.mean((model.predict_proba(X_test)[:, 1] - y_test) ** 2) < raw_brier - 0.01


def test_sample_weight_reaches_classifier_and_calibrator(cohort_400) -> None:
    X, y, _ = cohort_400
    heavy_events = np.where(y == 1, 4.0, 1.0)
    plain = make_model("logistic").fit(X, y)
    weighted = make_model("logistic").fit(X, y, sample_weight=heavy_events)
    # Up-weighting events raises the fitted risk (weighted event share ~ 4x odds).
    assert weighted.predict_proba(X)[:, 1].mean() > plain.predict_proba(X)[:, 1].mean() + 0.1
    coef_plain = plain.estimator_[-1].coef_
    assert not np.allclose(coef_plain, weighted.estimator_[-1].coef_)


def test_integer_weights_equal_duplicated_rows(cohort_400) -> None:
    Xf, yf, _ = cohort_400
    keep = Xf[list(FEATURE_COLUMNS)].notna().all(axis=1).to_numpy()
    X, y = Xf[keep].reset_index(drop=True), yf[keep]
    counts = np.random.default_rng(0).integers(1, 4, size=len(y))
    # No missing values, so imputation is a no-op; with an unpenalised LR the
    # (unweighted) scaling differences between the two fits cancel exactly.
    fam = dataclasses.replace(
        family_by_name("logistic"),
        fixed_params={"solver": "lbfgs", "C": np.inf, "tol": 1e-10, "max_iter": 10000},
        search_space={},
    )
    pipe = build_pipeline(FEATURES, CATALOGUE, fam, {}, random_state=0)
    weighted = pipe.fit(X, y, classifier__sample_weight=counts.astype(float))
    risk_weighted = weighted.predict_proba(X)[:, 1]
    repeat = np.repeat(np.arange(len(y)), counts)
    duplicated = build_pipeline(FEATURES, CATALOGUE, fam, {}, 0).fit(X.iloc[repeat], y[repeat])
    np.testing.assert_allclose(risk_weighted, duplicated.predict_proba(X)[:, 1], atol=1e-6)
    # The calibrators honour weights the same way.
    m = np.random.default_rng(1).normal(size=60)
    t = (np.random.default_rng(2).random(60) < expit(m)).astype(int)
    k = np.random.default_rng(3).integers(1, 4, size=60)
    for method in ("sigmoid", "isotonic"):
        cw = fit_calibrator(m, t, k.astype(float), method)
        cd = fit_calibrator(np.repeat(m, k), np.repeat(t, k), None, method)
        grid = np.linspace(-3, 3, 25)
        np.testing.assert_allclose(
            apply_calibrator(cw, grid), apply_calibrator(cd, grid), atol=1e-6
        )


OUR_TYPES = {
    "relapse_ml.features.catalogue.FeatureSpec",
    "relapse_ml.modeling.baseline.ContractColumnFeatures",
    "relapse_ml.modeling.calibration.CalibratedRiskClassifier",
}
# Not ours, but skops 0.16 does not trust them by default: SimpleImputer keeps a
# numpy dtype; the tree models keep sklearn's compiled tree objects.
SKLEARN_EXTRA = {
    "logistic": {"numpy.dtype"},
    "hist_gradient_boosting": {
        "numpy.dtype",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    },
    "random_forest": {"numpy.dtype", "sklearn.tree._tree.Tree"},
}


@pytest.mark.parametrize("family", list(PARAMS))
def test_save_load_round_trip(cohort_400, family) -> None:
    X, y, w = cohort_400
    model = make_model(family, "isotonic").fit(X, y, sample_weight=w)
    expected = model.predict_proba(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict_proba(X), expected)
    data = sio.dumps(model)
    untrusted = set(sio.get_untrusted_types(data=data))
    assert untrusted == OUR_TYPES | SKLEARN_EXTRA[family]
    loaded = sio.loads(data, trusted=sorted(untrusted))
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)
    assert count_candidate_parameters(loaded) == count_candidate_parameters(model)


def test_count_parameters_of_fitted_model(cohort_400) -> None:
    X, y, _ = cohort_400
    model = make_model("random_forest").fit(X, y)
    # 10 numeric + bridging + disease (6 levels) + costim (2 levels), and one
    # missing indicator per feature with missing values (3 burden + bridging).
    assert count_candidate_parameters(model) == 10 + 1 + 6 + 2 + 3 + 1
    assert count_candidate_parameters(model.estimator_) == count_candidate_parameters(model)


def test_invalid_arguments(cohort_400) -> None:
    X, y, _ = cohort_400
    with pytest.raises(ValueError, match="method"):
        make_model("logistic", "beta").fit(X, y)
    with pytest.raises(TypeError, match="Pipeline"):
        CalibratedRiskClassifier(LogisticRegression()).fit(X, y)
    with pytest.raises(ValueError, match="two classes"):
        make_model("logistic").fit(X, np.zeros(len(y), dtype=int))
    assert isinstance(default_model_families()[0], ModelFamily)
