"""The named steps of training, each a pure function of typed inputs.

:func:`relapse_ml.training.train.train_relapse_model` runs them in order:
:func:`task_data` (who is at risk, labels, weights, the held-out split) ->
:func:`fit_champion` (selection and calibration on the training split) ->
:func:`evaluate_on_test` (metrics with CIs, baseline, oracle, sample size) ->
:func:`held_out_tables_and_figures` -> :func:`build_artifact` -> :func:`run_parameters`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import config_context

from relapse_ml._version import package_version
from relapse_ml.artifact import RelapseRiskModel
from relapse_ml.artifact.reference import build_training_reference
from relapse_ml.evaluation import (
    METRIC_NAMES,
    auroc,
    events_per_parameter,
    metrics_with_ci,
    minority_events,
    net_benefit_table,
    riley_minimum_sample_size,
    subgroup_metrics,
)
from relapse_ml.evaluation.plots import calibration_figure, decision_curve_figure, roc_figure
from relapse_ml.evaluation.subgroups import DISCLOSURE_MIN, LARGE, SMALL, publishable_subgroups
from relapse_ml.features import LandmarkFeatures, attach_measurements, catalogue_frame
from relapse_ml.modeling import (
    SelectionResult,
    clinical_baseline_model,
    count_candidate_parameters,
    default_model_families,
    fitted_pipeline,
    load_model_families,
    route_sample_weight,
    select_model,
    split_train_test,
)
from relapse_ml.modeling.incidence import IncidenceCurve
from relapse_ml.task import LandmarkTask, build_landmark_task
from relapse_ml.training.config import TrainConfig

# Riley et al. (BMJ 2020) criteria need an anticipated model performance; a
# C-statistic of 0.75 is a typical published figure for relapse after CAR T
# (domain.md section 7: 0.68-0.82).
ANTICIPATED_C_STATISTIC = 0.75


@dataclass(frozen=True)
class TaskData:
    """One landmark's task at the primary horizon, and everyone at risk at that landmark.

    ``patients``, ``model_input``, ``label``, ``weight``, ``train`` and ``test`` are the
    task's rows (known label at the primary horizon); ``at_risk_*`` hold every patient
    alive, relapse-free and in follow-up at the landmark (the curve and the other
    horizons need them), with ``at_risk_test`` marking the held-out ones.
    """

    task: LandmarkTask
    patients: pd.DataFrame
    model_input: pd.DataFrame
    label: np.ndarray
    weight: np.ndarray
    train: np.ndarray
    test: np.ndarray
    at_risk_input: pd.DataFrame
    at_risk_outcomes: pd.DataFrame
    at_risk_test: np.ndarray

    @property
    def landmark_day(self) -> int:
        """The landmark day L of this task."""
        return self.task.landmark_day

    def rows(self, which: np.ndarray) -> pd.DataFrame:
        """Model input of the task's patients at positions ``which``."""
        return self.model_input.iloc[which].reset_index(drop=True)


def held_out_patients(
    patients: pd.DataFrame, outcomes: pd.DataFrame, config: TrainConfig
) -> frozenset[str]:
    """The held-out patients, chosen once among those at risk at the first landmark.

    Every landmark's task and every horizon use this one split, so no patient trains a
    model at one landmark and tests another's. Stratified by relapse by the primary
    horizon (a patient censored earlier counts as 0 for the stratification only).
    """
    at_risk, at_risk_patients = _at_risk(patients, outcomes, config.landmark_day)
    ids = at_risk["patient_id"].astype(str).to_numpy()
    stratum = (
        at_risk["relapse"].to_numpy(dtype=bool)
        & (pd.to_numeric(at_risk["time_days"]).to_numpy() <= config.task.horizon_days)
    ).astype(int)
    _, test = split_train_test(
        at_risk_patients,
        stratum,
        strategy=config.split.strategy,
        test_fraction=config.split.test_fraction,
        seed=config.seed,
        test_sites=list(config.split.test_sites) or None,
    )
    return frozenset(ids[test])


