"""Evaluation of predicted risks: discrimination, calibration, net benefit, subgroups.

Pure functions on arrays and DataFrames (no file I/O, no MLflow). Every metric
accepts ``sample_weight`` (the IPCW weights of :mod:`relapse_ml.task`).
"""

from relapse_ml.evaluation.bootstrap import METRIC_NAMES, metrics_with_ci
from relapse_ml.evaluation.decision_curve import net_benefit_table
from relapse_ml.evaluation.metrics import (
    auprc,
    auroc,
    brier,
    calibration_intercept,
    calibration_slope,
    ici,
    smoothed_calibration,
)
from relapse_ml.evaluation.sample_size import (
    RileySampleSize,
    events_per_parameter,
    minority_events,
    r2_cs_from_c_statistic,
    riley_minimum_sample_size,
)
from relapse_ml.evaluation.subgroups import subgroup_metrics

__all__ = [
    "METRIC_NAMES",
    "RileySampleSize",
    "auprc",
    "auroc",
    "brier",
    "calibration_intercept",
    "calibration_slope",
    "events_per_parameter",
    "ici",
    "metrics_with_ci",
    "minority_events",
    "net_benefit_table",
    "r2_cs_from_c_statistic",
    "riley_minimum_sample_size",
    "smoothed_calibration",
    "subgroup_metrics",
]
