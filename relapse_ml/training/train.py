"""Train and evaluate the relapse model: the named steps of :mod:`relapse_ml.training.steps`, in order.

No file I/O and no MLflow here (``workflows/train.py`` does both): the function
takes validated tables and a :class:`TrainConfig` and returns the artifact, the
metrics with confidence intervals, tables and figures for the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from relapse_ml.artifact import LandmarkModels, RelapseRiskModel
from relapse_ml.explain import cohort_explanations
from relapse_ml.modeling import SelectionResult
from relapse_ml.schema import load_contract
from relapse_ml.task import DEATH_COLUMN, LandmarkTask, build_landmark_task
from relapse_ml.training.config import TrainConfig
from relapse_ml.training.curves import evaluate_curve, fit_curve
from relapse_ml.training.phenotype import (
    UNKNOWN_RULE,
    evaluate_phenotype,
    fit_phenotype,
    phenotype_means,
)
from relapse_ml.training.steps import (
    HeldOutEvaluation,
    TaskData,
    build_artifact,
    evaluate_on_test,
    fit_champion,
    held_out_patients,
    held_out_tables_and_figures,
    published_task_params,
    run_parameters,
    task_data,
)

# Model selection and calibration fit their folds on both of the machine's cores
# (results do not depend on it: every fold is seeded and single-threaded).
TRAINING_PROCESSES = 2


@dataclass
class TrainingResult:
    """Everything a training run produces (logged by the workflow).

    Attributes
    ----------
    model : LandmarkModels
        The artifact to serve: one model per landmark.
    task : LandmarkTask
        The first landmark's task at the primary horizon (labels, weights, counts).
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

    model: LandmarkModels
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


def train_relapse_model(
    patients: pd.DataFrame,
    measurements: pd.DataFrame,
    outcomes: pd.DataFrame,
    config: TrainConfig,
    *,
    truth: pd.DataFrame | None = None,
    families_dir: Path | None = None,
) -> TrainingResult:
    """Train one model per landmark with its risk curve; evaluate every pair on held-out patients.

    Parameters
    ----------
    patients, measurements, outcomes : DataFrame
        Canonical typed tables (validated) of the training cohort.
    config : TrainConfig
        Training options (task, split, selection, evaluation, bands, seed).
    truth : DataFrame, optional
        The simulator's ``truth.csv`` (``patient_id``, ``true_risk``, and
        ``true_risk_L{L}_H{H}``): adds oracle metrics.
    families_dir : Path, optional
        Folder of model-family YAML specs (default: the shipped ``models/``).

    Returns
    -------
    TrainingResult
        The first landmark's primary pair gives the unsuffixed metrics (promotion
        uses them), the tables and figures; every (L, H) pair adds metrics suffixed
        ``_L{L}_H{H}`` and a row of ``risk_curve_metrics.csv``.
    """
    test_ids = held_out_patients(patients, outcomes, config)
    fits = [
        _fit_landmark(
            patients, measurements, outcomes, config, landmark, test_ids, truth, families_dir
        )
        for landmark in config.task.landmarks_days
    ]
    primary = fits[0]
    data, selection, evaluation = primary.data, primary.selection, primary.evaluation
    tables, figures = held_out_tables_and_figures(data, selection, evaluation, config)
    x_test = data.rows(data.test)
    explain_tables, explain_figures = cohort_explanations(primary.model, x_test)
    metrics = dict(evaluation.metrics)
    for fit in fits:
        metrics.update(fit.pair_metrics)
        suffix = "" if fit is primary else f"_L{fit.data.landmark_day}"
        metrics.update({f"{k}{suffix}": v for k, v in fit.phenotype_metrics.items()})
    metrics.update(_competing_shift(data.task, outcomes))
    warnings = list(evaluation.warnings)
    if data.task.competing_death == "unknown":
        warnings.append(
            "The outcomes have no death_without_relapse column (contract version 1): deaths "
            "cannot be told from loss to follow-up and are handled as censoring, so relapse "
            "risks are the censoring-only answer (too high when patients die without relapse)."
        )
    curve_table = pd.concat([fit.pair_table for fit in fits], ignore_index=True)
    warnings.extend(fit.model.phenotype_note for fit in fits if fit.model.phenotype_note)
    if not primary.phenotype_table.empty:
        tables["phenotype_subgroup_metrics.csv"] = primary.phenotype_table
    return TrainingResult(
        model=LandmarkModels(tuple(fit.model for fit in fits)),
        task=data.task,
        selection=selection,
        params=_parameters(fits, config),
        metrics=metrics,
        tables={**explain_tables, **tables, "risk_curve_metrics.csv": curve_table},
        figures={**figures, **explain_figures},
        warnings=warnings,
        test_risk=evaluation.risk,
        test_label=evaluation.label,
        test_weight=evaluation.weight,
        test_input=x_test,
    )


