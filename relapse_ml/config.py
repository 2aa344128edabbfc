"""Typed configuration, loaded once at the CLI boundary from ``pipelines/*.yaml``.

Defaults live in code (the frozen dataclasses below); a YAML recipe overrides
them; ``MLFLOW_TRACKING_URI`` is the deployment value for tracking. Unknown keys
are errors that name the file and the key, never silently ignored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from relapse_ml.errors import ConfigError
from relapse_ml.features import FeatureConfig

DEFAULT_REGISTERED_NAME = "car-t-relapse"
DEFAULT_EXPERIMENT = "relapse-ml"


@dataclass(frozen=True)
class TaskConfig:
    """The prediction task: landmark L, horizon H and the censoring rule."""

    horizon_days: int = 365
    censoring: str = "ipcw"  # or "exclude" (logged either way)


@dataclass(frozen=True)
class SplitConfig:
    """Held-out test split: ``random`` (stratified), ``temporal`` (by infusion_date) or ``site``."""

    strategy: str = "random"
    test_fraction: float = 0.25
    test_sites: tuple[str, ...] = ()


@dataclass(frozen=True)
class SelectionConfig:
    """Model selection by repeated stratified cross-validation."""

    families: tuple[str, ...] = ("logistic", "hist_gradient_boosting", "random_forest")
    cv_folds: int = 3
    cv_repeats: int = 2
    n_candidates: int = 4
    calibration_methods: tuple[str, ...] = ("sigmoid", "isotonic")
    # The champion's calibrator is fitted on out-of-fold margins; with few folds the
    # fold models are weaker than the final refit and the calibrated risks come out
    # under-confident (test calibration slope > 1), so the final calibration uses more.
    calibration_folds: int = 10
    selection_metric: str = "brier"


@dataclass(frozen=True)
class EvaluationConfig:
    """Test-split evaluation: bootstrap CIs, subgroups, decision curve."""

    n_bootstrap: int = 500
    subgroup_min_events: int = 10
    subgroups: tuple[str, ...] = ("disease", "target_antigen", "costim_domain", "site")
    decision_thresholds: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(1, 19))


@dataclass(frozen=True)
class PromotionConfig:
    """Registry policy: a new version becomes ``champion`` only if it beats the current one."""

    metric: str = "auroc"
    higher_is_better: bool = True
    margin: float = 0.005


@dataclass(frozen=True)
class RiskBandConfig:
    """Risk bands shown to clinicians; thresholds are probabilities of relapse by the horizon."""

    thresholds: tuple[float, ...] = (0.2, 0.5)
    labels: tuple[str, ...] = ("low", "intermediate", "high")
    rationale: str = (
        "Below 20% the 1-year relapse risk is below the lowest published rates after CAR T "
        "(durable remission in most); 20-50% spans typical cohort rates (B-ALL ~40-50%, LBCL "
        "~55-60% progress) and calls for closer MRD/imaging follow-up; above 50% relapse is "
        "more likely than not, the range where pre-emptive strategies (consolidative transplant, "
        "re-infusion, trials) are usually discussed. Bands are decision aids, not treatment rules."
    )


@dataclass(frozen=True)
class TrainConfig:
    """Everything ``relapse-ml train`` needs besides the data and the tracking URI."""

    seed: int = 20261128
    features: FeatureConfig = field(default_factory=FeatureConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    promotion: PromotionConfig = field(default_factory=PromotionConfig)
    risk_bands: RiskBandConfig = field(default_factory=RiskBandConfig)
    experiment: str = DEFAULT_EXPERIMENT
    registered_name: str = DEFAULT_REGISTERED_NAME
    model_families_dir: str | None = None

    @property
    def landmark_day(self) -> int:
        """The landmark day L (owned by the feature options)."""
        return self.features.landmark_day

    def to_params(self) -> dict[str, str]:
        """Flatten to ``section.key`` -> text, for MLflow params."""
        return {k: str(v) for k, v in _flatten(dataclasses.asdict(self)).items()}


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _build(cls: type, values: Mapping[str, Any], where: str) -> Any:
    """Instantiate dataclass ``cls`` from a mapping, rejecting unknown keys."""
    if not isinstance(values, Mapping):
        raise ConfigError(f"{where}: expected a mapping, found {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(fields)}"
        )
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        default = getattr(cls(), key) if key in fields else None
        if key == "features":
            kwargs[key] = FeatureConfig.from_dict(value)
        elif dataclasses.is_dataclass(default):
            kwargs[key] = _build(type(default), value, f"{where}.{key}")
        elif isinstance(default, tuple):
            if not isinstance(value, list | tuple):
                raise ConfigError(f"{where}.{key}: expected a list, found {value!r}")
            kwargs[key] = tuple(value)
        else:
            kwargs[key] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _check(config: TrainConfig, where: str) -> TrainConfig:
    problems = []
    if config.task.censoring not in ("ipcw", "exclude"):
        problems.append(f"task.censoring must be ipcw or exclude, not {config.task.censoring!r}")
    if config.task.horizon_days <= config.landmark_day:
        problems.append(
            f"task.horizon_days ({config.task.horizon_days}) must exceed the landmark day ({config.landmark_day})"
        )
    if config.split.strategy not in ("random", "temporal", "site"):
        problems.append(
            f"split.strategy must be random, temporal or site, not {config.split.strategy!r}"
        )
    if not 0.05 <= config.split.test_fraction <= 0.5:
        problems.append("split.test_fraction must lie in [0.05, 0.5]")
    if config.selection.selection_metric not in ("brier", "auroc", "log_loss"):
        problems.append("selection.selection_metric must be brier, auroc or log_loss")
    bands = config.risk_bands
    if len(bands.labels) != len(bands.thresholds) + 1 or list(bands.thresholds) != sorted(
        bands.thresholds
    ):
        problems.append("risk_bands needs increasing thresholds and one more label than thresholds")
    if problems:
        raise ConfigError(f"{where}: " + "; ".join(problems))
    return config


def load_train_config(path: Path | None = None, **overrides: Any) -> TrainConfig:
    """Load ``TrainConfig`` from a YAML recipe (defaults when ``path`` is None).

    Parameters
    ----------
    path : Path, optional
        A recipe such as ``pipelines/train.yaml``.
    **overrides
        Top-level keys set from the command line (e.g. ``experiment``); ``None`` is ignored.

    Raises
    ------
    ConfigError
        The file is missing or unreadable, or holds unknown keys or bad values.
    """
    values: dict[str, Any] = {}
    where = "defaults"
    if path is not None:
        where = str(path)
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the configuration ({exc.strerror})") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from None
        values = dict(loaded or {})
    values.update({k: v for k, v in overrides.items() if v is not None})
    return _check(_build(TrainConfig, values, where), where)
