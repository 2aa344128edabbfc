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

from relapse_ml.artifact import RelapseRiskModel
from relapse_ml.explain import cohort_explanations
from relapse_ml.modeling import SelectionResult
from relapse_ml.schema import load_contract
from relapse_ml.task import LandmarkTask
from relapse_ml.training.config import TrainConfig
from relapse_ml.training.steps import (
    build_artifact,
    evaluate_on_test,
    fit_champion,
    held_out_tables_and_figures,
    run_parameters,
    task_data,
)


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
        Folder of model-family YAML specs (default: the shipped ``models/``).

    Returns
    -------
    TrainingResult
    """
    schema_version = load_contract().version
    data = task_data(patients, measurements, outcomes, config)
    selection = fit_champion(data, config, families_dir)
    evaluation = evaluate_on_test(data, selection, config, truth)
    tables, figures = held_out_tables_and_figures(data, selection, evaluation, config)
    artifact = build_artifact(data, selection, evaluation, config, schema_version)
    x_test = data.rows(data.test)
    explain_tables, explain_figures = cohort_explanations(artifact, x_test)
    return TrainingResult(
        model=artifact,
        task=data.task,
        selection=selection,
        params=run_parameters(data, selection, config, schema_version),
        metrics=evaluation.metrics,
        tables={**explain_tables, **tables},
        figures={**figures, **explain_figures},
        warnings=evaluation.warnings,
        test_risk=evaluation.risk,
        test_label=evaluation.label,
        test_weight=evaluation.weight,
        test_input=x_test,
    )
