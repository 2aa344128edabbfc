"""The risk curve at one landmark: fit its factors, and evaluate every (landmark, horizon) pair.

The primary risk (the champion's) anchors the curve; :func:`fit_curve` fits the
conditional factors of :mod:`relapse_ml.modeling.incidence` on the training patients
at risk at the landmark, and :func:`evaluate_curve` scores the held-out patients at
every horizon after the landmark against that horizon's task labels (relapse by H;
non-relapse death before H a known "no relapse"; IPCW for loss to follow-up).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from relapse_ml.artifact import RelapseRiskModel
from relapse_ml.evaluation import (
    auroc,
    brier,
    calibration_slope,
    events_per_parameter,
    minority_events,
)
from relapse_ml.evaluation.competing import (
    DEATH,
    RELAPSE,
    aalen_johansen_incidence,
    event_codes,
    fit_cause_specific_cox,
)
from relapse_ml.modeling import (
    clinical_baseline_model,
    count_candidate_parameters,
    fitted_pipeline,
)
from relapse_ml.modeling.incidence import IncidenceCurve, fit_incidence_curve
from relapse_ml.modeling.selection import SelectionResult
from relapse_ml.task import DEATH_COLUMN, build_landmark_task
from relapse_ml.training.config import TrainConfig
from relapse_ml.training.steps import TaskData, true_incidence

#: Metrics logged for every (landmark, horizon) pair, suffixed ``_L{L}_H{H}``.
PAIR_METRICS = (
    "auroc",
    "brier",
    "calibration_in_the_large",
    "calibration_slope",
    "observed_incidence",
    "observed_incidence_ci_low",
    "observed_incidence_ci_high",
    "mean_predicted_risk",
    "observed_death_incidence",
    "mean_predicted_death",
    "events_per_parameter",
    "baseline_aalen_johansen_brier",
    "baseline_cox_auroc",
    "baseline_cox_brier",
)


def pair_suffix(landmark_day: int, horizon: int) -> str:
    """``_L{L}_H{H}``: the suffix of a per-pair metric name."""
    return f"_L{landmark_day}_H{horizon}"


def fit_curve(data: TaskData, selection: SelectionResult, config: TrainConfig) -> IncidenceCurve:
    """The curve's factors, fitted on the training patients at risk at the landmark."""
    train = ~data.at_risk_test
    feature_step = fitted_pipeline(selection.model).named_steps["features"]
    x = data.at_risk_input[train].reset_index(drop=True)
    features = pd.DataFrame(
        feature_step.transform(x), columns=[s.name for s in selection.catalogue]
    )
    outcomes = data.at_risk_outcomes[train].reset_index(drop=True)
    features.index = pd.Index(outcomes["patient_id"].astype(str))
    return fit_incidence_curve(
        features,
        outcomes,
        catalogue=selection.catalogue,
        landmark_day=data.landmark_day,
        horizons_days=config.task.horizons_days,
        primary_horizon=config.task.horizon_days,
        censoring=config.task.censoring,
        random_state=config.seed,
    )


