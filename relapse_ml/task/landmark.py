"""The landmark prediction task: who is at risk at day L, their label at H, and their weight.

Contract ("The prediction task", version 2): at landmark day ``L`` the model predicts,
for a patient alive, relapse-free and in follow-up at day ``L``, the cumulative
incidence of relapse by horizon day ``H`` with non-relapse death as a competing event.
Patients with ``time_days <= L`` are not part of the task.

Labels and censoring
--------------------
For an at-risk patient (``time_days > L``) with observed time ``T``, relapse
indicator ``delta`` and death-without-relapse indicator ``death``:

* ``delta = 1`` and ``T <= H``: label 1 (relapse by the horizon);
* ``death`` and ``T <= H``: label 0, known: a patient who died without relapse
  cannot relapse by ``H``. The death is a competing event, never censoring
  (``death_label`` is 1 for these patients);
* ``T >= H`` (event after ``H``, or last follow-up on or after day ``H``): label 0.
  A patient last seen relapse-free *on* day ``H`` is known to be relapse-free through
  day ``H``, so the label is known (the contract calls only censoring *before* ``H``
  unknown);
* no event and ``T < H``: label unknown (loss to follow-up). Never counted as "no
  relapse". A missing ``death_without_relapse`` (a version-1 folder, or an empty
  cell) cannot be told from loss to follow-up and is handled as censoring.

``censoring="ipcw"`` (default) drops the unknown-label patients and weights the others
by the inverse probability of having had their label observed. With ``C`` the
censoring time and ``G(t) = P(C > t | T > L)`` the censoring survival function among
patients at risk at ``L``, a label is observed when ``C >= min(T_event, H)`` (ties:
an event on the day of censoring is observed, i.e. events happen before censoring),
so every kept patient gets::

    w_i = 1 / G(min(T_i, H)-)

``G`` is the Kaplan-Meier estimate with censoring as the event and either event
(relapse or death) as the censoring, on the at-risk population (this conditions on
``T > L``), with the tie rule above. ``G(t-)`` is the value just before ``t``. For
patients followed beyond ``H`` this is ``1 / G(H-)``, which equals ``1 / G(H)`` unless
someone is censored exactly on day ``H`` -- and those patients are kept (label 0), so
``G(H-)`` is the consistent choice. With these conventions the weighted share of
relapses is the Aalen-Johansen cumulative incidence of relapse:
``sum(w * label) / sum(w) = CIF_relapse(H | T > L)`` (and, without deaths, the
Kaplan-Meier ``1 - S(H | T > L)``); likewise ``death_label`` gives the cumulative
incidence of non-relapse death.

Weights are normalised to mean 1 over the kept patients (a rescaling, so weighted
metrics are unchanged; the effective sample size is not inflated).

``censoring="exclude"`` drops the unknown-label patients and gives everyone weight 1
(a complete-case analysis: biased towards early relapses when censoring is heavy;
logged as such through :meth:`LandmarkTask.to_params`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from relapse_ml.errors import UserError
from relapse_ml.task.survival import censoring_survival

CENSORING_RULES = ("ipcw", "exclude")
DEATH_COLUMN = "death_without_relapse"
_REQUIRED_COLUMNS = ("patient_id", "relapse", "time_days")


class TaskDefinitionError(UserError, ValueError):
    """The landmark task cannot be built from these arguments or outcomes."""


@dataclass(frozen=True, eq=False)
class LandmarkTask:
    """Patients, labels and weights of the landmark task, with counts for the log.

    Attributes
    ----------
    patient_ids : ndarray of str
        Patients in the task (input order), one per row of ``label`` and ``weight``.
    label : ndarray of int
        1 when relapse occurred on or before ``horizon_days``, else 0.
    death_label : ndarray of int
        1 when the patient died without relapse on or before ``horizon_days``, else 0
        (never 1 together with ``label``).
    time : ndarray of float
        Observed ``time_days`` of each kept patient (event or last follow-up).
    weight : ndarray of float
        Inverse-probability-of-censoring weights normalised to mean 1 (``ipcw``),
        or all 1 (``exclude``). Always > 0: excluded patients are dropped.
    landmark_day, horizon_days : int
        ``L`` and ``H``.
    censoring_rule : {"ipcw", "exclude"}
    n_input : int
        Rows in the outcomes table.
    n_not_at_risk : int
        Patients with ``time_days <= landmark_day`` (relapsed or lost before ``L``).
    n_at_risk : int
        Patients relapse-free and in follow-up at ``L``.
    n_censored_before_horizon : int
        At-risk patients censored before ``H``: unknown label, dropped.
    n_task, n_events, n_non_events : int
        Patients kept, and how many have label 1 and 0.
    n_deaths_before_horizon : int
        Kept patients who died without relapse by ``H`` (label 0, known).
    competing_death : {"known", "partial", "unknown"}
        Whether deaths without relapse could be told from loss to follow-up: for
        every at-risk patient without relapse (``known``), for some (``partial``:
        empty cells), or for none (``unknown``: a version-1 outcomes table).
    n_death_status_unknown : int
        At-risk patients without relapse whose ``death_without_relapse`` is missing.
    censoring_survival_at_horizon : float
        ``G(H- | T > L)`` (``ipcw``); NaN for ``exclude``.
    max_weight : float
        Largest normalised weight (large values signal unstable weighting).
    """

    patient_ids: np.ndarray
    label: np.ndarray
    death_label: np.ndarray
    time: np.ndarray
    weight: np.ndarray
    landmark_day: int
    horizon_days: int
    censoring_rule: str
    n_input: int
    n_not_at_risk: int
    n_at_risk: int
    n_censored_before_horizon: int
    n_task: int
    n_events: int
    n_non_events: int
    censoring_survival_at_horizon: float
    max_weight: float
    n_deaths_before_horizon: int
    competing_death: str
    n_death_status_unknown: int

    def to_params(self) -> dict[str, str | int | float]:
        """Return the task definition and counts as flat MLflow-ready parameters."""
        params: dict[str, str | int | float] = {
            "landmark_day": self.landmark_day,
            "horizon_days": self.horizon_days,
            "censoring_rule": self.censoring_rule,
            "censoring_weighting": (
                "1/G(min(T,H)-|T>L), G by Kaplan-Meier on loss to follow-up (relapse and "
                "death without relapse are events, not censoring); weights normalised to mean 1"
                if self.censoring_rule == "ipcw"
                else "censored-before-horizon patients excluded; weight 1"
            ),
            "n_input": self.n_input,
            "n_not_at_risk": self.n_not_at_risk,
            "n_at_risk": self.n_at_risk,
            "n_censored_before_horizon": self.n_censored_before_horizon,
            "n_task": self.n_task,
            "n_events": self.n_events,
            "n_non_events": self.n_non_events,
            "n_deaths_before_horizon": self.n_deaths_before_horizon,
            "competing_death": self.competing_death,
            "n_death_status_unknown": self.n_death_status_unknown,
            "max_weight": round(float(self.max_weight), 6),
        }
        if self.censoring_rule == "ipcw":
            params["censoring_survival_at_horizon"] = round(
                float(self.censoring_survival_at_horizon), 6
            )
        return params

    def frame(self) -> pd.DataFrame:
        """Return ``patient_id``, ``label`` and ``weight`` as a DataFrame."""
        return pd.DataFrame(
            {
                "patient_id": self.patient_ids,
                "label": self.label,
                "death_label": self.death_label,
                "weight": self.weight,
            }
        )


def _death_status(outcomes: pd.DataFrame, relapse: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (died without relapse, status unknown) per row; no column = all unknown."""
    if DEATH_COLUMN not in outcomes.columns:
        return np.zeros(relapse.size, dtype=bool), ~relapse
    column = outcomes[DEATH_COLUMN].astype("boolean")
    unknown = column.isna().to_numpy() & ~relapse
    death = column.fillna(False).to_numpy(dtype=bool)
    if (death & relapse).any():
        pid = outcomes["patient_id"].to_numpy()[death & relapse][0]
        raise TaskDefinitionError(
            f"outcomes: patient {pid} has both relapse and death_without_relapse true"
        )
    return death, unknown


