"""Workflow: validate a training folder, train, evaluate, log to MLflow, register.

The only layer (with the other workflows) that reads files and writes MLflow
runs; the steps it calls are pure.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

from relapse_ml._version import package_version
from relapse_ml.artifact import save_model
from relapse_ml.errors import ContractError, Problem, UserError
from relapse_ml.report.model_card import render_model_card
from relapse_ml.training import TrainingResult, train_relapse_model
from relapse_ml.training.config import TrainConfig
from relapse_ml.training.steps import headline_metric, published_count
from relapse_ml.validation import validate_folder

log = logging.getLogger(__name__)

RUNTIME_PACKAGES = (
    "scikit-learn",
    "pandas",
    "numpy",
    "scipy",
    "shap",
    "skops",
    "mlflow",
    "pyarrow",
    "matplotlib",
    "pyyaml",
    "typer",
    "threadpoolctl",
)


@dataclass(frozen=True)
class TrainSummary:
    """What ``relapse-ml train`` prints at the end."""

    run_id: str
    experiment_id: str
    tracking_uri: str
    model_uri: str
    registered_name: str
    version: str
    alias: str
    promotion_reason: str
    metrics: dict[str, float]
    n_excluded_patients: int
    warnings: tuple[str, ...]


def read_truth(folder: Path) -> pd.DataFrame | None:
    """The simulator's ``truth.csv`` when present (for oracle metrics), else None."""
    path = Path(folder) / "truth.csv"
    if not path.is_file():
        return None
    truth = pd.read_csv(path, dtype={"patient_id": str})
    if not {"patient_id", "true_risk"} <= set(truth.columns):
        raise ContractError(
            [
                Problem(
                    "structural",
                    "truth",
                    None,
                    None,
                    None,
                    "columns patient_id and true_risk",
                    ", ".join(truth.columns),
                )
            ]
        )
    return truth


def pip_requirements() -> list[str]:
    """Pinned requirements of the serving environment (relapse-ml itself included)."""
    pins = [f"relapse-ml=={package_version()}"]
    for name in RUNTIME_PACKAGES:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return pins


def synthetic_request(seed: int, n: int = 2) -> pd.DataFrame:
    """A request frame of simulated patients: the logged input example is never a real patient."""
    from relapse_ml.serving.scoring import request_frame
    from relapse_ml.simulate import simulate_cohort

    cohort = simulate_cohort(n, seed)
    relabel = {pid: f"SYNTHETIC-{i + 1:04d}" for i, pid in enumerate(cohort.patients["patient_id"])}
    patients = cohort.patients.assign(
        patient_id=cohort.patients["patient_id"].map(relabel), site="SYNTHETIC"
    )
    measurements = cohort.measurements.assign(
        patient_id=cohort.measurements["patient_id"].map(relabel)
    )
    return request_frame(patients, measurements)


def _log(
    result: TrainingResult,
    data_patients: pd.DataFrame,
    data_folder: Path,
    config: TrainConfig,
    tracking_uri: str,
    n_excluded: int,
) -> TrainSummary:
    """One MLflow run: its contents, then the model, registered and promoted by the policy."""
    from relapse_ml import tracking

    run_name = f"train-{result.params['chosen_family']}"
    with tracking.training_run(tracking_uri, config.experiment, run_name=run_name) as run:
        _log_run_contents(run, result, data_patients, data_folder, config, n_excluded)
        logged, decision = _log_and_register_model(run, result, config, tracking_uri)
    return TrainSummary(
        run_id=run.run_id,
        experiment_id=run.experiment_id,
        tracking_uri=tracking_uri,
        model_uri=logged.model_uri,
        registered_name=config.registered_name,
        version=decision.version,
        alias=decision.alias,
        promotion_reason=decision.reason,
        metrics={
            k: result.metrics[k]
            for k in result.metrics
            if headline_metric(k)
            or k.startswith(("baseline_auroc", "oracle_auroc", "auroc_oracle"))
        },
        n_excluded_patients=n_excluded,
        warnings=tuple(result.warnings),
    )