def evaluate_curve(
    data: TaskData,
    model: RelapseRiskModel,
    config: TrainConfig,
    truth: pd.DataFrame | None = None,
) -> tuple[dict[str, float], pd.DataFrame]:
    """Held-out metrics of the curve at every horizon after the landmark.

    Returns
    -------
    metrics : dict of str to float
        :data:`PAIR_METRICS` suffixed ``_L{L}_H{H}``, plus ``oracle_auroc_L{L}_H{H}``
        and ``auroc_oracle_ratio_L{L}_H{H}`` when the simulator's truth is given.
        ``observed_incidence`` is the Aalen-Johansen cumulative incidence (95% CI) of the
        held-out patients at risk at L, ``mean_predicted_risk`` their mean predicted risk,
        and ``calibration_in_the_large`` the difference (> 0: risks too high). AUROC,
        Brier and slope use the (L, H) task: cases relapse by H, controls event-free at H
        or dead without relapse before H, IPCW weights for loss to follow-up.
    table : DataFrame
        One row per horizon (the model card's table for this landmark).
    """
    landmark = data.landmark_day
    test = data.at_risk_test
    x = data.at_risk_input[test].reset_index(drop=True)
    ids = pd.Index(data.at_risk_outcomes["patient_id"].astype(str)[test])
    risk = model.risk(x)
    relapse, death = model.incidences(model.features(x), risk)
    n_parameters = max(count_candidate_parameters(model.classifier), 1)
    time, events = _time_and_events(data.at_risk_outcomes)
    held_out_time, held_out_events = time[test], events[test]
    baselines = _Baselines.fit(data, config, time, events)
    metrics: dict[str, float] = {}
    rows = []
    for k, horizon in enumerate(config.task.horizons_days):
        if horizon <= landmark:
            continue
        task = build_landmark_task(data.at_risk_outcomes, landmark, horizon, config.task.censoring)
        position = ids.get_indexer(task.patient_ids)
        kept = position >= 0
        y, w = task.label[kept], task.weight[kept]
        p = relapse[position[kept], k]
        # Observed: Aalen-Johansen on every held-out patient at risk at L (those lost
        # to follow-up before H included), against the mean predicted risk over them.
        relapse_aj, death_aj = (
            aalen_johansen_incidence(
                held_out_time, held_out_events, horizon, landmark=landmark, cause=cause
            )
            for cause in (RELAPSE, DEATH)
        )
        mean_risk = float(np.mean(relapse[:, k]))
        figures = {
            "auroc": auroc(y, p, w),
            "brier": brier(y, p, w),
            "calibration_in_the_large": mean_risk - relapse_aj.estimate,
            "calibration_slope": calibration_slope(y, p, w),
            "observed_incidence": relapse_aj.estimate,
            "observed_incidence_ci_low": relapse_aj.ci_low,
            "observed_incidence_ci_high": relapse_aj.ci_high,
            "mean_predicted_risk": mean_risk,
            "observed_death_incidence": death_aj.estimate,
            "mean_predicted_death": float(np.mean(death[:, k])),
            "events_per_parameter": events_per_parameter(
                minority_events(task.label[~kept], task.weight[~kept]), n_parameters
            ),
        }
        figures.update(baselines.at(horizon, position[kept], y, w))
        oracle = true_incidence(truth, landmark, horizon)
        if oracle is not None:
            truth_p = oracle.reindex(np.asarray(task.patient_ids)[kept]).to_numpy(dtype=float)
            known = np.isfinite(truth_p)
            if known.sum() > 1 and len(np.unique(y[known])) == 2:
                figures["oracle_auroc"] = auroc(y[known], truth_p[known], w[known])
                figures["auroc_oracle_ratio"] = figures["auroc"] / figures["oracle_auroc"]
        suffix = pair_suffix(landmark, horizon)
        metrics.update({f"{name}{suffix}": float(v) for name, v in figures.items()})
        rows.append({"landmark_day": landmark, "horizon_days": horizon, **figures})
    return metrics, pd.DataFrame(rows)


@dataclass(frozen=True)
class _Baselines:
    """The survival-library baselines of one landmark, fitted on its training patients.

    Aalen-Johansen without covariates (every patient gets the training incidence) and a
    cause-specific Cox model per cause on the clinical baseline features (disease,
    burden, age, prior lines; imputed, scaled, one-hot), combined into a cumulative
    incidence of relapse (:func:`relapse_ml.evaluation.competing.fit_cause_specific_cox`).
    """

    training_incidence: dict[int, float]
    cox_incidence: dict[int, np.ndarray]

    @classmethod
    def fit(
        cls, data: TaskData, config: TrainConfig, time: np.ndarray, events: np.ndarray
    ) -> _Baselines:
        """Fit on the landmark's training patients (``time``, ``events``: every at-risk one)."""
        landmark, test = data.landmark_day, data.at_risk_test
        horizons = config.task.horizons_after(landmark)
        prepare = clinical_baseline_model(landmark_day=landmark)[:-1]
        x_train = pd.DataFrame(prepare.fit_transform(data.at_risk_input[~test]))
        x_test = pd.DataFrame(prepare.transform(data.at_risk_input[test]))
        x_train.columns = x_test.columns = [f"x{i}" for i in range(x_train.shape[1])]
        cox = fit_cause_specific_cox(x_train, time[~test], events[~test], landmark=landmark)
        cif = cox.predict_cumulative_incidence(x_test, horizons)
        return cls(
            {
                h: aalen_johansen_incidence(
                    time[~test], events[~test], h, landmark=landmark
                ).estimate
                for h in horizons
            },
            {h: cif[(RELAPSE, h)] for h in horizons},
        )

    def at(self, horizon: int, rows: np.ndarray, y: np.ndarray, w: np.ndarray) -> dict[str, float]:
        """Baseline figures on the (L, H) task rows (``rows`` index the held-out patients)."""
        constant = np.full(len(y), self.training_incidence[horizon])
        cox = self.cox_incidence[horizon][rows]
        return {
            "baseline_aalen_johansen_brier": brier(y, constant, w),
            "baseline_cox_auroc": auroc(y, cox, w),
            "baseline_cox_brier": brier(y, cox, w),
        }


def _time_and_events(outcomes: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Observed days and event codes (0 censored, 1 relapse, 2 death without relapse)."""
    deaths = outcomes.get(DEATH_COLUMN, pd.Series(pd.NA, index=outcomes.index, dtype="boolean"))
    events = event_codes(outcomes["relapse"], deaths)
    return outcomes["time_days"].to_numpy(dtype=float), events
