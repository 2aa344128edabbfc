"""The served model: scikit-learn's ``CalibratedClassifierCV(ensemble=False)`` around the pipeline.

What is fitted
--------------
:func:`fit_calibrated_classifier` wraps the unfitted ``features -> preprocess ->
classifier`` pipeline in ``CalibratedClassifierCV(method, cv=StratifiedKFold(folds,
shuffle=True, random_state), ensemble=False)``: out-of-fold *native outputs* of the
pipeline fitted on the other folds, one calibration map fitted on them, then the
pipeline refitted on all rows. The native output is what scikit-learn calibrates:
``decision_function`` (the log-odds, for logistic regression and gradient boosting)
or, for the random forest, which has none, ``predict_proba[:, 1]`` (a probability).

The IPCW weights are routed with scikit-learn's metadata routing: the classifier
step requests ``sample_weight``, every other step that could take weights (the
``StandardScaler``) declines it, and the calibration map receives them from
``CalibratedClassifierCV`` itself. The requests are instructions for fitting only and
are dropped from the fitted model (:func:`drop_routing_requests`): scikit-learn
stores each one with a reference back to its estimator, a cycle skops cannot write.

Where the explanations find the map (public attributes)
--------------------------------------------------------
``model.calibrated_classifiers_[0].estimator`` is the refitted pipeline
(:func:`fitted_pipeline`) and ``model.calibrated_classifiers_[0].calibrators[0]`` the
calibration map (:func:`calibration_map`); ``risk = map.predict(native output)``
exactly as ``predict_proba`` computes it (:func:`calibrate`).

Why scikit-learn's class (measured, issue 10)
----------------------------------------------
relapse-ml 0.1.0 re-implemented ``ensemble=False`` in a class of its own (an
unpenalised logistic regression on the margin, ``logit(clip(p, 1e-4))`` for the
forest). Measured with ``tests.helpers.quick_train_config`` for every family and
method on the simulated cohort (800 patients, seed 11; also 2,000 patients, seed 3,
and 10 calibration folds): scikit-learn's class refits the very same fold and final
pipelines; isotonic risks are identical (the forest's differ by <= 4e-4, logit
clipping no longer ties extreme probabilities); sigmoid risks move by <= 0.0043
(logistic, boosting) because Platt's method smooths the targets, and by <= 0.032
for the forest, now calibrated on its probability as scikit-learn does. AUROC is
unchanged; test Brier score and calibration slope move by <= 0.001 and <= 0.015,
far inside their bootstrap CIs (e.g. forest + sigmoid: Brier 0.1997 -> 0.2002,
CI 0.170-0.232; slope 0.868 -> 0.867, CI 0.585-1.246). The default recipe chooses
the same champion and parameters. So the custom class was retired.
"""

from __future__ import annotations

from collections.abc import Iterator
from inspect import signature
from typing import Any

import numpy as np
from sklearn import config_context
from sklearn.base import BaseEstimator, clone

# The fitted sigmoid map is scikit-learn's private class; the model file holds it
# anyway (see artifact.trusted_types), and a test checks fit_calibrator reproduces
# the map CalibratedClassifierCV fits, so a change in scikit-learn cannot go unseen.
from sklearn.calibration import CalibratedClassifierCV, _SigmoidCalibration
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

CALIBRATION_METHODS = ("sigmoid", "isotonic")
PIPELINE_STEPS = ("features", "preprocess", "classifier")
#: Native output spaces: ``decision_function`` (log-odds) or ``predict_proba[:, 1]``.
LOG_ODDS, PROBABILITY = "log_odds", "probability"
# predict_proba sets risks in (1, 1 + 1e-5] to 1 (rounding of isotonic weighted means).
_ROUND_TO_ONE = 1e-5


def native_space(pipeline: Any) -> str:
    """Return the space of ``pipeline``'s native output: ``"log_odds"`` or ``"probability"``."""
    return LOG_ODDS if hasattr(pipeline, "decision_function") else PROBABILITY


def native_output(pipeline: Any, X: Any) -> np.ndarray:
    """Return what ``CalibratedClassifierCV`` calibrates: the positive-class native output.

    Parameters
    ----------
    pipeline : fitted classifier or Pipeline
        A binary classifier (or a pipeline ending in one).
    X : array-like or DataFrame
        Its input.

    Returns
    -------
    ndarray of shape (n,)
        ``decision_function(X)`` when the classifier has one, else ``predict_proba(X)[:, 1]``.
    """
    if native_space(pipeline) == LOG_ODDS:
        return np.asarray(pipeline.decision_function(X), dtype=np.float64)
    return np.asarray(pipeline.predict_proba(X)[:, 1], dtype=np.float64)


def _estimators(obj: Any) -> Iterator[Any]:
    """Every object reachable from ``obj`` through attributes and containers, once."""
    seen: set[int] = set()
    stack = [obj]
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, str | bytes | int | float | np.ndarray | type):
            continue
        seen.add(id(item))
        yield item
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif hasattr(item, "__dict__"):
            stack.extend(vars(item).values())


def route_sample_weight(pipeline: Pipeline) -> Pipeline:
    """Request ``sample_weight`` for the last step only, by metadata routing (in place).

    Every other estimator in ``pipeline`` whose ``fit`` accepts ``sample_weight``
    (the ``StandardScaler`` of linear families) declines it: preprocessing
    statistics stay unweighted, only the classifier is fitted with the IPCW weights.

    Parameters
    ----------
    pipeline : Pipeline
        Unfitted pipeline.

    Returns
    -------
    Pipeline
        ``pipeline`` itself.
    """
    final = pipeline[-1]
    with config_context(enable_metadata_routing=True):  # set_fit_request needs it
        for est in _estimators(pipeline):
            fit = getattr(est, "fit", None) if isinstance(est, BaseEstimator) else None
            if fit is not None and "sample_weight" in signature(fit).parameters:
                est.set_fit_request(sample_weight=est is final)
    return pipeline


