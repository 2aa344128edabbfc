"""Where runs and models go: ``MLFLOW_TRACKING_URI`` or MLflow's embedded SQLite default."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mlflow

from relapse_ml.errors import TrackingError

DEFAULT_DB_NAME = "mlflow.db"
_URI_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


def resolve_tracking_uri(working_dir: Path | None = None) -> str:
    """Return ``MLFLOW_TRACKING_URI`` when set, else ``sqlite:///<working dir>/mlflow.db``."""
    uri = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    if uri:
        return uri
    folder = (working_dir or Path.cwd()).resolve()
    return f"sqlite:///{folder / DEFAULT_DB_NAME}"


def check_reachable(uri: str, timeout_s: float = 5.0) -> None:
    """Fail fast, with a clear message, when the tracking store cannot be used.

    A remote server is asked for its ``/health`` endpoint; a SQLite store needs
    a writable folder. There is never a silent fallback to another store.

    Raises
    ------
    TrackingError
        The server does not answer, or the database folder does not exist.
    """
    if uri.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=timeout_s) as response:
                if response.status != 200:
                    raise TrackingError(
                        f"MLflow tracking server {uri} answered HTTP {response.status} to /health"
                    )
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TrackingError(
                f"cannot reach the MLflow tracking server at {uri} ({reason}). "
                "Start it, or unset MLFLOW_TRACKING_URI to use the local sqlite:///mlflow.db store."
            ) from None
    elif uri.startswith("sqlite:///"):
        folder = Path(uri.removeprefix("sqlite:///")).parent
        if not folder.is_dir():
            raise TrackingError(f"tracking URI {uri}: folder {folder} does not exist")


@contextmanager
def using_store(uri: str) -> Iterator[None]:
    """Point MLflow's tracking and registry at ``uri`` for a block, then restore both.

    MLflow keeps these URIs as process-wide state, and copies them into
    ``MLFLOW_TRACKING_URI`` / ``MLFLOW_REGISTRY_URI`` for subprocesses (never
    unsetting the registry one); restoring both keeps one call (a training run,
    a model load) from redirecting the next, or a later ``mlflow models serve``.
    """
    saved_env = {name: os.environ.get(name) for name in _URI_VARIABLES}
    previous_tracking = mlflow.get_tracking_uri() if mlflow.tracking.is_tracking_uri_set() else None
    previous_registry = mlflow.get_registry_uri() if previous_tracking is not None else None
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous_tracking)
        mlflow.set_registry_uri(previous_registry)
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
