"""The served model: a feature -> preprocess -> classifier pipeline plus a calibrator.

The classifier's *margin* is its native score on the log-odds scale:

- LogisticRegression, HistGradientBoostingClassifier: ``decision_function``,
  which is exactly the log-odds of the positive class (and what TreeSHAP /
  LinearExplainer explain in their native "raw" output space).
- RandomForestClassifier has no log-odds: its native output is the averaged
  tree probability ``p``; the margin is ``logit(clip(p, 1e-4, 1 - 1e-4))``
  (clipping keeps pure leaves finite). :meth:`CalibratedRiskClassifier.native_to_margin`
  applies the same map to values in the native space, so explanations of the
  forest's probability can be carried to the calibrated scale.

The calibrator maps margins to risk; it is fitted on out-of-fold margins.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

CALIBRATION_METHODS = ("sigmoid", "isotonic")
PIPELINE_STEPS = ("features", "preprocess", "classifier")
# Forest probabilities of 0 or 1 (pure leaves) would give infinite log-odds.
PROBABILITY_CLIP = 1e-4


def classifier_margin(pipeline: Pipeline, X: Any) -> np.ndarray:
    """Return a fitted pipeline's margin (log-odds scale) for the positive class."""
    classifier = pipeline[-1]
    if hasattr(classifier, "decision_function"):
        return np.asarray(pipeline.decision_function(X), dtype=np.float64)
    return native_probability_to_margin(pipeline.predict_proba(X)[:, 1])


def native_probability_to_margin(probability: np.ndarray) -> np.ndarray:
    """Return ``logit(clip(p))``, the margin of a probability-output classifier."""
    p = np.clip(np.asarray(probability, dtype=np.float64), PROBABILITY_CLIP, 1 - PROBABILITY_CLIP)
    return logit(p)


def fit_calibrator(
    margin: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None, method: str
) -> LogisticRegression | IsotonicRegression:
    """Fit a calibrator mapping margins to the probability of ``y == 1``.

    ``sigmoid``: unpenalised weighted logistic regression on the 1-D margin
    (Platt scaling). ``isotonic``: weighted isotonic regression on the margin,
    clipped outside the fitted range.
    """
    m = np.asarray(margin, dtype=np.float64)
    y = np.asarray(y).astype(np.int64)
    if method == "sigmoid":
        calibrator = LogisticRegression(C=np.inf, solver="lbfgs", max_iter=1000)
        return calibrator.fit(m.reshape(-1, 1), y, sample_weight=sample_weight)
    if method == "isotonic":
        calibrator = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        return calibrator.fit(m, y, sample_weight=sample_weight)
    raise ValueError(f"method must be one of {CALIBRATION_METHODS}, not {method!r}")


def apply_calibrator(
    calibrator: LogisticRegression | IsotonicRegression, margin: np.ndarray
) -> np.ndarray:
    """Return calibrated probabilities for margins."""
    m = np.asarray(margin, dtype=np.float64).reshape(-1)
    if isinstance(calibrator, LogisticRegression):
        return expit(calibrator.coef_[0, 0] * m + calibrator.intercept_[0])
    return np.asarray(calibrator.predict(m), dtype=np.float64)


def _fit_pipeline(pipeline: Pipeline, X: Any, y: np.ndarray, w: np.ndarray | None) -> Pipeline:
    if w is None:
        return pipeline.fit(X, y)
    return pipeline.fit(X, y, classifier__sample_weight=w)


def _take(X: Any, idx: np.ndarray) -> Any:
    return X.iloc[idx] if isinstance(X, pd.DataFrame | pd.Series) else X[idx]


