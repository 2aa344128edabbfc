"""Model selection: random search per family, repeated stratified CV, calibration.

How one candidate (family + parameters) is scored, per repeat of
``RepeatedStratifiedKFold``:

1. In every outer fold the whole pipeline is refitted on the training part:
   the feature step, then imputation/scaling/encoding and the classifier
   (IPCW sample weights routed to the classifier by metadata routing). The
   feature step does not depend on the candidate, so it is fitted once per
   fold and shared by all candidates, which is the same computation as
   refitting it per candidate.
2. The held-out part gets the candidate's native outputs (``decision_function``,
   or ``predict_proba`` for the forest), so each repeat yields one out-of-fold
   output per training patient.
3. Calibration is cross-fitted: for fold k, each calibration method (the map
   ``CalibratedClassifierCV`` fits, :func:`~relapse_ml.modeling.calibration.fit_calibrator`)
   is fitted on the out-of-fold outputs and labels of the *other* folds, then
   applied to fold k. This mirrors how the served model is calibrated (on
   out-of-fold outputs) without using fold k's labels.
4. Weighted Brier score, AUROC and log loss (IPCW weights) on fold k.

Scores are averaged over all folds and repeats (with their SD). The best
(candidate, calibration) pair per family is the family's entry; the champion is
the best family by the declared metric (ties broken by Brier score, then family
order). The champion is refitted on all training rows as scikit-learn's
``CalibratedClassifierCV(ensemble=False)`` (:mod:`relapse_ml.modeling.calibration`).

Every fit runs with scikit-learn's metadata routing enabled and one OpenMP/BLAS
thread (set here, by the caller of ``fit``, not inside any estimator).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn import config_context
from sklearn.base import BaseEstimator, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.utils.parallel import Parallel, delayed
from threadpoolctl import threadpool_limits

from relapse_ml.features.catalogue import FeatureSpec
from relapse_ml.modeling.calibration import (
    CALIBRATION_METHODS,
    apply_calibrator,
    fit_calibrated_classifier,
    fit_calibrator,
    native_output,
    route_sample_weight,
)
from relapse_ml.modeling.families import ModelFamily
from relapse_ml.modeling.preprocessing import make_preprocessor

# metric -> True when larger is better
SELECTION_METRICS = {"brier": False, "auroc": True, "log_loss": False}


@dataclass(frozen=True)
class SelectionResult:
    """Outcome of :func:`select_model`.

    Attributes
    ----------
    candidates : DataFrame
        One row per (family, candidate, calibration): ``family``, ``candidate``,
        ``params`` (JSON), ``calibration``, ``n_splits``, ``<metric>_mean`` and
        ``<metric>_sd`` for brier, auroc and log_loss, ``family_best`` and
        ``chosen`` flags.
    fold_scores : DataFrame
        Per-split scores behind ``candidates`` (``repeat``, ``fold`` columns).
    best_params : dict
        Family name -> parameters of its best candidate.
    chosen_family, calibration_method, selection_metric : str
        The champion and how it was chosen.
    model : CalibratedClassifierCV
        Champion refitted on all training rows, calibrated on out-of-fold outputs.
    catalogue : tuple of FeatureSpec
        Feature catalogue of the feature step fitted on all training rows.
    """

    candidates: pd.DataFrame
    fold_scores: pd.DataFrame
    best_params: dict[str, dict[str, Any]]
    chosen_family: str
    calibration_method: str
    selection_metric: str
    model: CalibratedClassifierCV
    catalogue: tuple[FeatureSpec, ...]

    def family_table(self) -> pd.DataFrame:
        """Return each family's best row, best family first."""
        return self.candidates[self.candidates["family_best"]].reset_index(drop=True)


def derive_seed(seed: int, *keys: int) -> int:
    """Return a reproducible 31-bit seed for a sub-task of ``seed``."""
    return int(np.random.SeedSequence([int(seed), *keys]).generate_state(1)[0] >> 1)


def build_pipeline(
    features: BaseEstimator,
    catalogue: Sequence[FeatureSpec],
    family: ModelFamily,
    params: dict[str, Any],
    random_state: int,
) -> Pipeline:
    """Return the unfitted served pipeline ``features -> preprocess -> classifier``.

    ``catalogue`` must be what ``features`` yields once fitted; it depends
    only on the feature step's parameters, never on the rows it was fitted on.
    """
    return Pipeline(
        [
            ("features", clone(features).set_output(transform="pandas")),
            ("preprocess", make_preprocessor(catalogue, family)),
            ("classifier", family.make_estimator(params, random_state)),
        ]
    )


def fit_feature_catalogue(features: BaseEstimator, X: Any) -> tuple[FeatureSpec, ...]:
    """Fit a clone of the feature step on ``X`` and return its ``feature_catalogue_``."""
    return tuple(clone(features).set_output(transform="pandas").fit(X).feature_catalogue_)