def _at_risk(
    patients: pd.DataFrame, outcomes: pd.DataFrame, landmark_day: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Outcomes of the patients in follow-up after ``landmark_day``, and their patients rows."""
    at_risk = outcomes[pd.to_numeric(outcomes["time_days"]) > landmark_day].reset_index(drop=True)
    ids = at_risk["patient_id"].astype(str)
    order = pd.Index(patients["patient_id"].astype(str)).get_indexer(ids)
    if (order < 0).any():
        missing = ids[order < 0].head(5)
        raise ValueError(
            f"outcomes name patients missing from the patients table: {', '.join(missing)}"
        )
    return at_risk, patients.iloc[order].reset_index(drop=True)


def task_data(
    patients: pd.DataFrame,
    measurements: pd.DataFrame,
    outcomes: pd.DataFrame,
    config: TrainConfig,
    *,
    landmark_day: int,
    test_ids: frozenset[str],
) -> TaskData:
    """Who is at risk at ``landmark_day``, their label by the primary horizon and weight."""
    task = build_landmark_task(
        outcomes, landmark_day, config.task.horizon_days, config.task.censoring
    )
    at_risk, at_risk_patients = _at_risk(patients, outcomes, landmark_day)
    at_risk_ids = at_risk["patient_id"].astype(str)
    at_risk_input = attach_measurements(
        at_risk_patients, measurements[measurements["patient_id"].isin(set(at_risk_ids))]
    )
    rows = pd.Index(at_risk_ids).get_indexer(task.patient_ids)
    in_test = pd.Index(task.patient_ids).isin(test_ids)
    return TaskData(
        task=task,
        patients=at_risk_patients.iloc[rows].reset_index(drop=True),
        model_input=at_risk_input.iloc[rows].reset_index(drop=True),
        label=np.asarray(task.label, dtype=int),
        weight=np.asarray(task.weight, dtype=float),
        train=np.flatnonzero(~in_test),
        test=np.flatnonzero(in_test),
        at_risk_input=at_risk_input,
        at_risk_outcomes=at_risk,
        at_risk_test=at_risk_ids.isin(test_ids).to_numpy(),
    )


def fit_champion(
    data: TaskData, config: TrainConfig, families_dir: Path | None, *, n_jobs: int = 1
) -> SelectionResult:
    """Select the family, hyper-parameters and calibration by CV; refit on the training split."""
    available = load_model_families(families_dir) if families_dir else default_model_families()
    by_name = {family.name: family for family in available}
    unknown = [name for name in config.selection.families if name not in by_name]
    if unknown:
        raise ValueError(f"unknown model families {unknown}; known: {sorted(by_name)}")
    selection = config.selection
    return select_model(
        data.rows(data.train),
        data.label[data.train],
        data.weight[data.train],
        [by_name[name] for name in selection.families],
        features=LandmarkFeatures.from_config(config.features_at(data.landmark_day)),
        cv_repeats=selection.cv_repeats,
        cv_folds=selection.cv_folds,
        n_candidates=selection.n_candidates,
        calibration_methods=selection.calibration_methods,
        selection_metric=selection.selection_metric,
        seed=config.seed,
        calibration_folds=selection.calibration_folds,
        n_jobs=n_jobs,
    )


@dataclass(frozen=True)
class HeldOutEvaluation:
    """The champion on the held-out patients: risks and metrics, and the sample-size warnings."""

    risk: np.ndarray
    label: np.ndarray
    weight: np.ndarray
    metrics: dict[str, float]
    warnings: list[str]


def evaluate_on_test(
    data: TaskData,
    selection: SelectionResult,
    config: TrainConfig,
    truth: pd.DataFrame | None = None,
) -> HeldOutEvaluation:
    """Test metrics with CIs, the clinical baseline's, the oracle's, and sample-size figures."""
    y, w, seed, n_boot = data.label, data.weight, config.seed, config.evaluation.n_bootstrap
    x_test = data.rows(data.test)
    y_test, w_test = y[data.test], w[data.test]
    risk = selection.model.predict_proba(x_test)[:, 1]
    metrics = metrics_with_ci(y_test, risk, w_test, seed=seed, n_boot=n_boot)
    baseline = route_sample_weight(
        clinical_baseline_model(landmark_day=data.landmark_day, random_state=seed)
    )
    with config_context(enable_metadata_routing=True):
        baseline.fit(data.rows(data.train), y[data.train], sample_weight=w[data.train])
    baseline_risk = baseline.predict_proba(x_test)[:, 1]
    for name, value in metrics_with_ci(
        y_test, baseline_risk, w_test, seed=seed, n_boot=n_boot
    ).items():
        metrics[f"baseline_{name}"] = value
    metrics["auroc_gain_over_baseline"] = metrics["auroc"] - metrics["baseline_auroc"]
    oracle = true_incidence(truth, data.landmark_day, config.task.horizon_days)
    if oracle is not None:
        oracle = oracle.reindex(np.asarray(data.task.patient_ids)[data.test]).to_numpy(dtype=float)
        known = np.isfinite(oracle)
        if known.any():
            metrics["oracle_auroc"] = auroc(y_test[known], oracle[known], w_test[known])
            metrics["auroc_oracle_ratio"] = metrics["auroc"] / metrics["oracle_auroc"]
    warnings, size_figures = sample_size_check(selection, y[data.train], w[data.train])
    metrics.update(size_figures)
    metrics = {k: float(v) for k, v in metrics.items()}
    return HeldOutEvaluation(risk, y_test, w_test, metrics, warnings)


def true_incidence(truth: pd.DataFrame | None, landmark_day: int, horizon: int) -> pd.Series | None:
    """The simulator's true relapse incidence at (L, H) by patient_id, when it has one.

    ``true_risk_L{L}_H{H}`` (simulator of contract version 2), or ``true_risk`` for the
    day-28 landmark and day-365 horizon it always meant.
    """
    if truth is None:
        return None
    column = f"true_risk_L{landmark_day}_H{horizon}"
    if column not in truth and (landmark_day, horizon) == (28, 365):
        column = "true_risk"
    if column not in truth:
        return None
    return truth.set_index(truth["patient_id"].astype(str))[column]


def sample_size_check(
    selection: SelectionResult, y: np.ndarray, w: np.ndarray
) -> tuple[list[str], dict[str, float]]:
    """Riley et al. (BMJ 2020) minimum sample size and events per parameter of the champion."""
    n_parameters = count_candidate_parameters(selection.model)
    prevalence = float(np.average(y, weights=w))
    riley = riley_minimum_sample_size(n_parameters, prevalence, c_statistic=ANTICIPATED_C_STATISTIC)
    epp = events_per_parameter(minority_events(y, w), max(n_parameters, 1))
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


def held_out_tables_and_figures(
    data: TaskData, selection: SelectionResult, evaluation: HeldOutEvaluation, config: TrainConfig
) -> tuple[dict[str, pd.DataFrame], dict[str, object]]:
    """Subgroups (published form), decision curve, candidates, catalogue; ROC, calibration, DCA."""
    y, p, w = evaluation.label, evaluation.risk, evaluation.weight
    test_patients = data.patients.iloc[data.test].reset_index(drop=True)
    subgroups = subgroup_metrics(
        test_patients.assign(y=y, p=p, w=w),
        by=[c for c in config.evaluation.subgroups if c in test_patients],
        min_events=config.evaluation.subgroup_min_events,
    )
    thresholds = np.asarray(config.evaluation.decision_thresholds)
    decision = net_benefit_table(y, p, w, thresholds=thresholds)
    tables = {
        "cv_candidates.csv": selection.candidates,
        # Published form: counts below 10 (and any that would reveal them) hidden.
        "subgroup_metrics.csv": publishable_subgroups(subgroups),
        "decision_curve.csv": decision,
        "feature_catalogue.csv": catalogue_frame(selection.catalogue),
    }
    where = "held-out test patients"
    figures = {
        "roc.png": roc_figure(y, p, w, title=f"ROC, {where}"),
        "calibration.png": calibration_figure(y, p, w, title=f"Calibration, {where}"),
        "decision_curve.png": decision_curve_figure(decision, title=f"Decision curve, {where}"),
    }
    return tables, figures


def build_artifact(
    data: TaskData, selection: SelectionResult, evaluation: HeldOutEvaluation, config: TrainConfig,
    schema_version: int, curve: IncidenceCurve | None = None,
) -> RelapseRiskModel:  # fmt: skip
    """The served model at one landmark: champion, curve, catalogue, reference, bands, metrics."""
    classifier = selection.model
    steps = fitted_pipeline(classifier).named_steps
    x_train = data.rows(data.train)
    train_features = pd.DataFrame(
        steps["features"].transform(x_train), columns=[s.name for s in selection.catalogue]
    )
    reference = build_training_reference(
        train_features,
        selection.catalogue,
        data.patients["disease"].iloc[data.train].reset_index(drop=True),
        preprocessed=steps["preprocess"].transform(train_features),
    )
    return RelapseRiskModel(
        classifier=classifier,
        catalogue=tuple(selection.catalogue),
        landmark_day=data.landmark_day,
        horizon_days=config.task.horizon_days,
        schema_version=schema_version,
        package_version=package_version(),
        family=selection.chosen_family,
        calibration_method=selection.calibration_method,
        risk_bands=config.risk_bands.for_landmark(data.landmark_day),
        reference=reference,
        trained_at=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        metrics={k: v for k, v in evaluation.metrics.items() if headline_metric(k)},
        model_name=config.registered_name,
        horizons_days=tuple(config.task.horizons_days),
        curve=curve,
    )


def headline_metric(name: str) -> bool:
    """Is ``name`` a headline test metric or one of its CI bounds (``auroc``, ``auroc_ci_low``)?"""
    return name.split("_ci_")[0] in METRIC_NAMES


def run_parameters(
    data: TaskData, selection: SelectionResult, config: TrainConfig, schema_version: int
) -> dict[str, str]:
    """The run's parameters: the recipe, the task and its counts, versions, split, champion."""
    return {
        **config.to_params(),
        **{f"task.{k}": v for k, v in published_task_params(data.task).items()},
        "schema_version": str(schema_version),
        "package_version": package_version(),
        "landmark_day": str(config.landmark_day),
        "landmarks_days": ",".join(str(d) for d in config.task.landmarks_days),
        "horizon_days": str(config.task.horizon_days),
        "horizons_days": ",".join(str(h) for h in config.task.horizons_days),
        "censoring_rule": data.task.censoring_rule,
        "split.n_train": str(len(data.train)),
        "split.n_test": str(len(data.test)),
        "chosen_family": selection.chosen_family,
        "calibration_method": selection.calibration_method,
        "n_features": str(len(selection.catalogue)),
    }


def published_task_params(task: LandmarkTask) -> dict[str, str]:
    """The task's parameters as they may leave the centre: no count from 1 to 9.

    The counts add up to each other (events + non-events = task, task + censored = at
    risk, ...), so hiding one small count alone would let it be recovered by
    subtraction: when any count is from 1 to 9, every count is written ``"<10"`` or
    ``">=10"`` (0, which discloses nobody, stays exact).
    """
    params = task.to_params()
    counts = {k: v for k, v in params.items() if k.startswith("n_")}
    coarse = any(0 < int(v) < DISCLOSURE_MIN for v in counts.values())
    published = {k: str(v) for k, v in params.items()}
    if coarse:
        published.update({k: published_count(v, coarse=True) for k, v in counts.items()})
    return published


def published_count(count: int, *, coarse: bool = False) -> str:
    """One count as it may leave the centre: ``"<10"`` from 1 to 9, else exact.

    ``coarse`` also writes counts of 10 or more as ``">=10"`` (for counts that add up
    to others, see :func:`published_task_params`); 0 stays exact.
    """
    if count == 0 or (count >= DISCLOSURE_MIN and not coarse):
        return str(count)
    return SMALL if count < DISCLOSURE_MIN else LARGE