def _log_run_contents(run, result, data_patients, data_folder, config, n_excluded) -> None:
    """Parameters, metrics, tags, the dataset (by digest), figures, tables, model card."""
    run.params({**result.params, "data.n_excluded_patients": published_count(n_excluded)})
    run.metrics(result.metrics)
    run.tags(
        {
            "relapse_ml.task": (
                f"cumulative incidence of relapse (non-relapse death competing) by days "
                f"{', '.join(map(str, config.task.horizons_days))} at landmarks "
                f"{', '.join(map(str, config.task.landmarks_days))}; primary: day "
                f"{config.task.horizon_days} at landmark {config.landmark_day}"
            ),
            "relapse_ml.competing_death": result.task.competing_death,
            "relapse_ml.schema_version": str(result.model.schema_version),
        }
    )
    source = str(Path(data_folder).resolve())
    run.dataset(data_patients, name="patients", source=source, context="training")
    for name, figure in result.figures.items():
        run.figure(figure, name)
    for name, table in result.tables.items():
        run.table(table, name)
    card = render_model_card(
        name=config.registered_name,
        params=result.params,
        metrics=result.metrics,
        catalogue=result.tables["feature_catalogue.csv"],
        subgroups=result.tables["subgroup_metrics.csv"],
        warnings=result.warnings,
        family_table=result.selection.family_table(),
        curve_table=result.tables.get("risk_curve_metrics.csv"),
    )
    run.text(card, "model_card.md")
    if result.warnings:
        run.text("\n".join(result.warnings) + "\n", "warnings.txt")


def _log_and_register_model(run, result: TrainingResult, config: TrainConfig, tracking_uri: str):
    """Log the skops artifact as a pyfunc and register it; return ``(logged, decision)``."""
    from relapse_ml import tracking
    from relapse_ml.serving.rest import score_request

    with tempfile.TemporaryDirectory(prefix="relapse-ml-") as tmp:
        artifact = save_model(result.model, Path(tmp) / tracking.ARTIFACT_FILE)
        example = synthetic_request(config.seed)
        output = score_request(result.model, example)
        # The pyfunc echoes its registry version (REST answers carry it); numbers
        # are sequential, so the version this registration will get is known.
        client = tracking.client_for(tracking_uri)
        expected_version = tracking.next_model_version(client, config.registered_name)
        logged = run.model(
            artifact,
            input_example=example,
            output_example=output,
            pip_requirements=pip_requirements(),
            model_config={"model_version": expected_version},
            default_landmark=result.model.primary.landmark_day,
        )
    decision = tracking.register_and_promote(
        client,
        logged.model_uri,
        config.registered_name,
        metric=config.promotion.metric,
        new_value=result.metrics[config.promotion.metric],
        margin=config.promotion.margin,
        higher_is_better=config.promotion.higher_is_better,
        run_id=run.run_id,
        skops_sha256=logged.skops_sha256,
    )
    run.params(decision.to_params())
    if decision.version != expected_version:
        result.warnings.append(
            f"registered as version {decision.version} while the model expected "
            f"{expected_version} (a concurrent registration?): REST answers report {expected_version}"
        )
    return logged, decision


def run_train(data_folder: Path, config: TrainConfig) -> TrainSummary:
    """Train on ``data_folder`` and log everything to the tracking store.

    Patients with per-patient contract problems are excluded (counted and
    logged); structural problems stop the run before anything is written.

    Raises
    ------
    ContractError
        The folder has structural problems.
    TrackingError
        The tracking store cannot be reached, or the registered name is invalid.
    RegistryError
        The registry could not be read or written (nothing is promoted).
    """
    from relapse_ml import tracking

    tracking_uri = tracking.resolve_tracking_uri()
    tracking.check_reachable(tracking_uri)
    tracking.check_model_name(config.registered_name)
    data = validate_folder(data_folder, require_outcomes=True)
    data.raise_for_structural()
    n_excluded = len(data.report.rejected_patients)
    if n_excluded:
        log.warning(
            "%d patient(s) excluded for contract problems (see relapse-ml validate)", n_excluded
        )
    if data.outcomes is None or data.outcomes.empty:
        raise UserError(f"{data_folder}: no usable outcomes to train on")
    truth = read_truth(data_folder)
    families_dir = Path(config.model_families_dir) if config.model_families_dir else None
    result = train_relapse_model(
        data.patients,
        data.measurements,
        data.outcomes,
        config,
        truth=truth,
        families_dir=families_dir,
    )
    if n_excluded:
        # The warnings go into the run and the model card: no count from 1 to 9 there.
        result.warnings.append(
            f"{published_count(n_excluded)} patient(s) excluded for contract problems"
        )
    return _log(result, data.patients, data_folder, config, tracking_uri, n_excluded)