class CalibratedRiskClassifier(ClassifierMixin, BaseEstimator):
    """A pipeline whose margins are calibrated on out-of-fold predictions.

    Parameters
    ----------
    estimator : Pipeline
        Unfitted pipeline with steps ``features``, ``preprocess``, ``classifier``
        (any steps work; explanations expect these names).
    method : {"sigmoid", "isotonic"}
        Calibration map fitted on out-of-fold margins.
    cv : int
        Stratified folds for the out-of-fold margins.
    random_state : int
        Seed of the fold shuffling.

    Attributes
    ----------
    estimator_ : Pipeline
        ``estimator`` refitted on all data (the model explanations take apart).
    calibrator_ : LogisticRegression or IsotonicRegression
        Maps :meth:`margin` to risk (see :meth:`calibrate`).
    classes_ : ndarray
        The two class labels, negative first.
    oof_margin_ : ndarray
        Out-of-fold margins the calibrator was fitted on.
    margin_kind_ : {"log_odds", "probability"}
        The classifier's native output space (see module docstring).
    """

    def __init__(
        self,
        estimator: Pipeline | None = None,
        method: str = "sigmoid",
        cv: int = 3,
        random_state: int = 0,
    ) -> None:
        self.estimator = estimator
        self.method = method
        self.cv = cv
        self.random_state = random_state

    def fit(
        self, X: Any, y: Any, sample_weight: np.ndarray | None = None
    ) -> CalibratedRiskClassifier:
        """Fit out-of-fold margins, the calibrator, then the pipeline on all rows.

        Parameters
        ----------
        X : DataFrame
            Input of the pipeline's first step (one row per patient).
        y : array-like of shape (n,)
            Binary outcome.
        sample_weight : array-like of shape (n,), optional
            Passed to the classifier step's ``fit`` and to the calibrator.

        Returns
        -------
        self
        """
        if not isinstance(self.estimator, Pipeline):
            raise TypeError("estimator must be an unfitted sklearn Pipeline")
        if self.method not in CALIBRATION_METHODS:
            raise ValueError(f"method must be one of {CALIBRATION_METHODS}, not {self.method!r}")
        if int(self.cv) < 2:
            raise ValueError("cv must be at least 2")
        y_arr = np.asarray(y)
        self.classes_ = unique_labels(y_arr)
        if len(self.classes_) != 2:
            raise ValueError(f"need exactly two classes, found {list(self.classes_)}")
        y01 = (y_arr == self.classes_[1]).astype(np.int64)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if w is not None and w.shape != y01.shape:
            raise ValueError("sample_weight must have one value per row")
        # One OpenMP/BLAS thread per fit: a fixed arithmetic order (determinism)
        # and no thread spin-waiting on small data or a shared machine.
        with threadpool_limits(limits=1):
            self._fit_all(X, y01, w)
        has_log_odds = hasattr(self.estimator_[-1], "decision_function")
        self.margin_kind_ = "log_odds" if has_log_odds else "probability"
        return self

    def _fit_all(self, X: Any, y01: np.ndarray, w: np.ndarray | None) -> None:
        """Out-of-fold margins -> calibrator, then the pipeline refitted on all rows."""
        folds = StratifiedKFold(n_splits=int(self.cv), shuffle=True, random_state=self.random_state)
        oof = np.empty(len(y01), dtype=np.float64)
        for train, test in folds.split(np.zeros(len(y01)), y01):
            fold_w = None if w is None else w[train]
            fold_model = _fit_pipeline(clone(self.estimator), _take(X, train), y01[train], fold_w)
            oof[test] = classifier_margin(fold_model, _take(X, test))
        self.oof_margin_ = oof
        self.calibrator_ = fit_calibrator(oof, y01, w, self.method)
        self.estimator_ = _fit_pipeline(clone(self.estimator), X, y01, w)

    def margin(self, X: Any) -> np.ndarray:
        """Return the refitted pipeline's margin (log-odds scale), before calibration."""
        check_is_fitted(self, "calibrator_")
        return classifier_margin(self.estimator_, X)

    def native_to_margin(self, native: np.ndarray) -> np.ndarray:
        """Map values in the classifier's native output space to the margin scale.

        Identity for log-odds classifiers; ``logit(clip(p))`` for the forest.
        """
        check_is_fitted(self, "calibrator_")
        if self.margin_kind_ == "probability":
            return native_probability_to_margin(native)
        return np.asarray(native, dtype=np.float64)

    def calibrate(self, margin: np.ndarray) -> np.ndarray:
        """Return the calibrated probability of the positive class for margins."""
        check_is_fitted(self, "calibrator_")
        return apply_calibrator(self.calibrator_, margin)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Return ``[[1 - risk, risk], ...]`` with ``risk = calibrate(margin(X))``."""
        risk = self.calibrate(self.margin(X))
        return np.column_stack([1.0 - risk, risk])

    def predict(self, X: Any) -> np.ndarray:
        """Return the class with calibrated risk above 0.5."""
        return self.classes_[(self.predict_proba(X)[:, 1] > 0.5).astype(int)]