def weighted_scores(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> dict[str, float]:
    """Return weighted Brier score, AUROC and log loss."""
    return {
        "brier": float(brier_score_loss(y, p, sample_weight=w)),
        "auroc": float(roc_auc_score(y, p, sample_weight=w)),
        "log_loss": float(log_loss(y, p, sample_weight=w, labels=[0, 1])),
    }


def _take(X: Any, idx: np.ndarray) -> Any:
    return X.iloc[idx] if isinstance(X, pd.DataFrame) else X[idx]


def _check_inputs(
    y: Any, sample_weight: Any, families: Sequence[ModelFamily], methods: Sequence[str], metric: str
) -> tuple[np.ndarray, np.ndarray]:
    if metric not in SELECTION_METRICS:
        raise ValueError(f"selection_metric must be one of {sorted(SELECTION_METRICS)}")
    bad = [m for m in methods if m not in CALIBRATION_METHODS]
    if bad or not methods:
        raise ValueError(f"calibration_methods must be a non-empty subset of {CALIBRATION_METHODS}")
    if not families or len({f.name for f in families}) != len(families):
        raise ValueError("families must be non-empty with unique names")
    y01 = np.asarray(y).astype(np.int64)
    if set(np.unique(y01)) != {0, 1}:
        raise ValueError("y must be binary 0/1 with both classes present")
    w = np.ones(len(y01)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if w.shape != y01.shape or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("sample_weight must be finite, >= 0, one per row")
    return y01, w


def _fold_outputs(
    X: Any,
    y01: np.ndarray,
    w: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    features: BaseEstimator,
    families: Sequence[ModelFamily],
    candidates: dict[str, list[dict[str, Any]]],
    fam_seed: dict[str, int],
) -> dict[tuple[str, int], np.ndarray]:
    """Refit features and every candidate on one training fold; native outputs of its test fold."""
    # The feature step does not depend on the candidate: fit it once per fold.
    feature_step = clone(features).set_output(transform="pandas")
    f_train = feature_step.fit_transform(_take(X, train))
    f_test = feature_step.transform(_take(X, test))
    catalogue = tuple(feature_step.feature_catalogue_)
    outputs = {}
    for fam in families:
        for c_no, params in enumerate(candidates[fam.name]):
            model = Pipeline(
                [
                    ("preprocess", make_preprocessor(catalogue, fam)),
                    ("classifier", fam.make_estimator(params, fam_seed[fam.name])),
                ]
            )
            route_sample_weight(model).fit(f_train, y01[train], sample_weight=w[train])
            outputs[(fam.name, c_no)] = native_output(model, f_test)
    return outputs


def select_model(
    X: pd.DataFrame,
    y: Any,
    sample_weight: Any,
    families: Sequence[ModelFamily],
    *,
    features: BaseEstimator,
    cv_repeats: int = 2,
    cv_folds: int = 3,
    n_candidates: int = 4,
    calibration_methods: Sequence[str] = CALIBRATION_METHODS,
    selection_metric: str = "brier",
    seed: int = 0,
    n_jobs: int = 1,
    calibration_folds: int | None = None,
) -> SelectionResult:
    """Choose family, hyper-parameters and calibration by repeated stratified CV.

    Parameters
    ----------
    X : DataFrame
        Training patients (input of the feature step), one row per patient.
    y : array-like of 0/1
        Outcome (relapse by the horizon).
    sample_weight : array-like or None
        IPCW weights, used in every fit, calibrator and score.
    families : sequence of ModelFamily
        Candidate families (:func:`load_model_families`).
    features : transformer
        Unfitted feature step; after ``fit`` it has ``feature_catalogue_``.
    cv_repeats, cv_folds : int
        ``RepeatedStratifiedKFold`` shape; ``cv_folds`` is also the number of
        folds the champion's calibrator is fitted with.
    n_candidates : int
        Random-search candidates per family (seeded ``ParameterSampler``).
    calibration_methods : sequence of {"sigmoid", "isotonic"}
        Methods compared by CV.
    selection_metric : {"brier", "auroc", "log_loss"}
        Declared metric choosing candidates, calibration and champion.
    seed : int
        Seeds folds, candidate sampling and every estimator.
    calibration_folds : int, optional
        Folds of the out-of-fold outputs the champion's calibration map is fitted
        on (default ``cv_folds``). More folds make the fold models closer to the
        final refit, so the calibration map fitted on their outputs suits it.
    n_jobs : int
        Processes over CV splits. Every fit runs single-threaded (OpenMP and
        BLAS limited to one thread), so results do not depend on ``n_jobs``.

    Returns
    -------
    SelectionResult
    """
    y01, w = _check_inputs(y, sample_weight, families, calibration_methods, selection_metric)
    candidates = {
        fam.name: fam.sample_candidates(n_candidates, derive_seed(seed, 1, i))
        for i, fam in enumerate(families)
    }
    fam_seed = {fam.name: derive_seed(seed, 2, i) for i, fam in enumerate(families)}
    splitter = RepeatedStratifiedKFold(
        n_splits=int(cv_folds), n_repeats=int(cv_repeats), random_state=derive_seed(seed, 3)
    )
    splits = list(splitter.split(np.zeros(len(y01)), y01))
    # One thread per fit: fixed arithmetic order (determinism) and no OpenMP
    # spin-waiting when the two cores are shared. Routing carries the IPCW
    # weights to the classifier step (sklearn's Parallel passes the setting on).
    with threadpool_limits(limits=1), config_context(enable_metadata_routing=True):
        per_split = Parallel(n_jobs=int(n_jobs))(
            delayed(_fold_outputs)(X, y01, w, train, test, features, families, candidates, fam_seed)
            for train, test in splits
        )
        fold_scores = _cross_fitted_scores(
            splits, per_split, y01, w, int(cv_folds), calibration_methods
        )
        table = _summarise(fold_scores, families, candidates, calibration_methods, selection_metric)
        chosen = table[table["chosen"]].iloc[0]
        family = next(f for f in families if f.name == chosen["family"])
        best_params = {
            row["family"]: json.loads(row["params"])
            for _, row in table[table["family_best"]].iterrows()
        }
        catalogue = fit_feature_catalogue(features, X)
        pipeline = build_pipeline(
            features, catalogue, family, best_params[family.name], fam_seed[family.name]
        )
        model = fit_calibrated_classifier(
            pipeline,
            X,
            y01,
            w,
            method=str(chosen["calibration"]),
            folds=int(calibration_folds or cv_folds),
            random_state=derive_seed(seed, 4),
            n_jobs=n_jobs,
        )
    return SelectionResult(
        candidates=table,
        fold_scores=fold_scores,
        best_params=best_params,
        chosen_family=family.name,
        calibration_method=str(chosen["calibration"]),
        selection_metric=selection_metric,
        model=model,
        catalogue=catalogue,
    )


def _cross_fitted_scores(
    splits: list[tuple[np.ndarray, np.ndarray]],
    per_split: list[dict[tuple[str, int], np.ndarray]],
    y01: np.ndarray,
    w: np.ndarray,
    cv_folds: int,
    methods: Sequence[str],
) -> pd.DataFrame:
    """Score each fold with calibrators fitted on the other folds' out-of-fold outputs."""
    oof: dict[tuple[str, int, int], np.ndarray] = {}
    for split_no, ((_, test), outputs) in enumerate(zip(splits, per_split, strict=True)):
        repeat = split_no // cv_folds
        for (fam_name, c_no), m in outputs.items():
            oof.setdefault((fam_name, c_no, repeat), np.full(len(y01), np.nan))[test] = m
    rows = []
    for split_no, (train, test) in enumerate(splits):
        repeat, fold = divmod(split_no, cv_folds)
        for fam_name, c_no in per_split[split_no]:
            native = oof[(fam_name, c_no, repeat)]
            for method in methods:
                calibrator = fit_calibrator(native[train], y01[train], w[train], method)
                risk = apply_calibrator(calibrator, native[test])
                rows.append(
                    {"family": fam_name, "candidate": c_no, "calibration": method}
                    | {"repeat": repeat, "fold": fold}
                    | weighted_scores(y01[test], risk, w[test])
                )
    return pd.DataFrame(rows)


def _summarise(
    fold_scores: pd.DataFrame,
    families: Sequence[ModelFamily],
    candidates: dict[str, list[dict[str, Any]]],
    methods: Sequence[str],
    metric: str,
) -> pd.DataFrame:
    keys = ["family", "candidate", "calibration"]
    grouped = fold_scores.groupby(keys, sort=False)
    table = grouped[list(SELECTION_METRICS)].agg(["mean", "std"])
    table.columns = [f"{m}_{'sd' if s == 'std' else s}" for m, s in table.columns]
    table = table.reset_index()
    table.insert(3, "n_splits", grouped.size().to_numpy())
    table.insert(
        2,
        "params",
        [
            json.dumps(candidates[f][c], sort_keys=True)
            for f, c in zip(table["family"], table["candidate"], strict=True)
        ],
    )
    # Deterministic order: declared metric, then Brier, then declaration order.
    sign = -1.0 if SELECTION_METRICS[metric] else 1.0
    order = {f.name: i for i, f in enumerate(families)}
    table["_primary"] = sign * table[f"{metric}_mean"]
    table["_family"] = table["family"].map(order)
    table["_method"] = table["calibration"].map({m: i for i, m in enumerate(methods)})
    table = table.sort_values(
        ["_primary", "brier_mean", "_family", "candidate", "_method"], kind="mergesort"
    ).reset_index(drop=True)
    table["family_best"] = ~table.duplicated("family")
    table["chosen"] = False
    table.loc[0, "chosen"] = True
    return table.drop(columns=["_primary", "_family", "_method"])
