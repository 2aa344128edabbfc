"""Evaluation of predicted risks: discrimination, calibration, net benefit, subgroups.

Competing risks (:mod:`relapse_ml.evaluation.competing`): event codes, the
Aalen-Johansen cumulative incidence and a cause-specific Cox baseline (scikit-survival
is imported only when they are called).

Pure functions on arrays and DataFrames (no file I/O, no MLflow). Every metric
accepts ``sample_weight`` (the IPCW weights of :mod:`relapse_ml.task`).
"""

from relapse_ml.evaluation.bootstrap import METRIC_NAMES, metrics_with_ci
from relapse_ml.evaluation.competing import (
    CauseSpecificCox,
    CumulativeIncidence,
    aalen_johansen_incidence,
    cumulative_incidence_from_cause_specific_hazards,
    event_codes,
    fit_cause_specific_cox,
)
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
    "CauseSpecificCox",
    "CumulativeIncidence",
    "RileySampleSize",
    "aalen_johansen_incidence",
    "auprc",
    "auroc",
    "brier",
    "calibration_intercept",
    "calibration_slope",
    "cumulative_incidence_from_cause_specific_hazards",
    "event_codes",
    "events_per_parameter",
    "fit_cause_specific_cox",
    "ici",
    "metrics_with_ci",
    "minority_events",
    "net_benefit_table",
    "r2_cs_from_c_statistic",
    "riley_minimum_sample_size",
    "smoothed_calibration",
    "subgroup_metrics",
]
