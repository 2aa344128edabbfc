"""Competing-risk evaluation: event codes, Aalen-Johansen incidence, cause-specific Cox baseline.

The task (:mod:`relapse_ml.task`) predicts, for a patient alive and relapse-free at
landmark day ``L``, the cumulative incidence of relapse by horizon day ``H`` with death
without relapse competing. Here: :func:`event_codes` (1 relapse, 2 death without
relapse, 0 censored); :func:`aalen_johansen_incidence`, the observed incidence with its
confidence interval; and a baseline model, :func:`fit_cause_specific_cox` (one Cox model
per cause), combined into per-patient incidences by
:func:`cumulative_incidence_from_cause_specific_hazards`. Estimators: scikit-survival.

Clock: estimates condition on ``time > L`` and measure time from the landmark
(``time - L``; everyone enters at ``L``, the risk sets of entry at ``L`` on the infusion
clock). Horizons are days after infusion. Ties: on one day events come before
censorings (censored patients are at risk for that day's events), as in the task's
IPCW weights. scikit-survival is imported inside the functions, so importing
:mod:`relapse_ml.evaluation` stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "CAUSES",
    "CENSORED",
    "DEATH",
    "RELAPSE",
    "CauseSpecificCox",
    "CumulativeIncidence",
    "aalen_johansen_incidence",
    "cumulative_incidence_from_cause_specific_hazards",
    "event_codes",
    "fit_cause_specific_cox",
]

CENSORED, RELAPSE, DEATH = 0, 1, 2
#: The competing causes, in the order their models are fitted and reported.
CAUSES = (RELAPSE, DEATH)


def event_codes(relapse: object, death_without_relapse: object) -> np.ndarray:
    """Event code per patient: 1 relapse, 2 death without relapse, 0 censored.

    Parameters
    ----------
    relapse : array-like of bool
        Relapse at ``time_days``; must not be missing.
    death_without_relapse : array-like of nullable bool
        Death without relapse at ``time_days``; missing (``NA``, ``None``, ``NaN``) means
        unknown and is handled as censoring (code 0) unless the patient relapsed.

    Returns
    -------
    ndarray of int

    Raises
    ------
    ValueError
        Different lengths, a missing relapse, or both relapse and death for a patient.
    """
    rel = pd.array(np.asarray(relapse, dtype=object), dtype="boolean")
    death = pd.array(np.asarray(death_without_relapse, dtype=object), dtype="boolean")
    if len(rel) != len(death):
        raise ValueError(f"relapse ({len(rel)}) and death ({len(death)}) differ in length")
    if rel.isna().any():
        raise ValueError("relapse must not be missing")
    rel, death = rel.to_numpy(dtype=bool), death.to_numpy(dtype=bool, na_value=False)
    if (both := int((rel & death).sum())) > 0:
        raise ValueError(f"{both} patient(s) have both relapse and death without relapse")
    return np.where(rel, RELAPSE, np.where(death, DEATH, CENSORED)).astype(int)


@dataclass(frozen=True)
class CumulativeIncidence:
    """Cumulative incidence of one cause by a horizon, with its confidence interval.

    Attributes
    ----------
    estimate : float
        Aalen-Johansen estimate in [0, 1].
    ci_low, ci_high : float
        Pointwise ``1 - alpha`` log-log interval; NaN when the estimate is 0.
    n_at_risk, n_events : int
        Patients at risk at the landmark (``time > landmark``), and events of the cause
        among them on or before the horizon.
    """

    estimate: float
    ci_low: float
    ci_high: float
    n_at_risk: int
    n_events: int


def _time_event(time: object, event: object) -> tuple[np.ndarray, np.ndarray]:
    """Check and return time (float) and event codes (int)."""
    t = np.asarray(time, dtype=float)
    e = np.asarray(event)
    if t.ndim != 1 or t.shape != e.shape:
        raise ValueError("time and event must be 1-d arrays of the same length")
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError("time must be finite and > 0")
    if not np.isin(e, (CENSORED, *CAUSES)).all():
        raise ValueError(f"event codes must be in {{0, 1, 2}}, got {sorted(set(e.tolist()))}")
    return t, e.astype(int)


def _at_risk(t: np.ndarray, landmark: float, horizons: object = ()) -> np.ndarray:
    """Check the landmark and horizons; return the mask of patients at risk (``t > L``)."""
    if landmark < 0:
        raise ValueError(f"landmark must be >= 0, got {landmark}")
    if np.any(np.asarray(horizons, dtype=float) <= landmark):
        raise ValueError(f"horizons must be after the landmark day {landmark}")
    at_risk = t > landmark
    if not at_risk.any():
        raise ValueError(f"no patient is at risk after landmark day {landmark}")
    return at_risk


def aalen_johansen_incidence(
    time: object,
    event: object,
    horizon: float,
    *,
    landmark: float = 0,
    cause: int = RELAPSE,
    alpha: float = 0.05,
) -> CumulativeIncidence:
    """Aalen-Johansen cumulative incidence of ``cause`` by day ``horizon``, given ``time > landmark``.

    Parameters
    ----------
    time, event : array-like
        Days from infusion to the event or last follow-up (> 0); :func:`event_codes`.
    horizon : float
        ``H``, day after infusion (> ``landmark``); events on day ``H`` are counted.
    landmark : float, default 0
        ``L``: only patients with ``time > landmark`` are used.
    cause : {1, 2}, default 1
        The cause whose incidence is estimated; the other is competing.
    alpha : float, default 0.05
        ``1 - alpha`` confidence interval, in (0, 1).

    Returns
    -------
    CumulativeIncidence

    Notes
    -----
    scikit-survival's ``cumulative_incidence_competing_risks``, ``sum S(t-) d_k(t) / n(t)``
    over days: ``d_k(t)`` counts all events of cause ``k`` on day ``t`` and ``n(t)`` all
    patients with ``time >= t``, so tied events share one risk set and censorings on an
    event day are at risk (the module's tie rule, no tie-breaking needed). Interval:
    ``F ** exp(+-z sd(F) / (F log F))``, Aalen's variance. That function needs events of
    every cause: without competing events, ``1 - S`` of ``kaplan_meier_estimator`` (the
    same estimate) and its log-log (Greenwood) interval are used.
    """
    from sksurv.nonparametric import cumulative_incidence_competing_risks, kaplan_meier_estimator

    t, e = _time_event(time, event)
    if cause not in CAUSES:
        raise ValueError(f"cause must be one of {CAUSES}, got {cause!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    at_risk = _at_risk(t, landmark, [horizon])
    t, e = t[at_risk] - landmark, e[at_risk]
    n_events = int(((e == cause) & (t <= horizon - landmark)).sum())
    counts = {"n_at_risk": int(at_risk.sum()), "n_events": n_events}
    if n_events == 0:  # the incidence only jumps at events of the cause
        return CumulativeIncidence(0.0, np.nan, np.nan, **counts)
    interval = {"conf_type": "log-log", "conf_level": 1 - alpha}
    if (e == (DEATH if cause == RELAPSE else RELAPSE)).any():
        days, cif, ci = cumulative_incidence_competing_risks(e, t, **interval)
        cif, ci = cif[cause], ci[cause]
    else:  # no competing event: 1 - Kaplan-Meier, (low, high) = 1 - (S high, S low)
        days, survival, ci = kaplan_meier_estimator(e == cause, t, **interval)
        cif, ci = 1 - survival, 1 - ci[::-1]
    row = int(np.searchsorted(days, horizon - landmark, side="right")) - 1
    return CumulativeIncidence(float(cif[row]), float(ci[0, row]), float(ci[1, row]), **counts)


def cumulative_incidence_from_cause_specific_hazards(
    times: object,
    baseline_hazards: Mapping[int, object],
    linear_predictors: Mapping[int, object],
    horizons: object,
) -> dict[int, np.ndarray]:
    """Per-patient cumulative incidences from cause-specific Cox hazards.

    Parameters
    ----------
    times : array-like of float, shape (m,)
        Increasing times at which the baseline hazards jump.
    baseline_hazards : mapping of int to array-like, shape (m,)
        Per cause, the baseline hazard increments ``dLambda0_k(t)`` (>= 0) at ``times``.
    linear_predictors : mapping of int to array-like, shape (n,)
        Per cause (same keys), each patient's log relative hazard ``eta_k``, on the scale
        of the baseline (``dLambda_k(t) = exp(eta_k) dLambda0_k(t)``).
    horizons : array-like of float, shape (h,)
        Times (same clock as ``times``) to evaluate at; jumps at ``t <= H`` count.

    Returns
    -------
    dict of int to ndarray, shape (n, h)
        Cause -> ``CIF_k(H)`` per patient and horizon.

    Notes
    -----
    Exponential (Breslow) form, with ``dLambda = sum_k dLambda_k`` and
    ``S(t) = exp(-sum_k Lambda_k(t))``::

        CIF_k(H) = sum_{t <= H} S(t-) * (1 - exp(-dLambda(t))) * dLambda_k(t) / dLambda(t)

    the probability of an event at ``t`` given event-free before it, shared between
    causes in proportion to their hazards. To first order in the increments this is the
    usual ``sum S(t-) dLambda_k(t)``; unlike it, ``sum_k CIF_k(H) = 1 - S(H)`` exactly
    (up to rounding), even for large Breslow increments: incidences are non-decreasing,
    in [0, 1], add up to at most 1, and with one cause equal a Cox model's ``1 - S``.
    """
    t = np.asarray(times, dtype=float)
    if t.ndim != 1 or np.any(np.diff(t) <= 0):
        raise ValueError("times must be a strictly increasing 1-d array")
    if set(baseline_hazards) != set(linear_predictors):
        raise ValueError("baseline_hazards and linear_predictors must have the same causes")
    causes = sorted(baseline_hazards)
    h = np.atleast_1d(np.asarray(horizons, dtype=float))
    increments = {}
    for k in causes:
        base = np.asarray(baseline_hazards[k], dtype=float)
        eta = np.atleast_1d(np.asarray(linear_predictors[k], dtype=float))
        if base.shape != t.shape or np.any(base < 0) or not np.all(np.isfinite(base)):
            raise ValueError(f"baseline hazard of cause {k}: need {t.size} finite values >= 0")
        increments[k] = np.exp(eta)[:, None] * base[None, :]
    if len({v.shape for v in increments.values()}) != 1:
        raise ValueError("linear predictors of every cause must have one value per patient")
    total = sum(increments.values())
    survival_before = np.exp(-(np.cumsum(total, axis=1) - total))  # S(t-)
    any_event = -np.expm1(-total)  # 1 - exp(-dLambda(t))
    n_before = np.searchsorted(t, h, side="right")  # jumps at t <= H
    out = {}
    for k in causes:
        share = np.divide(increments[k], total, out=np.zeros_like(total), where=total > 0)
        cif = np.pad(np.cumsum(survival_before * any_event * share, axis=1), ((0, 0), (1, 0)))
        out[k] = np.clip(cif[:, n_before], 0.0, 1.0)
    return out


@dataclass(frozen=True, eq=False)
class CauseSpecificCox:
    """One Cox model per cause, fitted on the patients at risk at the landmark.

    Attributes
    ----------
    landmark : float
        ``L``; model time is days since ``L``.
    columns, dropped : tuple of str
        Features used, in order, and those dropped (constant among the patients at risk).
    center, scale : ndarray
        Standardisation of ``columns`` (mean and standard deviation at fit).
    models : dict of int to sksurv.linear_model.CoxPHSurvivalAnalysis or None
        Cause -> model fitted on the standardised ``columns`` (other cause censored);
        None (coefficients 0) for a cause without events or when no column is left.
    times : ndarray of float
        Distinct event-or-censoring days since ``L`` (the baseline hazards' grid).
    baseline_hazards : dict of int to ndarray
        Cause -> Breslow increments at ``times``, at the mean standardised features.
    n_at_risk, n_events : int, dict of int to int
        Patients used (``time > landmark``), and events per cause among them.
    """

    landmark: float
    columns: tuple[str, ...]
    dropped: tuple[str, ...]
    center: np.ndarray
    scale: np.ndarray
    models: dict[int, object]
    times: np.ndarray
    baseline_hazards: dict[int, np.ndarray]
    n_at_risk: int
    n_events: dict[int, int]

    def linear_predictors(self, features: pd.DataFrame) -> dict[int, np.ndarray]:
        """Cause -> log relative hazard per row of ``features``: ``(x - center) / scale @ coef_``."""
        if missing := [c for c in self.columns if c not in features.columns]:
            raise ValueError(f"features lack column(s) {', '.join(missing)}")
        x = features[list(self.columns)].to_numpy(dtype=float)
        if not np.all(np.isfinite(x)):
            raise ValueError("features must be finite (impute before predicting)")
        z = (x - self.center) / self.scale
        return {k: np.zeros(len(z)) if m is None else m.predict(z) for k, m in self.models.items()}

    def predict_cumulative_incidence(
        self, features: pd.DataFrame, horizons: object
    ) -> dict[tuple[int, int], np.ndarray]:
        """Per-patient cumulative incidence of each cause by each horizon.

        Parameters
        ----------
        features : DataFrame
            One row per patient alive and event-free at the landmark, with at least
            :attr:`columns` (numeric, no missing values).
        horizons : array-like of int
            Days after infusion (> :attr:`landmark`).

        Returns
        -------
        dict of (int, int) to ndarray
            ``(cause, horizon)`` -> ``CIF_cause(horizon | T > L)``, one value per row of
            ``features``. See :func:`cumulative_incidence_from_cause_specific_hazards`.
        """
        h = np.atleast_1d(np.asarray(horizons))
        if np.any(h <= self.landmark):
            raise ValueError(f"horizons must be after the landmark day {self.landmark}")
        cif = cumulative_incidence_from_cause_specific_hazards(
            self.times, self.baseline_hazards, self.linear_predictors(features), h - self.landmark
        )
        return {(k, int(hz)): cif[k][:, j] for k in cif for j, hz in enumerate(h)}


def fit_cause_specific_cox(
    features: pd.DataFrame,
    time: object,
    event: object,
    *,
    landmark: float,
    penalizer: float = 0.01,
) -> CauseSpecificCox:
    """Fit one Cox model per cause on the patients at risk at ``landmark``.

    Parameters
    ----------
    features : DataFrame
        One row per patient (aligned with ``time`` and ``event``), numeric columns chosen
        and imputed by the caller; rows of patients at risk must be finite.
    time, event : array-like
        Days from infusion to the event or last follow-up (> 0); :func:`event_codes`.
    landmark : float
        ``L``: patients with ``time > landmark`` are used, with time ``time - landmark``.
    penalizer : float, default 0.01
        Ridge penalty ``penalizer * n / 2 * ||beta||^2`` on standardised features
        (``n`` patients at risk; scikit-survival's ``alpha = penalizer * n``): keeps the
        fit finite under separation or collinearity.

    Returns
    -------
    CauseSpecificCox

    Notes
    -----
    For cause ``k`` the other cause is censoring (cause-specific hazard). Features are
    standardised on the at-risk patients; constant columns are dropped. Ties: Breslow's
    partial likelihood and baseline hazard, censorings on an event day at risk.
    """
    from sksurv.linear_model import CoxPHSurvivalAnalysis
    from sksurv.nonparametric import nelson_aalen_estimator
    from sksurv.util import Surv

    t, e = _time_event(time, event)
    if not isinstance(features, pd.DataFrame) or len(features) != t.size:
        raise ValueError(f"features must be a DataFrame with {t.size} rows")
    at_risk = _at_risk(t, landmark)
    frame = features.loc[at_risk]
    if non_numeric := [c for c in frame if not pd.api.types.is_numeric_dtype(frame[c])]:
        raise ValueError(f"features must be numeric; not: {', '.join(map(str, non_numeric))}")
    x = frame.to_numpy(dtype=float)
    if not np.all(np.isfinite(x)):
        raise ValueError("features of patients at risk must be finite (impute before fitting)")
    constant = np.ptp(x, axis=0) == 0
    center, scale = x[:, ~constant].mean(axis=0), x[:, ~constant].std(axis=0, ddof=1)
    z = (x[:, ~constant] - center) / scale
    duration, e = t[at_risk] - landmark, e[at_risk]
    times = np.unique(duration)
    models, hazards = {}, {}
    for k in CAUSES:
        models[k], cumulative = None, np.zeros(times.size)
        if (e == k).any() and z.shape[1] > 0:
            cox = CoxPHSurvivalAnalysis(alpha=penalizer * duration.size, ties="breslow")
            models[k] = cox.fit(z, Surv.from_arrays(e == k, duration))
            cumulative = np.atleast_1d(cox.cum_baseline_hazard_(times))
        elif (e == k).any():  # no feature left: Breslow's estimator is Nelson-Aalen's
            cumulative = nelson_aalen_estimator(e == k, duration)[1]
        hazards[k] = np.diff(cumulative, prepend=0.0)
    return CauseSpecificCox(
        landmark=landmark,
        columns=tuple(frame.columns[~constant]),
        dropped=tuple(frame.columns[constant]),
        center=center,
        scale=scale,
        models=models,
        times=times,
        baseline_hazards=hazards,
        n_at_risk=int(at_risk.sum()),
        n_events={k: int((e == k).sum()) for k in CAUSES},
    )
