"""Loading the served artifact from a model URI (``models:/name@alias``, ``runs:/``, a path).

relapse-ml downloads only the ``.skops`` file of a logged model and loads it
with :func:`relapse_ml.artifact.load_model` (allowlisted types, sha256
recorded at registration). It never calls ``mlflow.pyfunc.load_model``, which
imports and runs the Python code logged with the model.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException

from relapse_ml.artifact import ServedModel, is_model_file, load_model, load_model_file
from relapse_ml.errors import ModelFileError, TrackingError, UserError
from relapse_ml.tracking._logging import ARTIFACT_FILE
from relapse_ml.tracking._registry import SHA256_TAG
from relapse_ml.tracking._uri import check_reachable, resolve_tracking_uri, using_store


@dataclass(frozen=True)
class _Source:
    """Where a model URI's files are, and the checksum its ``.skops`` file must have."""

    artifact_root: str
    sha256: str | None
    name: str
    version: str


def _registered(client: mlflow.MlflowClient, uri: str) -> _Source:
    """``models:/name@alias`` or ``models:/name/version`` -> the version's files and checksum."""
    body = uri.removeprefix("models:/")
    if "@" in body:
        name, alias = body.split("@", 1)
        version = client.get_model_version_by_alias(name, alias)
    else:
        name, _, number = body.partition("/")
        if not number.isdigit():
            raise UserError(
                f"model URI {uri}: give a version number or an alias "
                "(models:/name/3 or models:/name@champion)"
            )
        version = client.get_model_version(name, number)
    root = client.get_model_version_download_uri(name, str(version.version))
    return _Source(root, (version.tags or {}).get(SHA256_TAG), name, str(version.version))


def _logged(client: mlflow.MlflowClient, uri: str) -> _Source:
    """``runs:/<run>/<path>`` or ``models:/<model id>`` -> the logged model's files and checksum."""
    # get_model_info reads the MLmodel file (YAML) only: no logged code is imported.
    model_id = mlflow.models.get_model_info(uri).model_id
    if not model_id:
        raise ModelFileError(f"{uri} is not a model logged by relapse-ml (no logged model id)")
    logged = client.get_logged_model(model_id)
    return _Source(logged.artifact_location, logged.tags.get(SHA256_TAG), "", "")


def load_served_model(uri: str) -> ServedModel:
    """Load the artifact behind ``uri`` (a registry URI, a ``runs:/`` URI or a ``.skops`` file).

    Raises
    ------
    TrackingError
        The tracking server is unreachable or the model / alias does not exist.
    UntrustedModelError
        The file names a type off the allowlist, or differs from the sha256
        recorded when it was logged (exit code 2; nothing was constructed).
    ModelFileError
        The URI holds no relapse-ml model, or no recorded checksum.
    """
    if is_model_file(uri):
        return load_model_file(uri)
    if not uri.startswith(("models:/", "runs:/")):
        raise UserError(f"{uri} is neither a model file nor a models:/ or runs:/ URI")
    tracking_uri = resolve_tracking_uri()
    check_reachable(tracking_uri)
    client = mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    with using_store(tracking_uri), tempfile.TemporaryDirectory(prefix="relapse-ml-model-") as tmp:
        try:
            is_registered = uri.startswith("models:/") and not uri.startswith("models:/m-")
            source = _registered(client, uri) if is_registered else _logged(client, uri)
            if not source.sha256:
                raise ModelFileError(
                    f"{uri} has no recorded sha256 ({SHA256_TAG}): it was not logged by this "
                    "relapse-ml version; register it again with relapse-ml train"
                )
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=f"{source.artifact_root.rstrip('/')}/artifacts/{ARTIFACT_FILE}",
                dst_path=tmp,
                tracking_uri=tracking_uri,
            )
        except MlflowException as exc:
            message = str(exc.message).strip().splitlines()[0] if str(exc.message).strip() else ""
            raise TrackingError(f"cannot load model {uri} from {tracking_uri}: {message}") from None
        try:
            model = load_model(Path(local), expected_sha256=source.sha256)
        except ModelFileError as exc:  # name the URI, not the temporary download
            raise type(exc)(str(exc).replace(str(local), f"{uri} ({ARTIFACT_FILE})")) from None
    return ServedModel(model, source.name or model.model_name, source.version, uri)
