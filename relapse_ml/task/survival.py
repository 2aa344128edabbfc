"""Kaplan-Meier step functions: the censoring distribution behind the task's weights."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class KaplanMeier:
    """A right-continuous Kaplan-Meier step function.

    Attributes
    ----------
    times : ndarray of float
        Distinct times at which at least one event occurred, increasing.
    survival : ndarray of float
        Survival just after each of ``times`` (``S(times[k])``).
    at_risk, events : ndarray of float
        Number at risk and number of events at each of ``times``.
    """

    times: np.ndarray
    survival: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray

    def __call__(self, t: float | np.ndarray) -> np.ndarray:
        """Return ``S(t)``: survival including the drops at ``t``."""
        idx = np.searchsorted(self.times, np.asarray(t, dtype=float), side="right")
        return np.concatenate([[1.0], self.survival])[idx]

    def left_limit(self, t: float | np.ndarray) -> np.ndarray:
        """Return ``S(t-)``: survival just before ``t`` (excluding the drops at ``t``)."""
        idx = np.searchsorted(self.times, np.asarray(t, dtype=float), side="left")
        return np.concatenate([[1.0], self.survival])[idx]


def kaplan_meier(
    time: np.ndarray, event: np.ndarray, *, censored_at_risk_at_ties: bool = True
) -> KaplanMeier:
    """Estimate a survival function by Kaplan-Meier.

    Parameters
    ----------
    time : array-like of float
        Observed times (event or censoring).
    event : array-like of bool or 0/1
        1 for an event at ``time``, 0 for censoring at ``time``.
    censored_at_risk_at_ties : bool, default True
        The usual convention (True): a subject censored at ``t`` is still at risk
        for events at ``t`` (events happen first). False removes subjects censored
        at ``t`` from the risk set at ``t`` (censorings happen first); this is what
        the censoring distribution needs when relapse precedes censoring at ties,
        see :func:`censoring_survival`.

    Returns
    -------
    KaplanMeier
        Step function; call it for ``S(t)``, use ``.left_limit`` for ``S(t-)``.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(bool)
    if time.ndim != 1 or time.shape != event.shape:
        raise ValueError("time and event must be 1-d arrays of the same length")
    if not np.all(np.isfinite(time)):
        raise ValueError("time must be finite")
    uniq, inverse = np.unique(time, return_inverse=True)
    n_events = np.bincount(inverse, weights=event.astype(float), minlength=uniq.size)
    n_censored = np.bincount(inverse, weights=(~event).astype(float), minlength=uniq.size)
    n_total = n_events + n_censored
    # number with time >= t, for each distinct t
    at_risk = time.size - np.concatenate([[0.0], np.cumsum(n_total)[:-1]])
    if not censored_at_risk_at_ties:
        at_risk = at_risk - n_censored
    has_event = n_events > 0
    factors = 1.0 - n_events[has_event] / at_risk[has_event]
    return KaplanMeier(
        times=uniq[has_event],
        survival=np.cumprod(factors),
        at_risk=at_risk[has_event],
        events=n_events[has_event],
    )


def censoring_survival(time: np.ndarray, event: np.ndarray) -> KaplanMeier:
    """Kaplan-Meier estimate of the censoring survival ``G(t) = P(C > t)``.

    Parameters
    ----------
    time : array-like of float
        Observed times.
    event : array-like of bool
        True for an observed event (relapse, or death without relapse), False for
        loss to follow-up. Censoring is the event of this estimate; at a tie an event
        happens before the censoring, so patients with an event at ``t`` are not at
        risk of being censored at ``t``.
    """
    event = np.asarray(event).astype(bool)
    return kaplan_meier(time, ~event, censored_at_risk_at_ties=False)
