"""The training recipe as typed objects: each section's type lives with the layer that uses it.

:class:`TrainConfig` composes them; :func:`relapse_ml.config.load_train_config`
builds it from ``pipelines/train.yaml`` (the one place the defaults are written)
and a user's recipe, once, at the CLI.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from relapse_ml.artifact import RiskBands
from relapse_ml.evaluation import METRIC_NAMES
from relapse_ml.evaluation.config import EvaluationConfig
from relapse_ml.features import FeatureConfig
from relapse_ml.modeling.config import SelectionConfig, SplitConfig
from relapse_ml.task.config import TaskConfig


@dataclass(frozen=True)
class PromotionConfig:
    """Registry policy: a new version becomes ``champion`` only if it beats the current one.

    Parameters
    ----------
    metric : str
        A headline test metric (e.g. ``auroc``).
    higher_is_better : bool
        Direction of ``metric``.
    margin : float
        By how much the new version must beat the champion.
    """

    metric: str
    higher_is_better: bool
    margin: float

    def __post_init__(self) -> None:
        if self.metric not in METRIC_NAMES:
            raise ValueError(
                f"metric must be one of {', '.join(METRIC_NAMES)}, not {self.metric!r}"
            )
        if self.margin < 0:
            raise ValueError("margin must be >= 0")


@dataclass(frozen=True)
class PhenotypeConfig:
    """The phenotype part: P(antigen-negative | relapse), fitted on relapses of known status.

    Parameters
    ----------
    min_known_relapses : int
        Fewer training relapses of known antigen status than this at a landmark: the
        part is skipped there (its columns stay, empty, and the run says why).
    family : str
        Model family of the conditional model (few events: ``logistic`` by default).
    calibration_folds : int
        Folds of its sigmoid calibration.
    n_candidates : int
        Penalties tried by cross-validation.
    """

    min_known_relapses: int
    family: str
    calibration_folds: int
    n_candidates: int

    def __post_init__(self) -> None:
        if self.min_known_relapses < 2:
            raise ValueError("min_known_relapses must be at least 2")
        if self.calibration_folds < 2:
            raise ValueError("calibration_folds must be at least 2")


@dataclass(frozen=True)
class TrainConfig:
    """Everything ``relapse-ml train`` needs besides the data and the tracking URI."""

    seed: int
    experiment: str
    registered_name: str
    model_families_dir: str | None
    features: FeatureConfig
    task: TaskConfig
    split: SplitConfig
    selection: SelectionConfig
    evaluation: EvaluationConfig
    promotion: PromotionConfig
    risk_bands: RiskBands
    phenotype: PhenotypeConfig

    @property
    def landmark_day(self) -> int:
        """The first landmark day: the default for scoring."""
        return self.task.first_landmark

    def features_at(self, landmark_day: int) -> FeatureConfig:
        """The feature options for the model at ``landmark_day`` (data known by that day)."""
        return dataclasses.replace(self.features, landmark_day=landmark_day)

    def to_params(self) -> dict[str, str]:
        """Flatten to ``section.key`` -> text, for MLflow params (landmarks come from ``task``)."""
        flat = _flatten(dataclasses.asdict(self))
        flat.pop("features.landmark_day", None)
        return {k: str(v) for k, v in flat.items()}


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out
