"""Model registry policy: the first version is ``champion``; later ones must beat it."""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

CHAMPION = "champion"
CHALLENGER = "challenger"


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


def _champion(client: MlflowClient, name: str, metric: str) -> tuple[str | None, float | None]:
    try:
        version = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None, None
    if not version.run_id:
        return str(version.version), None
    value = client.get_run(version.run_id).data.metrics.get(metric)
    return str(version.version), value


def next_model_version(client: MlflowClient, name: str) -> str:
    """The version number the next registration of ``name`` will get (registry numbers are sequential)."""
    try:
        versions = client.search_model_versions(f"name='{name}'")
    except MlflowException:
        return "1"
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
) -> PromotionDecision:
    """Register ``model_uri`` as a new version of ``name`` and set its alias by policy."""
    champion_version, champion_value = _champion(client, name, metric)
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(
            name, description="Relapse risk after CAR T-cell therapy (relapse-ml)"
        )
    # MLflow 3 logged models live at models:/<model_id>; the server needs the id too.
    model_id = model_uri.removeprefix("models:/") if model_uri.startswith("models:/m-") else None
    version = client.create_model_version(name, model_uri, run_id=run_id, model_id=model_id)
    alias, reason = decide_alias(
        new_value, champion_value, margin=margin, higher_is_better=higher_is_better
    )
    client.set_registered_model_alias(name, alias, version.version)
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
