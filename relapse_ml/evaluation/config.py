"""Typed options of the held-out evaluation (the ``evaluation`` section of ``pipelines/train.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EvaluationConfig:
    """Test-split evaluation: bootstrap CIs, subgroups, decision curve.

    Parameters
    ----------
    n_bootstrap : int
        Bootstrap replicates of every confidence interval.
    subgroup_min_events : int
        Subgroups with fewer events get no metrics.
    subgroups : tuple of str
        Patient columns to break the metrics down by.
    decision_thresholds : tuple of float
        Risk thresholds of the decision curve, each in (0, 1).
    """

    n_bootstrap: int
    subgroup_min_events: int
    subgroups: tuple[str, ...]
    decision_thresholds: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.n_bootstrap < 1:
            raise ValueError("n_bootstrap must be at least 1")
        if self.subgroup_min_events < 1:
            raise ValueError("subgroup_min_events must be at least 1")
        if not all(0 < t < 1 for t in self.decision_thresholds):
            raise ValueError("decision_thresholds must lie strictly between 0 and 1")