def _check_outcomes(outcomes: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return patient_id, relapse (bool) and time_days (float) after basic checks."""
    missing = [c for c in _REQUIRED_COLUMNS if c not in outcomes.columns]
    if missing:
        raise TaskDefinitionError(f"outcomes table lacks column(s) {', '.join(missing)}")
    ids = outcomes["patient_id"]
    if ids.isna().any():
        raise TaskDefinitionError("outcomes.patient_id has missing values")
    if ids.duplicated().any():
        dup = ids[ids.duplicated()].iloc[0]
        raise TaskDefinitionError(f"outcomes: patient {dup} appears more than once")
    relapse = outcomes["relapse"]
    time = outcomes["time_days"]
    if relapse.isna().any() or time.isna().any():
        raise TaskDefinitionError("outcomes.relapse and outcomes.time_days must not be missing")
    if not set(pd.unique(relapse.astype(object))) <= {True, False}:
        raise TaskDefinitionError("outcomes.relapse must be boolean")
    time_arr = pd.to_numeric(time).to_numpy(dtype=float)
    if np.any(time_arr <= 0) or not np.all(np.isfinite(time_arr)):
        raise TaskDefinitionError("outcomes.time_days must be finite and > 0")
    return ids.astype(str).to_numpy(dtype=object), relapse.to_numpy(dtype=bool), time_arr


def build_landmark_task(
    outcomes: pd.DataFrame,
    landmark_day: int = 28,
    horizon_days: int = 365,
    censoring: str = "ipcw",
) -> LandmarkTask:
    """Build the landmark task from the outcomes table.

    Parameters
    ----------
    outcomes : DataFrame
        Canonical outcomes table (``patient_id``, ``relapse``, ``time_days``; optional
        ``death_without_relapse``, nullable boolean).
    landmark_day : int, default 28
        ``L``: patients with ``time_days <= L`` are not part of the task.
    horizon_days : int, default 365
        ``H`` > ``L``: label = relapse on or before day ``H``.
    censoring : {"ipcw", "exclude"}, default "ipcw"
        How patients censored before ``H`` are handled (see the module docstring).

    Returns
    -------
    LandmarkTask

    Raises
    ------
    TaskDefinitionError
        Bad arguments (``horizon_days <= landmark_day``, negative landmark, unknown
        rule), a malformed outcomes table, no patient at risk at ``L``, or no patient
        with a known label.
    """
    for name, value in (("landmark_day", landmark_day), ("horizon_days", horizon_days)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise TaskDefinitionError(f"{name} must be an integer number of days, got {value!r}")
    if landmark_day < 0:
        raise TaskDefinitionError(f"landmark_day must be >= 0, got {landmark_day}")
    if horizon_days <= landmark_day:
        raise TaskDefinitionError(
            f"horizon_days ({horizon_days}) must be greater than landmark_day ({landmark_day})"
        )
    if censoring not in CENSORING_RULES:
        raise TaskDefinitionError(
            f"unknown censoring rule {censoring!r}; expected one of {', '.join(CENSORING_RULES)}"
        )
    ids, relapse, time = _check_outcomes(outcomes)
    death, death_unknown = _death_status(outcomes, relapse)
    at_risk = time > landmark_day
    if not at_risk.any():
        raise TaskDefinitionError(
            f"no patient is alive, relapse-free and in follow-up after landmark day "
            f"{landmark_day} ({ids.size} patient(s) in the outcomes table)"
        )
    ids, relapse, time = ids[at_risk], relapse[at_risk], time[at_risk]
    death, death_unknown = death[at_risk], death_unknown[at_risk]
    by_horizon = time <= horizon_days
    label = (relapse & by_horizon).astype(int)
    death_label = (death & by_horizon).astype(int)
    known = (label == 1) | (death_label == 1) | (time >= horizon_days)
    if not known.any():
        raise TaskDefinitionError(
            f"all {ids.size} at-risk patient(s) are censored before horizon day "
            f"{horizon_days}: no label is known"
        )
    n_unknown = int(death_unknown.sum())
    no_relapse = int((~relapse).sum())
    competing = "known" if n_unknown == 0 else "unknown" if n_unknown == no_relapse else "partial"
    if censoring == "ipcw":
        g = censoring_survival(time, relapse | death)
        g_horizon = float(g.left_limit(float(horizon_days)))
        # G(t-) > 0 for every kept patient: they are at risk of censoring up to t.
        raw = 1.0 / g.left_limit(np.minimum(time[known], horizon_days))
        weight = raw / raw.mean()
    else:
        g_horizon = float("nan")
        weight = np.ones(int(known.sum()))
    kept_label = label[known]
    n_events = int(kept_label.sum())
    return LandmarkTask(
        patient_ids=ids[known].astype(str),
        label=kept_label,
        death_label=death_label[known],
        time=time[known],
        weight=weight.astype(float),
        landmark_day=int(landmark_day),
        horizon_days=int(horizon_days),
        censoring_rule=censoring,
        n_input=len(outcomes),
        n_not_at_risk=int((~at_risk).sum()),
        n_at_risk=int(at_risk.sum()),
        n_censored_before_horizon=int((~known).sum()),
        n_task=int(known.sum()),
        n_events=n_events,
        n_non_events=int(known.sum()) - n_events,
        censoring_survival_at_horizon=g_horizon,
        max_weight=float(weight.max()),
        n_deaths_before_horizon=int(death_label[known].sum()),
        competing_death=competing,
        n_death_status_unknown=n_unknown,
    )
