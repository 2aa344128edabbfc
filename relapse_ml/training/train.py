"""Train and evaluate the relapse model: pure steps from typed tables to a result.

No file I/O and no MLflow here (``workflows/train.py`` does both): the function
takes validated tables and a :class:`TrainConfig` and returns the artifact, the
metrics with confidence intervals, tables and figures for the run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from relapse_ml.artifact import RelapseRiskModel, RiskBands
from relapse_ml.artifact.reference import build_training_reference
from relapse_ml.config import TrainConfig
from relapse_ml.evaluation import (
    METRIC_NAMES,
    auroc,
    metrics_with_ci,
    net_benefit_table,
    riley_minimum_sample_size,
    subgroup_metrics,
)
from relapse_ml.evaluation.plots import calibration_figure, decision_curve_figure, roc_figure
from relapse_ml.evaluation.subgroups import publishable_subgroups
from relapse_ml.explain import cohort_explanations, extend_reference
from relapse_ml.features import LandmarkFeatures, attach_measurements, catalogue_frame
from relapse_ml.modeling import (
    SelectionResult,
    clinical_baseline_model,
    count_candidate_parameters,
    default_model_families,
    load_model_families,
    select_model,
    split_train_test,
)
from relapse_ml.schema import load_contract
from relapse_ml.task import LandmarkTask, build_landmark_task

# Riley et al. (BMJ 2020) criteria need an anticipated model performance; a
# C-statistic of 0.75 is a typical published figure for relapse after CAR T
# (domain.md section 7: 0.68-0.82).
ANTICIPATED_C_STATISTIC = 0.75


def package_version() -> str:
    """Installed relapse-ml version ("unknown" when run from a bare checkout)."""
    try:
        return version("relapse-ml")
    except PackageNotFoundError:
        return "unknown"


@dataclass
class TrainingResult:
    """Everything a training run produces (logged by the workflow).

    Attributes
    ----------
    model : RelapseRiskModel
        The artifact to serve.
    task : LandmarkTask
        The landmark task (labels, weights, counts).
    selection : SelectionResult
        CV results of every candidate.
    params : dict of str to str
        Run parameters (config, task, schema and package versions, split counts).
    metrics : dict of str to float
        Test metrics with CIs, baseline and (when truth is given) oracle figures.
    tables : dict of str to DataFrame
        Candidates, subgroups, decision curve, feature catalogue.
    figures : dict of str to Figure
        ROC, calibration and decision-curve plots.
    warnings : list of str
        Sample-size and data warnings for the log and the model card.
    test_risk, test_label, test_weight : ndarray
        Test-split predictions (no identifiers), for cohort-level explanations.
    test_input : DataFrame
        Test patients' model input (kept in memory only, never logged).
    """

    model: RelapseRiskModel
    task: LandmarkTask
    selection: SelectionResult
    params: dict[str, str]
    metrics: dict[str, float]
    tables: dict[str, pd.DataFrame]
    figures: dict[str, Figure]
    warnings: list[str] = field(default_factory=list)
    test_risk: np.ndarray | None = None
    test_label: np.ndarray | None = None
    test_weight: np.ndarray | None = None
    test_input: pd.DataFrame | None = None


def _task_tables(
    patients: pd.DataFrame, measurements: pd.DataFrame, task: LandmarkTask
) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = pd.Index(patients["patient_id"].astype(str)).get_indexer(task.patient_ids)
    if (order < 0).any():
        missing = np.asarray(task.patient_ids)[order < 0][:5]
        raise ValueError(
            f"outcomes name patients missing from the patients table: {', '.join(missing)}"
        )
    task_patients = patients.iloc[order].reset_index(drop=True)
    task_measurements = measurements[measurements["patient_id"].isin(set(task.patient_ids))]
    return task_patients, task_measurements


def _sample_size_warnings(
    model, y: np.ndarray, w: np.ndarray
) -> tuple[list[str], dict[str, float]]:
    n_parameters = count_candidate_parameters(model)
    events = float(min(w[y == 1].sum(), w[y == 0].sum()))
    prevalence = float(np.average(y, weights=w))
    riley = riley_minimum_sample_size(n_parameters, prevalence, c_statistic=ANTICIPATED_C_STATISTIC)
    epp = events / max(n_parameters, 1)
    figures = {
        "sample_size_n_parameters": float(n_parameters),
        "sample_size_events_per_parameter": epp,
        "sample_size_riley_n_required": float(riley.n_required),
        "sample_size_n_train": float(len(y)),
    }
    warnings = []
    if len(y) < riley.n_required:
        warnings.append(
            f"Sample size below Riley et al. (BMJ 2020) criteria: {len(y)} training patients for "
            f"{n_parameters} candidate parameters needs >= {riley.n_required} (prevalence {prevalence:.2f}, "
            f"anticipated C {ANTICIPATED_C_STATISTIC}); events per parameter {epp:.1f}. Expect optimism; "
            "rely on the calibration slope and CIs."
        )
    return warnings, figures


def _prefixed(prefix: str, values: dict[str, float]) -> dict[str, float]:
    return {f"{prefix}{k}": v for k, v in values.items()}


def train_relapse_model(
    patients: pd.DataFrame,
    measurements: pd.DataFrame,
    outcomes: pd.DataFrame,
    config: TrainConfig,
    *,
    truth: pd.DataFrame | None = None,
    families_dir: Path | None = None,
) -> TrainingResult:
    """Build the landmark task, select and calibrate a model, evaluate it on held-out patients.

    Parameters
    ----------
    patients, measurements, outcomes : DataFrame
        Canonical typed tables (validated) of the training cohort.
    config : TrainConfig
        Training options (task, split, selection, evaluation, bands, seed).
    truth : DataFrame, optional
        The simulator's ``truth.csv`` (``patient_id``, ``true_risk``): adds oracle metrics.
    families_dir : Path, optional
        Folder of model-family YAML specs (default: the packaged specs).

    Returns
    -------
    TrainingResult
    """
    contract = load_contract()
    seed = config.seed
    task = build_landmark_task(
        outcomes, config.landmark_day, config.task.horizon_days, config.task.censoring
    )
    task_patients, task_measurements = _task_tables(patients, measurements, task)
    model_input = attach_measurements(task_patients, task_measurements)
    y, w = np.asarray(task.label, dtype=int), np.asarray(task.weight, dtype=float)
    train_idx, test_idx = split_train_test(
        task_patients,
        y,
        strategy=config.split.strategy,
        test_fraction=config.split.test_fraction,
        seed=seed,
        test_sites=list(config.split.test_sites) or None,
    )
    families = load_model_families(families_dir) if families_dir else default_model_families()
    families = [f for f in families if f.name in config.selection.families]
    features = LandmarkFeatures.from_config(config.features)
    x_train, x_test = (
        model_input.iloc[train_idx].reset_index(drop=True),
        model_input.iloc[test_idx].reset_index(drop=True),
    )
    selection = select_model(
        x_train,
        y[train_idx],
        w[train_idx],
        families,
        features=features,
        cv_repeats=config.selection.cv_repeats,
        cv_folds=config.selection.cv_folds,
        n_candidates=config.selection.n_candidates,
        calibration_methods=config.selection.calibration_methods,
        selection_metric=config.selection.selection_metric,
        seed=seed,
        calibration_folds=config.selection.calibration_folds,
    )
    classifier = selection.model
    y_test, w_test = y[test_idx], w[test_idx]
    risk_test = classifier.predict_proba(x_test)[:, 1]
    metrics = metrics_with_ci(
        y_test, risk_test, w_test, seed=seed, n_boot=config.evaluation.n_bootstrap
    )

    baseline = clinical_baseline_model(landmark_day=config.landmark_day, random_state=seed)
    baseline.fit(x_train, y[train_idx], classifier__sample_weight=w[train_idx])
    baseline_risk = baseline.predict_proba(x_test)[:, 1]
    baseline_metrics = metrics_with_ci(
        y_test, baseline_risk, w_test, seed=seed, n_boot=config.evaluation.n_bootstrap
    )
    metrics.update(_prefixed("baseline_", baseline_metrics))
    metrics["auroc_gain_over_baseline"] = metrics["auroc"] - metrics["baseline_auroc"]

    if truth is not None and "true_risk" in truth:
        true_risk = truth.set_index(truth["patient_id"].astype(str))["true_risk"]
        oracle = true_risk.reindex(np.asarray(task.patient_ids)[test_idx]).to_numpy(dtype=float)
        known = np.isfinite(oracle)
        if known.any():
            metrics["oracle_auroc"] = auroc(y_test[known], oracle[known], w_test[known])
            metrics["auroc_oracle_ratio"] = metrics["auroc"] / metrics["oracle_auroc"]

    warnings, size_figures = _sample_size_warnings(classifier, y[train_idx], w[train_idx])
    metrics.update(size_figures)

    test_frame = task_patients.iloc[test_idx].reset_index(drop=True)
    sub = subgroup_metrics(
        test_frame.assign(y=y_test, p=risk_test, w=w_test),
        by=[c for c in config.evaluation.subgroups if c in test_frame],
        min_events=config.evaluation.subgroup_min_events,
    )
    decision = net_benefit_table(
        y_test, risk_test, w_test, thresholds=np.asarray(config.evaluation.decision_thresholds)
    )
    train_features = pd.DataFrame(
        classifier.estimator_.named_steps["features"].transform(x_train),
        columns=[s.name for s in selection.catalogue],
    )
    reference = build_training_reference(
        train_features,
        selection.catalogue,
        task_patients["disease"].iloc[train_idx].reset_index(drop=True),
        preprocessed=classifier.estimator_.named_steps["preprocess"].transform(train_features),
    )
    reference = extend_reference(reference, train_features, selection.catalogue)
    # 1st to 99th percentile: the 0th and 100th would be single patients' risks.
    reference["training_risk_quantiles"] = np.quantile(
        classifier.predict_proba(x_train)[:, 1], np.r_[0.01, np.linspace(0.05, 0.95, 19), 0.99]
    )
    bands = RiskBands(
        tuple(config.risk_bands.thresholds),
        tuple(config.risk_bands.labels),
        config.risk_bands.rationale,
    )
    headline = {
        k: float(metrics[k])
        for k in metrics
        if k.split("_ci_")[0] in METRIC_NAMES and not k.startswith("baseline")
    }
    artifact = RelapseRiskModel(
        classifier=classifier,
        catalogue=tuple(selection.catalogue),
        landmark_day=config.landmark_day,
        horizon_days=config.task.horizon_days,
        schema_version=contract.version,
        package_version=package_version(),
        family=selection.chosen_family,
        calibration_method=selection.calibration_method,
        risk_bands=bands,
        reference=reference,
        trained_at=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        metrics=headline,
        model_name=config.registered_name,
    )
    params = {
        **config.to_params(),
        **{f"task.{k}": str(v) for k, v in task.to_params().items()},
        "schema_version": str(contract.version),
        "package_version": package_version(),
        "landmark_day": str(config.landmark_day),
        "horizon_days": str(config.task.horizon_days),
        "censoring_rule": task.censoring_rule,
        "split.n_train": str(len(train_idx)),
        "split.n_test": str(len(test_idx)),
        "chosen_family": selection.chosen_family,
        "calibration_method": selection.calibration_method,
        "n_features": str(len(selection.catalogue)),
    }
    figures = {
        "roc.png": roc_figure(y_test, risk_test, w_test, title="ROC, held-out test patients"),
        "calibration.png": calibration_figure(
            y_test, risk_test, w_test, title="Calibration, held-out test patients"
        ),
        "decision_curve.png": decision_curve_figure(
            decision, title="Decision curve, held-out test patients"
        ),
    }
    explain_tables, explain_figures = cohort_explanations(artifact, x_test)
    figures.update(explain_figures)
    tables = {
        **explain_tables,
        "cv_candidates.csv": selection.candidates,
        # Published form: counts below 10 (and any that would reveal them) hidden.
        "subgroup_metrics.csv": publishable_subgroups(sub),
        "decision_curve.csv": decision,
        "feature_catalogue.csv": catalogue_frame(selection.catalogue),
    }
    return TrainingResult(
        model=artifact,
        task=task,
        selection=selection,
        params=params,
        metrics={k: float(v) for k, v in metrics.items()},
        tables=tables,
        figures=figures,
        warnings=warnings,
        test_risk=risk_test,
        test_label=y_test,
        test_weight=w_test,
        test_input=x_test,
    )
