"""Calibration through CalibratedClassifierCV: the served map, routed weights, I/O."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest
import sklearn
import skops.io as sio
from scipy.special import expit, logit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from relapse_ml.modeling import (
    LOG_ODDS,
    PROBABILITY,
    ContractColumnFeatures,
    build_pipeline,
    calibrate,
    calibration_map,
    contract_feature_catalogue,
    count_candidate_parameters,
    family_by_name,
    fit_calibrated_classifier,
    fitted_pipeline,
    native_output,
    native_space,
)
from relapse_ml.modeling.calibration import (
    apply_calibrator,
    fit_calibrator,
    route_sample_weight,
)

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


def pipeline(family: str, seed: int = 0, params: dict | None = None):
    fam = family_by_name(family)
    return build_pipeline(FEATURES, CATALOGUE, fam, params or PARAMS[family], random_state=seed)


def fit(family: str, X, y, w=None, method: str = "sigmoid", folds: int = 3, seed: int = 0):
    return fit_calibrated_classifier(
        pipeline(family, seed), X, y, w, method=method, folds=folds, random_state=seed
    )


@pytest.mark.parametrize("family", list(PARAMS))
@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_served_risk_is_the_calibration_map_of_the_native_output(cohort_400, family, method):
    X, y, w = cohort_400
    model = fit(family, X, y, w, method)
    assert isinstance(model, CalibratedClassifierCV) and model.ensemble is False
    assert len(model.calibrated_classifiers_) == 1
    pipe = fitted_pipeline(model)
    assert pipe is model.calibrated_classifiers_[0].estimator
    assert list(pipe.named_steps) == ["features", "preprocess", "classifier"]
    native = native_output(pipe, X)
    risk = model.predict_proba(X)[:, 1]
    # The map the explanations use gives exactly the served risk.
    np.testing.assert_array_equal(risk, calibrate(model, native))
    np.testing.assert_array_equal(model.predict_proba(X)[:, 0], 1.0 - risk)
    if family == "random_forest":  # no decision_function: its probability is calibrated
        assert native_space(pipe) == PROBABILITY
        np.testing.assert_array_equal(native, pipe.predict_proba(X)[:, 1])
    else:
        assert native_space(pipe) == LOG_ODDS
        np.testing.assert_array_equal(native, pipe.decision_function(X))
    calibrator = calibration_map(model)
    assert calibrator is model.calibrated_classifiers_[0].calibrators[0]
    if method == "sigmoid":  # Platt: risk = expit(-(a * native + b))
        np.testing.assert_allclose(risk, expit(-(calibrator.a_ * native + calibrator.b_)))
        assert calibrator.a_ < 0  # increasing in the native output
    else:
        assert isinstance(calibrator, IsotonicRegression)
        assert risk.min() >= 0.0 and risk.max() <= 1.0
    np.testing.assert_array_equal(model.predict(X), (risk > 0.5).astype(int))


@pytest.mark.parametrize("family", ["logistic", "random_forest"])
@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_fit_calibrator_reproduces_the_served_map(cohort_400, family, method):
    """Selection scores with fit_calibrator: it must be the map the served model gets."""
    X, y, w = cohort_400
    model = fit(family, X, y, w, method, seed=7)
    oof = np.empty(len(y))
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=7)
    for train, test in folds.split(X, y):
        # weights passed the legacy way: an independent route to the classifier
        fold = pipeline(family, 7).fit(X.iloc[train], y[train], classifier__sample_weight=w[train])
        oof[test] = native_output(fold, X.iloc[test])
    by_hand = fit_calibrator(oof, y, w, method)
    grid = np.linspace(oof.min() - 0.1, oof.max() + 0.1, 101)
    np.testing.assert_array_equal(
        apply_calibrator(by_hand, grid), apply_calibrator(calibration_map(model), grid)
    )


def test_fit_is_deterministic_and_leaves_no_routing_behind(cohort_400) -> None:
    X, y, w = cohort_400
    for family in PARAMS:
        a = fit(family, X, y, w, "isotonic")
        b = fit(family, X, y, w, "isotonic")
        np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert sklearn.get_config()["enable_metadata_routing"] is False
    # Requests hold a reference cycle skops cannot write: none is left in the model.
    stack, seen = [a], set()
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, str | np.ndarray):
            continue
        seen.add(id(item))
        assert "_metadata_request" not in getattr(item, "__dict__", {})
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif hasattr(item, "__dict__"):
            stack.extend(vars(item).values())


def test_calibration_repairs_an_underconfident_model(cohort_2000) -> None:
    (X, y, _), (X_test, y_test, _) = cohort_2000
    # A shallow forest of stumps averages towards the base rate: its risks are
    # compressed (calibration slope far above 1) though the ranking is fine.
    shallow = {"n_estimators": 50, "max_depth": 2, "min_samples_leaf": 100, "max_features": 0.1}
    pipe = pipeline("random_forest", 0, shallow)
    sig = fit_calibrated_classifier(pipe, X, y, method="sigmoid", folds=5)
    raw = fitted_pipeline(sig).predict_proba(X_test)[:, 1]
    assert calibration_slope(y_test, raw) > 3.0
    assert 0.9 < calibration_slope(y_test, sig.predict_proba(X_test)[:, 1]) < 1.1
    iso = fit_calibrated_classifier(pipe, X, y, method="isotonic", folds=5)
    raw_brier = np.mean((raw - y_test) ** 2)
    for model in (sig, iso):
        assert np.mean((model.predict_proba(X_test)[:, 1] - y_test) ** 2) < raw_brier - 0.01


def test_weights_reach_classifier_and_calibrator_but_not_the_scaler(cohort_400) -> None:
    X, y, _ = cohort_400
    heavy_events = np.where(y == 1, 4.0, 1.0)
    plain = fit("logistic", X, y)
    weighted = fit("logistic", X, y, heavy_events)
    # Up-weighting events raises the fitted risk (weighted event share ~ 4x odds).
    assert weighted.predict_proba(X)[:, 1].mean() > plain.predict_proba(X)[:, 1].mean() + 0.1
    coef = [fitted_pipeline(m).named_steps["classifier"].coef_ for m in (plain, weighted)]
    assert not np.allclose(*coef)
    # (The map is fitted with the weights too: test_fit_calibrator_reproduces_the_served_map.)
    # Standardisation statistics stay unweighted (the scaler declines the weights).
    scalers = [
        fitted_pipeline(m).named_steps["preprocess"].named_transformers_["numeric"]["scale"]
        for m in (plain, weighted)
    ]
    np.testing.assert_array_equal(scalers[0].mean_, scalers[1].mean_)


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
    weighted = route_sample_weight(build_pipeline(FEATURES, CATALOGUE, fam, {}, random_state=0))
    with sklearn.config_context(enable_metadata_routing=True):
        weighted.fit(X, y, sample_weight=counts.astype(float))
    risk_weighted = weighted.predict_proba(X)[:, 1]
    repeat = np.repeat(np.arange(len(y)), counts)
    duplicated = build_pipeline(FEATURES, CATALOGUE, fam, {}, 0).fit(X.iloc[repeat], y[repeat])
    np.testing.assert_allclose(risk_weighted, duplicated.predict_proba(X)[:, 1], atol=1e-6)
    # The calibration maps honour weights the same way.
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
}
# Not ours, but skops 0.16 does not trust them by default: CalibratedClassifierCV's
# fitted pair and sigmoid map and its splitter; SimpleImputer keeps a numpy
# dtype; the tree models keep sklearn's compiled tree objects.
CALIBRATION_TYPES = {
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.model_selection._split.StratifiedKFold",
}
SKLEARN_EXTRA = {
    "logistic": {"numpy.dtype"},
    "hist_gradient_boosting": {
        "numpy.dtype",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    },
    "random_forest": {"numpy.dtype", "sklearn.tree._tree.Tree"},
}


@pytest.mark.parametrize("family", list(PARAMS))
@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_save_load_round_trip(cohort_400, family, method) -> None:
    X, y, w = cohort_400
    model = fit(family, X, y, w, method)
    expected = model.predict_proba(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict_proba(X), expected)
    data = sio.dumps(model)
    untrusted = set(sio.get_untrusted_types(data=data))
    sigmoid = {"sklearn.calibration._SigmoidCalibration"} if method == "sigmoid" else set()
    assert untrusted == OUR_TYPES | CALIBRATION_TYPES | sigmoid | SKLEARN_EXTRA[family]
    loaded = sio.loads(data, trusted=sorted(untrusted))
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)
    assert count_candidate_parameters(loaded) == count_candidate_parameters(model)


def test_count_parameters_of_fitted_model(cohort_400) -> None:
    X, y, _ = cohort_400
    model = fit("random_forest", X, y)
    # 10 numeric + bridging + disease (6 levels) + costim (2 levels), and one
    # missing indicator per feature with missing values (3 burden + bridging).
    assert count_candidate_parameters(model) == 10 + 1 + 6 + 2 + 3 + 1
    assert count_candidate_parameters(fitted_pipeline(model)) == count_candidate_parameters(model)


def test_invalid_arguments(cohort_400) -> None:
    X, y, _ = cohort_400
    with pytest.raises(ValueError, match="method"):
        fit("logistic", X, y, method="beta")
    with pytest.raises(TypeError, match="Pipeline"):
        fit_calibrated_classifier(LogisticRegression(), X, y)
    with pytest.raises(ValueError, match="class"):
        fit("logistic", X, np.zeros(len(y), dtype=int))
    with pytest.raises(ValueError, match="method"):
        fit_calibrator(np.zeros(4), np.array([0, 1, 0, 1]), None, "beta")
