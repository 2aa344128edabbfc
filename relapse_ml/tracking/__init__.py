"""MLflow tracking and registry: the only package that imports mlflow."""

from relapse_ml.tracking._loading import ServedModel, load_served_model
from relapse_ml.tracking._logging import (
    ARTIFACT_FILE,
    LoggedModel,
    RunRecorder,
    client_for,
    training_run,
)
from relapse_ml.tracking._registry import (
    CHALLENGER,
    CHAMPION,
    SHA256_TAG,
    PromotionDecision,
    check_model_name,
    current_champion,
    decide_alias,
    next_model_version,
    register_and_promote,
)
from relapse_ml.tracking._uri import check_reachable, resolve_tracking_uri

__all__ = [
    "ARTIFACT_FILE",
    "CHALLENGER",
    "CHAMPION",
    "SHA256_TAG",
    "LoggedModel",
    "PromotionDecision",
    "RunRecorder",
    "ServedModel",
    "check_model_name",
    "check_reachable",
    "client_for",
    "current_champion",
    "decide_alias",
    "load_served_model",
    "next_model_version",
    "register_and_promote",
    "resolve_tracking_uri",
    "training_run",
]
