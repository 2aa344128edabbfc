"""Model registry policy: the first version is ``champion``; later ones must beat it."""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST, ErrorCode

from relapse_ml.errors import RegistryError, TrackingError

CHAMPION = "champion"
CHALLENGER = "challenger"
# Model version tag holding the sha256 of the registered .skops file.
SHA256_TAG = "relapse_ml.skops_sha256"
_NOT_FOUND = ErrorCode.Name(RESOURCE_DOES_NOT_EXIST)
_BAD_VALUE = ErrorCode.Name(INVALID_PARAMETER_VALUE)


@dataclass(frozen=True)
class PromotionDecision:
    """What happened to a newly registered version, and why."""

    name: str
    version: str
    alias: str
    metric: str
    new_value: float
    champion_version: str | None
    champion_value: float | None
    margin: float
    reason: str

    def to_params(self) -> dict[str, str]:
        """Flatten for MLflow params/tags."""
        return {
            "promotion.alias": self.alias,
            "promotion.metric": self.metric,
            "promotion.new_value": f"{self.new_value:.6f}",
            "promotion.champion_version": self.champion_version or "",
            "promotion.champion_value": ""
            if self.champion_value is None
            else f"{self.champion_value:.6f}",
            "promotion.margin": str(self.margin),
            "promotion.reason": self.reason,
        }


def decide_alias(
    new_value: float,
    champion_value: float | None,
    *,
    margin: float,
    higher_is_better: bool,
) -> tuple[str, str]:
    """Return (alias, reason) for a new version given the current champion's figure."""
    if champion_value is None or math.isnan(champion_value):
        return CHAMPION, "no current champion with this metric"
    gain = (new_value - champion_value) if higher_is_better else (champion_value - new_value)
    if gain > margin:
        return CHAMPION, f"beats the champion by {gain:.4f} (> margin {margin})"
    return CHALLENGER, f"does not beat the champion by more than {margin} (difference {gain:+.4f})"


def check_model_name(name: str) -> None:
    """Refuse a registered-model name the registry would reject (before any training).

    Raises
    ------
    TrackingError
        Empty, or holds ``/``, ``:`` or a quote (exit code 2).
    """
    if not name or not name.strip() or any(c in name for c in "/:'\"\\") or not name.isprintable():
        raise TrackingError(
            f"invalid registered model name {name!r}: use a non-empty name without / : or quotes"
        )


def _failure(action: str, name: str, exc: MlflowException) -> Exception:
    """The error for a registry call that failed: a bad name is the user's (exit 2)."""
    if exc.error_code == _BAD_VALUE:
        return TrackingError(f"cannot {action} registered model {name!r}: {exc.message}")
    first_line = str(exc.message).strip().splitlines()[0] if str(exc.message).strip() else ""
    return RegistryError(
        f"cannot {action} registered model {name!r} ({first_line}); nothing was promoted"
    )


def current_champion(
    client: MlflowClient, name: str, metric: str
) -> tuple[str | None, float | None]:
    """The champion's version and ``metric``; (None, None) only when the registry says there is none.

    Raises
    ------
    RegistryError
        The registry could not be read (a down server is not "no champion").
    TrackingError
        The registry rejects ``name``.
    """
    try:
        version = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException as exc:
        if exc.error_code == _NOT_FOUND:
            return None, None
        raise _failure("read the champion of", name, exc) from None
    if not version.run_id:
        return str(version.version), None
    try:
        value = client.get_run(version.run_id).data.metrics.get(metric)
    except MlflowException as exc:
        raise _failure("read the champion's run of", name, exc) from None
    return str(version.version), value


def next_model_version(client: MlflowClient, name: str) -> str:
    """The version number the next registration of ``name`` will get (registry numbers are sequential).

    Raises
    ------
    RegistryError
        The registry could not be read (never guessed as "1").
    """
    try:
        versions = client.search_model_versions(f"name='{name}'")
    except MlflowException as exc:
        raise _failure("list the versions of", name, exc) from None
    return str(max((int(v.version) for v in versions), default=0) + 1)


def register_and_promote(
    client: MlflowClient,
    model_uri: str,
    name: str,
    *,
    metric: str,
    new_value: float,
    margin: float,
    higher_is_better: bool,
    run_id: str,
    skops_sha256: str,
) -> PromotionDecision:
    """Register ``model_uri`` as a new version of ``name`` and set its alias by policy.

    The champion is read first: if that fails, nothing is registered.
    ``skops_sha256`` is recorded as the version's :data:`SHA256_TAG`, checked
    whenever relapse-ml loads the version.

    Raises
    ------
    RegistryError
        A registry call failed (exit code 1); no alias was set by this call.
    TrackingError
        The registry rejects ``name`` (exit code 2).
    """
    champion_version, champion_value = current_champion(client, name, metric)
    try:
        client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != _NOT_FOUND:
            raise _failure("read", name, exc) from None
        try:
            client.create_registered_model(
                name, description="Relapse risk after CAR T-cell therapy (relapse-ml)"
            )
        except MlflowException as create_exc:
            raise _failure("create", name, create_exc) from None
    # MLflow 3 logged models live at models:/<model_id>; the server needs the id too.
    model_id = model_uri.removeprefix("models:/") if model_uri.startswith("models:/m-") else None
    try:
        version = client.create_model_version(
            name, model_uri, run_id=run_id, model_id=model_id, tags={SHA256_TAG: skops_sha256}
        )
    except MlflowException as exc:
        raise _failure("add a version to", name, exc) from None
    alias, reason = decide_alias(
        new_value, champion_value, margin=margin, higher_is_better=higher_is_better
    )
    try:
        client.set_registered_model_alias(name, alias, version.version)
    except MlflowException as exc:
        raise _failure(f"set @{alias} on", name, exc) from None
    return PromotionDecision(
        name=name,
        version=str(version.version),
        alias=alias,
        metric=metric,
        new_value=new_value,
        champion_version=champion_version,
        champion_value=champion_value,
        margin=margin,
        reason=reason,
    )
