"""Which relapse: the conditional model of antigen-negative relapse, and its evaluation.

At a landmark L and the primary horizon P, the relapse risk ``r`` splits into
``risk_antigen_negative = r q`` and ``risk_antigen_positive = r (1 - q)`` with
``q = P(antigen-negative | relapse in (L, P])``. This choice (rather than two
cause-specific models) keeps the two risks adding up to the explained, calibrated
``risk`` exactly, and needs a model of only the relapses, whose antigen status is the
label: it is fitted on the training relapses in the window with a known status,
weighted by the task's inverse-probability-of-censoring weights. Its product with ``r``
is not calibrated by itself, so the run also logs ``risk_antigen_negative`` against
the observed cumulative incidence of antigen-negative relapse.

Relapses with ``unknown`` or empty ``relapse_antigen`` are neither negative nor
positive: they are left out of the fit, i.e. status is assumed missing at random
given the covariates; the observed incidence splits them by the known share. Both
the rule and the share of unknowns are logged and stated in the model card.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from relapse_ml.artifact.reference import preprocessed_means
from relapse_ml.evaluation import auroc, metrics_with_ci, subgroup_metrics
from relapse_ml.evaluation.subgroups import publishable_subgroups
from relapse_ml.features import LandmarkFeatures
from relapse_ml.modeling import family_by_name, fitted_pipeline, select_model
from relapse_ml.training.config import TrainConfig
from relapse_ml.training.steps import TaskData

ANTIGEN_COLUMN = "relapse_antigen"
UNKNOWN_RULE = (
    "relapses of unknown or missing antigen status are left out of the phenotype model "
    "(status missing at random given the covariates) and split by the known share in "
    "the observed incidence"
)


def antigen_status(data: TaskData, outcomes: pd.DataFrame) -> np.ndarray:
    """Per task row: 1 antigen-negative relapse, 0 antigen-positive, -1 unknown or no relapse."""
    by_id = outcomes.set_index(outcomes["patient_id"].astype(str))[ANTIGEN_COLUMN]
    status = by_id.reindex(np.asarray(data.task.patient_ids)).astype(object)
    code = np.where(status == "negative", 1, np.where(status == "positive", 0, -1))
    return np.where(data.label == 1, code, -1)


def fit_phenotype(data: TaskData, outcomes: pd.DataFrame, config: TrainConfig):
    """Fit ``P(antigen-negative | relapse by P)`` on the training relapses of known status.

    Returns
    -------
    classifier : CalibratedClassifierCV or None
        None when fewer than ``config.phenotype.min_known_relapses`` training relapses
        have a known status.
    note : str
        Why the phenotype part is missing (empty when fitted).
    """
    status = antigen_status(data, outcomes)
    rows = data.train[status[data.train] >= 0]
    needed = config.phenotype.min_known_relapses
    if len(rows) < needed or len(np.unique(status[rows])) < 2:
        return None, (
            f"phenotype part skipped at landmark day {data.landmark_day}: fewer than {needed} "
            "training relapses of known antigen status, or only one kind"
        )
    # Few events: the penalty is chosen by cross-validation (a fixed weak one overfits
    # and the sigmoid map cannot undo it), then calibrated out of fold.
    chosen = select_model(
        data.rows(rows),
        status[rows],
        data.weight[rows],
        [family_by_name(config.phenotype.family)],
        features=LandmarkFeatures.from_config(config.features_at(data.landmark_day)),
        cv_repeats=1,
        cv_folds=3,
        n_candidates=config.phenotype.n_candidates,
        calibration_methods=("sigmoid",),
        selection_metric="brier",
        seed=config.seed,
        calibration_folds=config.phenotype.calibration_folds,
        n_jobs=2,
    )
    return chosen.model, ""


def phenotype_means(classifier, data: TaskData, outcomes: pd.DataFrame) -> np.ndarray:
    """Column means of the phenotype model's preprocessed training relapses (its SHAP baseline).

    The exact linear explanation is relative to these means; they are averages over at
    least ``min_known_relapses`` patients, never a row.
    """
    status = antigen_status(data, outcomes)
    rows = data.train[status[data.train] >= 0]
    steps = fitted_pipeline(classifier).named_steps
    features = steps["features"].transform(data.rows(rows))
    return preprocessed_means(np.asarray(steps["preprocess"].transform(features), dtype=float))


def evaluate_phenotype(
    data: TaskData,
    outcomes: pd.DataFrame,
    risk: np.ndarray,
    negative_share: np.ndarray,
    config: TrainConfig,
    truth: pd.DataFrame | None = None,
) -> tuple[dict[str, float], pd.DataFrame]:
    """Held-out metrics of the phenotype model and of ``risk_antigen_negative``.

    Parameters
    ----------
    risk, negative_share : ndarray
        The model's risk and ``q`` for the task's held-out rows (``data.test``).

    Returns
    -------
    metrics : dict
        ``phenotype_*`` (the conditional model on held-out relapses of known status,
        with CIs), ``auroc_antigen_negative`` (cases antigen-negative relapse by P,
        controls every other patient whose status at P is known), the observed and
        mean predicted incidence of antigen-negative relapse, the unknown share, and
        the oracle when the simulator's truth is given.
    subgroups : DataFrame
        ``auroc_antigen_negative`` by target antigen (published form).
    """
    all_status = antigen_status(data, outcomes)
    status = all_status[data.test]
    y, w = data.label[data.test], data.weight[data.test]
    known = status >= 0
    metrics = {
        f"phenotype_{k}": v
        for k, v in metrics_with_ci(
            status[known], negative_share[known], w[known], seed=config.seed,
            n_boot=config.evaluation.n_bootstrap,
        ).items()
    }  # fmt: skip
    predicted = risk * negative_share
    cases = status == 1
    rows = (y == 0) | known  # relapses of unknown kind have no known status at P
    metrics["auroc_antigen_negative"] = auroc(cases[rows], predicted[rows], w[rows])
    relapse_share = float(np.average(y, weights=w))
    negative_of_known = float(np.average(cases[known], weights=w[known]))
    metrics["observed_antigen_negative_incidence"] = relapse_share * negative_of_known
    metrics["mean_predicted_antigen_negative"] = float(np.average(predicted, weights=w))
    relapses = data.label == 1
    metrics["phenotype_unknown_share"] = float(np.mean(all_status[relapses] < 0))
    oracle = _truth(truth, data)
    if oracle is not None:
        known_truth = np.isfinite(oracle[rows])
        metrics["oracle_auroc_antigen_negative"] = auroc(
            cases[rows][known_truth], oracle[rows][known_truth], w[rows][known_truth]
        )
        metrics["auroc_antigen_negative_oracle_ratio"] = (
            metrics["auroc_antigen_negative"] / metrics["oracle_auroc_antigen_negative"]
        )
    patients = data.patients.iloc[data.test].reset_index(drop=True)[rows]
    subgroups = subgroup_metrics(
        patients.assign(y=cases[rows].astype(int), p=predicted[rows], w=w[rows]),
        by=["target_antigen"],
        min_events=config.evaluation.subgroup_min_events,
    )
    return {k: float(v) for k, v in metrics.items()}, publishable_subgroups(subgroups)


def _truth(truth: pd.DataFrame | None, data: TaskData) -> np.ndarray | None:
    column = f"true_risk_antigen_negative_L{data.landmark_day}_H{data.task.horizon_days}"
    if truth is None or column not in truth:
        return None
    by_id = truth.set_index(truth["patient_id"].astype(str))[column]
    return by_id.reindex(np.asarray(data.task.patient_ids)[data.test]).to_numpy(dtype=float)