@dataclass(frozen=True)
class _LandmarkFit:
    data: TaskData
    selection: SelectionResult
    evaluation: HeldOutEvaluation
    model: RelapseRiskModel
    pair_metrics: dict[str, float]
    pair_table: pd.DataFrame
    phenotype_metrics: dict[str, float]
    phenotype_table: pd.DataFrame


def _fit_landmark(
    patients, measurements, outcomes, config, landmark, test_ids, truth, families_dir
) -> _LandmarkFit:
    """Task, champion, held-out evaluation, curve and served model at one landmark."""
    data = task_data(
        patients, measurements, outcomes, config, landmark_day=landmark, test_ids=test_ids
    )
    selection = fit_champion(data, config, families_dir, n_jobs=TRAINING_PROCESSES)
    evaluation = evaluate_on_test(data, selection, config, truth)
    curve = fit_curve(data, selection, config)
    model = build_artifact(
        data, selection, evaluation, config, load_contract().version, curve=curve
    )
    pair_metrics, pair_table = evaluate_curve(data, model, config, truth)
    model.phenotype, model.phenotype_note = fit_phenotype(data, outcomes, config)
    phenotype_metrics, phenotype_table = {}, pd.DataFrame()
    if model.phenotype is not None:
        model.phenotype_means = phenotype_means(model.phenotype, data, outcomes)
        x_test = data.rows(data.test)
        share = model.antigen_negative_share(model.features(x_test))
        phenotype_metrics, phenotype_table = evaluate_phenotype(
            data, outcomes, evaluation.risk, share, config, truth
        )
    return _LandmarkFit(
        data, selection, evaluation, model, pair_metrics, pair_table, phenotype_metrics,
        phenotype_table,
    )  # fmt: skip


def _competing_shift(competing: LandmarkTask, outcomes: pd.DataFrame) -> dict[str, float]:
    """Observed incidence at the task's (landmark, horizon), deaths competing or censored.

    ``competing`` is the training task itself; the same task with deaths counted as
    censoring shows how much lower the risks are now that deaths compete. Both are
    weighted shares over every patient at risk (Aalen-Johansen and Kaplan-Meier).
    """
    censored = build_landmark_task(
        outcomes.drop(columns=DEATH_COLUMN, errors="ignore"),
        competing.landmark_day,
        competing.horizon_days,
        competing.censoring_rule,
    )
    return {
        "observed_incidence_competing": float(
            np.average(competing.label, weights=competing.weight)
        ),
        "observed_incidence_censoring_only": float(
            np.average(censored.label, weights=censored.weight)
        ),
    }


def _parameters(fits: list[_LandmarkFit], config: TrainConfig) -> dict[str, str]:
    """The first landmark's run parameters, then each later landmark's champion and task."""
    primary = fits[0]
    params = run_parameters(primary.data, primary.selection, config, load_contract().version)
    for fit in fits[1:]:
        landmark, task = fit.data.landmark_day, fit.data.task
        params[f"landmark_{landmark}.chosen_family"] = fit.selection.chosen_family
        params[f"landmark_{landmark}.calibration_method"] = fit.selection.calibration_method
        params.update(
            {f"landmark_{landmark}.task.{k}": v for k, v in published_task_params(task).items()}
        )
    for fit in fits:
        landmark = fit.data.landmark_day
        params[f"phenotype.L{landmark}"] = fit.model.phenotype_note or "fitted"
    params["phenotype.unknown_status_rule"] = UNKNOWN_RULE
    return {**params, **_curve_parameters(fits)}


def _curve_parameters(fits: list[_LandmarkFit]) -> dict[str, str]:
    """Which curve factors are models and which are constant shares (too few events)."""
    out = {}
    for fit in fits:
        curve = fit.model.curve
        constant = sorted(name for name, f in curve.factors.items() if f.estimator is None)
        out[f"curve.L{fit.data.landmark_day}.constant_factors"] = ",".join(constant) or "none"
    out["curve.model"] = (
        "risk at the primary horizon from the champion; other horizons and non-relapse death as "
        "L2 logistic conditional factors in [0, 1] (monotone, adding up to at most 1)"
    )
    return out