def drop_routing_requests(model: Any) -> Any:
    """Remove metadata-routing requests from every estimator in ``model`` (in place).

    Requests only instruct fitting. scikit-learn keeps each with a reference back
    to its estimator (``owner``), a cycle that skops cannot write; without them an
    estimator answers routing with its class defaults again.

    Returns
    -------
    object
        ``model`` itself.
    """
    for item in _estimators(model):
        if isinstance(item, BaseEstimator):
            vars(item).pop("_metadata_request", None)
    return model


def fit_calibrated_classifier(
    pipeline: Pipeline,
    X: Any,
    y: Any,
    sample_weight: np.ndarray | None = None,
    *,
    method: str = "sigmoid",
    folds: int = 10,
    random_state: int = 0,
    n_jobs: int = 1,
) -> CalibratedClassifierCV:
    """Fit ``CalibratedClassifierCV(ensemble=False)`` around a clone of ``pipeline``.

    Parameters
    ----------
    pipeline : Pipeline
        Unfitted pipeline (steps ``features``, ``preprocess``, ``classifier`` for
        the served model; explanations expect these names).
    X : DataFrame
        Input of the pipeline's first step.
    y : array-like of shape (n,)
        Binary outcome.
    sample_weight : array-like of shape (n,), optional
        IPCW weights for the classifier step and the calibration map.
    method : {"sigmoid", "isotonic"}
        Calibration map fitted on the out-of-fold native outputs.
    folds : int
        Stratified folds of the out-of-fold native outputs.
    random_state : int
        Seed of the fold shuffling.
    n_jobs : int
        Processes fitting the folds (the result does not depend on it).

    Returns
    -------
    CalibratedClassifierCV
        Fitted, without routing requests (see :func:`drop_routing_requests`).
    """
    if method not in CALIBRATION_METHODS:
        raise ValueError(f"method must be one of {CALIBRATION_METHODS}, not {method!r}")
    if not isinstance(pipeline, Pipeline):
        raise TypeError("pipeline must be an unfitted sklearn Pipeline")
    model = CalibratedClassifierCV(
        route_sample_weight(clone(pipeline)),
        method=method,
        cv=StratifiedKFold(n_splits=int(folds), shuffle=True, random_state=int(random_state)),
        ensemble=False,
        n_jobs=int(n_jobs),
    )
    weights = {} if sample_weight is None else {"sample_weight": sample_weight}
    with config_context(enable_metadata_routing=True):
        model.fit(X, y, **weights)
    return drop_routing_requests(model)


def fitted_pipeline(model: CalibratedClassifierCV) -> Pipeline:
    """Return the pipeline refitted on all rows (``calibrated_classifiers_[0].estimator``)."""
    check_is_fitted(model, "calibrated_classifiers_")
    return model.calibrated_classifiers_[0].estimator


def calibration_map(model: CalibratedClassifierCV) -> Any:
    """Return the fitted map from native output to risk (``calibrated_classifiers_[0].calibrators[0]``)."""
    check_is_fitted(model, "calibrated_classifiers_")
    return model.calibrated_classifiers_[0].calibrators[0]


def apply_calibrator(calibrator: Any, native: np.ndarray) -> np.ndarray:
    """Return risks for native outputs, exactly as ``CalibratedClassifierCV.predict_proba`` does."""
    risk = np.asarray(calibrator.predict(np.asarray(native, dtype=np.float64).reshape(-1)))
    risk = risk.astype(np.float64, copy=True)
    risk[(risk > 1.0) & (risk <= 1.0 + _ROUND_TO_ONE)] = 1.0
    return risk


def calibrate(model: CalibratedClassifierCV, native: np.ndarray) -> np.ndarray:
    """Return the served risk for native outputs of :func:`fitted_pipeline` (the map ``g``)."""
    return apply_calibrator(calibration_map(model), native)


def fit_calibrator(
    native: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None, method: str
) -> _SigmoidCalibration | IsotonicRegression:
    """Fit the calibration map ``CalibratedClassifierCV`` fits, on given native outputs.

    Model selection scores candidates with it (cross-fitted on out-of-fold
    outputs), so they are judged by the map the served model will have.

    Parameters
    ----------
    native : ndarray of shape (n,)
        Native outputs (see :func:`native_output`).
    y : ndarray of 0/1
        Outcome.
    sample_weight : ndarray or None
        Weights of the fit.
    method : {"sigmoid", "isotonic"}
        Platt's sigmoid (smoothed targets) or isotonic regression clipped outside
        the fitted range.

    Returns
    -------
    _SigmoidCalibration or IsotonicRegression
        Fitted; apply with :func:`apply_calibrator`.
    """
    if method == "sigmoid":
        calibrator = _SigmoidCalibration()
    elif method == "isotonic":
        calibrator = IsotonicRegression(out_of_bounds="clip")
    else:
        raise ValueError(f"method must be one of {CALIBRATION_METHODS}, not {method!r}")
    native = np.asarray(native, dtype=np.float64).reshape(-1)
    return calibrator.fit(native, np.asarray(y).astype(np.int64), sample_weight)
