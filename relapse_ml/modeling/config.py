"""Typed options of the held-out split and of model selection (``pipelines/train.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass

from relapse_ml.modeling.calibration import CALIBRATION_METHODS
from relapse_ml.modeling.selection import SELECTION_METRICS
from relapse_ml.modeling.splitting import SPLIT_STRATEGIES

# Bounds of the held-out share: below 5% the test metrics' CIs are too wide to
# read, above 50% the model is trained on the minority of the cohort.
TEST_FRACTION_RANGE = (0.05, 0.5)


@dataclass(frozen=True)
class SplitConfig:
    """Held-out test split.

    Parameters
    ----------
    strategy : {"random", "temporal", "site"}
        Stratified random, by ``infusion_date``, or by ``site``.
    test_fraction : float
        Share of patients held out, within :data:`TEST_FRACTION_RANGE`.
    test_sites : tuple of str
        With ``site``: the held-out sites (empty: a seeded choice).
    """

    strategy: str
    test_fraction: float
    test_sites: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.strategy not in SPLIT_STRATEGIES:
            raise ValueError(
                f"strategy must be one of {', '.join(SPLIT_STRATEGIES)}, not {self.strategy!r}"
            )
        low, high = TEST_FRACTION_RANGE
        if not low <= self.test_fraction <= high:
            raise ValueError(f"test_fraction must lie in [{low}, {high}], not {self.test_fraction}")


@dataclass(frozen=True)
class SelectionConfig:
    """Model selection by repeated stratified cross-validation, then calibration.

    Parameters
    ----------
    families : tuple of str
        Model families (``models/*.yaml``) to search.
    cv_folds, cv_repeats : int
        Repeated stratified k-fold of the selection.
    n_candidates : int
        Random-search candidates per family.
    calibration_methods : tuple of str
        Calibration maps compared by CV.
    calibration_folds : int
        Folds of the out-of-fold margins the champion's calibrator is fitted on.
    selection_metric : {"brier", "auroc", "log_loss"}
        What picks the champion.
    """

    families: tuple[str, ...]
    cv_folds: int
    cv_repeats: int
    n_candidates: int
    calibration_methods: tuple[str, ...]
    calibration_folds: int
    selection_metric: str

    def __post_init__(self) -> None:
        if self.selection_metric not in SELECTION_METRICS:
            raise ValueError(
                f"selection_metric must be one of {', '.join(SELECTION_METRICS)}, "
                f"not {self.selection_metric!r}"
            )
        unknown = [m for m in self.calibration_methods if m not in CALIBRATION_METHODS]
        if unknown or not self.calibration_methods:
            raise ValueError(
                f"calibration_methods must be some of {', '.join(CALIBRATION_METHODS)}, "
                f"not {list(self.calibration_methods)!r}"
            )
        if not self.families:
            raise ValueError("families must name at least one model family")
        for name in ("cv_folds", "calibration_folds"):
            if getattr(self, name) < 2:
                raise ValueError(f"{name} must be at least 2")
        for name in ("cv_repeats", "n_candidates"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
