"""Logging a training run: params, metrics, figures, tables, datasets and the model."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import mlflow
import pandas as pd
from matplotlib.figure import Figure
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature, infer_signature
from mlflow.types.schema import AnyType, ColSpec, DataType, ParamSchema, ParamSpec, Schema
from requests.exceptions import RequestException

from relapse_ml.artifact import file_sha256
from relapse_ml.errors import InternalError, RelapseMLError, TrackingError
from relapse_ml.tracking._registry import SHA256_TAG
from relapse_ml.tracking._uri import check_reachable, using_store
from relapse_ml.tracking.pyfunc import ARTIFACT_KEY

MAX_PARAM_LENGTH = 6000
# The pyfunc keeps its artifact as artifacts/<file name>: relapse-ml loads only this file.
ARTIFACT_FILE = f"{ARTIFACT_KEY}.skops"


@dataclass(frozen=True)
class LoggedModel:
    """Where the model went: the run, the model URI, and the sha256 of its ``.skops`` file."""

    run_id: str
    model_uri: str
    experiment_id: str
    skops_sha256: str


class RunRecorder:
    """Thin wrapper over an active MLflow run (the only place runs are written)."""

    def __init__(self, run: mlflow.ActiveRun) -> None:
        self.run = run
        self.run_id = run.info.run_id
        self.experiment_id = run.info.experiment_id

    def params(self, params: dict[str, str]) -> None:
        """Log params (long values are cut to MLflow's limit and say so)."""
        text = {k: str(v) for k, v in params.items()}
        clean = {
            k: (v if len(v) <= MAX_PARAM_LENGTH else v[: MAX_PARAM_LENGTH - 12] + "...(cut)")
            for k, v in text.items()
        }
        items = list(clean.items())
        for start in range(0, len(items), 90):
            mlflow.log_params(dict(items[start : start + 90]))

    def metrics(self, metrics: dict[str, float]) -> None:
        """Log finite metrics (NaN/inf are skipped: MLflow stores them badly)."""
        finite = {
            k: float(v) for k, v in metrics.items() if pd.notna(v) and abs(float(v)) != float("inf")
        }
        mlflow.log_metrics(finite)

    def figure(self, figure: Figure, name: str) -> None:
        """Log a matplotlib figure as a PNG under ``plots/``."""
        mlflow.log_figure(figure, f"plots/{name}")

    def table(self, frame: pd.DataFrame, name: str) -> None:
        """Log a DataFrame as CSV under ``tables/``."""
        mlflow.log_text(frame.to_csv(index=False), f"tables/{name}")

    def text(self, text: str, path: str) -> None:
        """Log a text artifact."""
        mlflow.log_text(text, path)

    def tags(self, tags: dict[str, str]) -> None:
        """Set run tags."""
        mlflow.set_tags(tags)

    def dataset(self, frame: pd.DataFrame, *, name: str, source: str, context: str) -> None:
        """Log a dataset by digest and schema only (``mlflow.data``), never its rows."""
        with warnings.catch_warnings():
            # A local folder matches MLflow's local-artifact source twice; either is right.
            warnings.filterwarnings(
                "ignore",
                message="The specified dataset source can be interpreted",
                category=UserWarning,
            )
            dataset = mlflow.data.from_pandas(frame, source=source, name=name)
        mlflow.log_input(dataset, context=context)

    def model(
        self,
        artifact_file: Path,
        *,
        input_example: pd.DataFrame,
        output_example: pd.DataFrame,
        pip_requirements: list[str],
        model_config: dict[str, str] | None = None,
        default_landmark: int = 28,
    ) -> LoggedModel:
        """Log the pyfunc (models-from-code, skops artifact) with a signature and a synthetic example.

        The ``.skops`` file's sha256 is set as the logged model's :data:`SHA256_TAG`
        (``runs:/`` URIs are checked against it) and returned for registration.
        """
        if Path(artifact_file).name != ARTIFACT_FILE:
            raise ValueError(
                f"the model artifact must be named {ARTIFACT_FILE}, not {artifact_file}"
            )
        sha256 = file_sha256(artifact_file)
        code = resources.files("relapse_ml.tracking").joinpath("_pyfunc_code.py")
        signature = request_signature(input_example, output_example, default_landmark)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(code),
            artifacts={ARTIFACT_KEY: str(artifact_file)},
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            model_config={**(model_config or {}), "skops_sha256": sha256},
        )
        mlflow.set_logged_model_tags(info.model_id, {SHA256_TAG: sha256})
        return LoggedModel(self.run_id, info.model_uri, self.experiment_id, sha256)


def request_signature(
    input_example: pd.DataFrame, output_example: pd.DataFrame, default_landmark: int = 28
) -> ModelSignature:
    """The model signature: contract columns (required as the contract says) plus ``measurements``.

    Params: ``top_k`` (drivers per patient) and ``landmark`` (the landmark day that
    scores the request; default the model's first).

    Patient columns are typed ``any``: the contract validation inside the model
    checks them cell by cell and rejects a bad patient with a reason, which
    MLflow's own schema enforcement (whole request fails) would not.
    """
    from relapse_ml.schema import load_contract

    contract = load_contract()
    columns = [ColSpec(AnyType(), c.name, required=c.required) for c in contract.patients.columns]
    columns.append(ColSpec(DataType.string, "measurements", required=True))
    with warnings.catch_warnings():
        # The integer output columns (landmark, horizon, schema version) are never missing.
        warnings.filterwarnings(
            "ignore", message="Hint: Inferred schema contains integer", category=UserWarning
        )
        outputs = infer_signature(input_example, output_example).outputs
    params = ParamSchema(
        [
            ParamSpec("top_k", DataType.long, 3),
            ParamSpec("landmark", DataType.long, int(default_landmark)),
        ]
    )
    return ModelSignature(inputs=Schema(columns), outputs=outputs, params=params)


@contextmanager
def training_run(
    tracking_uri: str, experiment: str, run_name: str | None = None
) -> Iterator[RunRecorder]:
    """Open a run in ``experiment`` on ``tracking_uri`` (checked first; no silent fallback).

    Raises
    ------
    TrackingError
        The experiment cannot be used (exit code 2).
    InternalError
        The store failed while the run was open (exit code 1).
    """
    check_reachable(tracking_uri)
    with using_store(tracking_uri):
        try:
            mlflow.set_experiment(experiment)
        except MlflowException as exc:
            raise TrackingError(
                f"cannot use experiment {experiment!r} on {tracking_uri}: {exc.message}"
            ) from None
        try:
            with mlflow.start_run(run_name=run_name) as run:
                yield RunRecorder(run)
        except (MlflowException, RequestException) as exc:
            # Closing the run fails too when the store went away: report the first failure.
            if isinstance(exc.__context__, RelapseMLError):
                raise exc.__context__ from None
            detail = (str(getattr(exc, "message", exc)).strip().splitlines() or [""])[0]
            raise InternalError(
                f"the tracking store {tracking_uri} failed during the run ({detail}); "
                "the run is incomplete"
            ) from None


def client_for(tracking_uri: str) -> MlflowClient:
    """An MlflowClient bound to ``tracking_uri`` (the registry lives in the same store)."""
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
