"""Loading the served artifact from a model URI (``models:/name@alias``, ``runs:/``, a path)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException

from relapse_ml.errors import TrackingError
from relapse_ml.serving.artifact import RelapseRiskModel, load_model
from relapse_ml.tracking._uri import check_reachable, resolve_tracking_uri, using_store


@dataclass(frozen=True)
class ServedModel:
    """A loaded model and what it is called in the registry."""

    model: RelapseRiskModel
    name: str
    version: str
    uri: str


def _registry_version(uri: str, tracking_uri: str) -> tuple[str, str]:
    """Resolve ``models:/name@alias`` or ``models:/name/version`` to (name, version)."""
    client = mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    body = uri.removeprefix("models:/")
    if "@" in body:
        name, alias = body.split("@", 1)
        return name, str(client.get_model_version_by_alias(name, alias).version)
    name, _, version = body.partition("/")
    if version.isdigit():
        return name, version
    return name, ""


def load_served_model(uri: str) -> ServedModel:
    """Load the artifact behind ``uri`` through MLflow (or from a saved ``.skops`` file).

    Raises
    ------
    TrackingError
        The tracking server is unreachable or the model / alias does not exist.
    """
    path = Path(uri)
    if path.suffix == ".skops" and path.is_file():
        model = load_model(path)
        return ServedModel(model, model.model_name, "", uri)
    tracking_uri = resolve_tracking_uri()
    check_reachable(tracking_uri)
    try:
        with using_store(tracking_uri):
            name, version = (
                _registry_version(uri, tracking_uri) if uri.startswith("models:/") else ("", "")
            )
            pyfunc = mlflow.pyfunc.load_model(uri)
    except MlflowException as exc:
        raise TrackingError(f"cannot load model {uri} from {tracking_uri}: {exc.message}") from None
    wrapper = pyfunc.unwrap_python_model()
    model = wrapper.model
    return ServedModel(model, name or model.model_name, version, uri)
