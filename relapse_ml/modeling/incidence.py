"""Cumulative-incidence curves of relapse and non-relapse death, anchored at the primary risk.

At a landmark ``L`` the served classifier gives ``r``, the cumulative incidence of
relapse by the primary horizon ``P`` (non-relapse death competing). The rest of the
curve is modelled as conditional probabilities, each a bounded factor in ``[0, 1]``
fitted on the landmark features of the patients it is about, with the task's
inverse-probability-of-censoring weights (:func:`relapse_ml.task.build_landmark_task`):

* at ``P``: ``d = P(death by P | no relapse by P)``, so death(P) = ``(1 - r) d``;
* each horizon ``H`` before ``P`` (from the latest down, ``H'`` the next one up):
  ``P(relapse by H | relapse by H')`` and ``P(death by H | death by H')``, so
  relapse(H) = relapse(H') x factor (likewise death);
* each horizon ``H`` after ``P`` (``H'`` the previous one), among patients event-free
  at ``H'``: ``a = P(relapse in (H', H])`` and ``b = P(death in (H', H] | no relapse
  in it)``; with ``S = 1 - relapse(H') - death(H')`` the event-free share,
  relapse(H) = relapse(H') + ``S a`` and death(H) = death(H') + ``S (1 - a) b``.

So, for every patient and by construction, both curves are non-decreasing in ``H``,
they add up to at most 1, and relapse(P) is exactly the served (and explained) risk.
Anchoring keeps the primary risk's selection, calibration and exact SHAP explanation
as they are; the factors are L2-penalised logistic regressions (few events per
factor: a flexible model would overfit), or the weighted share when a factor has fewer
than ``min_events`` events or non-events (the run logs which).

Deaths are known only when the outcomes say so (contract version 2). When every
death is unknown (a version-1 table) the death factors are 0, the relapse curve is
the censoring-only answer, and :attr:`IncidenceCurve.death_known` is False so the
death incidences are reported as missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression

from relapse_ml.features import FeatureSpec
from relapse_ml.modeling.preprocessing import make_preprocessor
from relapse_ml.task import LandmarkTask, build_landmark_task


@dataclass
class ConditionalFactor:
    """One conditional probability of the curve: a fitted model, or a constant share.

    Attributes
    ----------
    name : str
        What it is, e.g. ``relapse_by_180_given_by_365``.
    estimator : LogisticRegression or None
        Fitted on the curve's preprocessed landmark features; None when the factor is
        the constant ``share``.
    share : float
        Weighted share of the event among the factor's patients (0 when there are none).
    """

    name: str
    estimator: LogisticRegression | None
    share: float

    def predict(self, preprocessed: np.ndarray) -> np.ndarray:
        """The factor for each patient, in ``[0, 1]``."""
        if self.estimator is None or len(preprocessed) == 0:
            return np.full(len(preprocessed), self.share, dtype=float)
        return self.estimator.predict_proba(preprocessed)[:, 1]


@dataclass
class IncidenceCurve:
    """Fitted factors that turn the primary risk into curves over the horizons.

    Attributes
    ----------
    landmark_day : int
    horizons_days : tuple of int
        Every configured horizon (the output columns); those ``<= landmark_day`` are
        reported as missing.
    primary_horizon : int
    preprocess : ColumnTransformer
        Imputation, scaling and one-hot encoding shared by every factor (fitted once on
        the training patients at risk, so scoring preprocesses each patient once).
    factors : dict of str to ConditionalFactor
    death_known : bool
        False when the training outcomes could not tell deaths from loss to follow-up.
    """

    landmark_day: int
    horizons_days: tuple[int, ...]
    primary_horizon: int
    preprocess: ColumnTransformer
    factors: dict[str, ConditionalFactor]
    death_known: bool

    def incidences(self, features: pd.DataFrame, risk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cumulative incidences of relapse and of non-relapse death by each horizon.

        Parameters
        ----------
        features : DataFrame
            Landmark features (before imputation), one row per patient.
        risk : ndarray
            The served risk at the primary horizon, one per patient.

        Returns
        -------
        relapse, death : ndarray of shape (n_patients, n_horizons)
            Columns in ``horizons_days`` order; NaN where ``H <= landmark_day``, and
            all of ``death`` NaN when deaths were unknown in training.
        """
        risk = np.asarray(risk, dtype=float)
        n, primary = risk.size, self.primary_horizon
        features = self.preprocess.transform(features) if n else np.empty((0, 0))
        relapse = {primary: risk}
        death = {primary: (1.0 - risk) * self._factor(_death_at(primary), features)}
        for step in _steps(self.landmark_day, self.horizons_days, primary):
            h, known = step.horizon, step.known
            a = self._factor(step.relapse_factor, features)
            b = self._factor(step.death_factor, features)
            if step.before_primary:  # shares of the later horizon's incidences
                relapse[h], death[h] = relapse[known] * a, death[known] * b
            else:  # the event-free share at the earlier horizon, split in (known, h]
                free = np.clip(1.0 - relapse[known] - death[known], 0.0, 1.0)
                relapse[h] = relapse[known] + free * a
                death[h] = death[known] + free * (1.0 - a) * b
        missing = np.full(n, np.nan)
        rel = np.column_stack([relapse.get(h, missing) for h in self.horizons_days])
        dead = np.column_stack([death.get(h, missing) for h in self.horizons_days])
        if not self.death_known:
            dead = np.full_like(dead, np.nan)
        return rel, dead

    def _factor(self, name: str, preprocessed: np.ndarray) -> np.ndarray:
        return self.factors[name].predict(preprocessed)


def fit_incidence_curve(
    features: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    catalogue: Sequence[FeatureSpec],
    landmark_day: int,
    horizons_days: Sequence[int],
    primary_horizon: int,
    censoring: str,
    min_events: int = 10,
    penalty_c: float = 0.1,
    random_state: int = 0,
) -> IncidenceCurve:
    """Fit the conditional factors of the curve on the training patients at the landmark.

    Parameters
    ----------
    features : DataFrame
        Landmark features of the training patients at risk at ``landmark_day``,
        indexed by ``patient_id`` (the factors' shared preprocessing is fitted on them).
    outcomes : DataFrame
        Their canonical outcomes (``patient_id``, ``relapse``, ``time_days``,
        ``death_without_relapse``).
    catalogue : sequence of FeatureSpec
        What the features are (for the preprocessing step).
    landmark_day, horizons_days, primary_horizon, censoring
        The task (see :class:`relapse_ml.task.TaskConfig`).
    min_events : int, default 10
        A factor with fewer events or non-events (weighted counts) is a constant share.
    penalty_c : float, default 0.1
        Inverse L2 strength of the factors' logistic regressions (standardised features).
    random_state : int, default 0

    Returns
    -------
    IncidenceCurve
    """
    preprocess = make_preprocessor(catalogue, "logistic").fit(features)
    template = LogisticRegression(C=penalty_c, max_iter=2000, random_state=random_state)
    rows = pd.Index(features.index.astype(str))
    ctx = _FitContext(rows, preprocess.transform(features), template, min_events)
    primary = build_landmark_task(outcomes, landmark_day, primary_horizon, censoring)
    factors = [
        ctx.fit(_death_at(primary_horizon), primary, primary.label == 0, primary.death_label)
    ]
    for step in _steps(landmark_day, horizons_days, primary_horizon):
        h, known = step.horizon, step.known
        if step.before_primary:
            by_h = primary.time <= h
            relapsed = (primary.label == 1) & (primary.time <= known)
            died = (primary.death_label == 1) & (primary.time <= known)
            factors.append(ctx.fit(step.relapse_factor, primary, relapsed, by_h))
            factors.append(ctx.fit(step.death_factor, primary, died, by_h))
        else:
            window = build_landmark_task(outcomes, known, h, censoring)
            every = np.ones(window.label.size, dtype=bool)
            factors.append(ctx.fit(step.relapse_factor, window, every, window.label))
            factors.append(
                ctx.fit(step.death_factor, window, window.label == 0, window.death_label)
            )
    return IncidenceCurve(
        landmark_day=int(landmark_day),
        horizons_days=tuple(int(h) for h in horizons_days),
        primary_horizon=int(primary_horizon),
        preprocess=preprocess,
        factors={f.name: f for f in factors},
        death_known=primary.competing_death != "unknown",
    )


@dataclass(frozen=True)
class _Step:
    """One horizon of the curve, reached from the horizon ``known`` already computed.

    Before the primary horizon the factors are ``P(event by horizon | event by known)``;
    after it, ``P(relapse in (known, horizon] | event-free at known)`` and
    ``P(death in it | no relapse in it)``. Fitting and scoring share these names.
    """

    horizon: int
    known: int
    before_primary: bool

    @property
    def relapse_factor(self) -> str:
        if self.before_primary:
            return f"relapse_by_{self.horizon}_given_by_{self.known}"
        return f"relapse_in_{self.known}_{self.horizon}"

    @property
    def death_factor(self) -> str:
        if self.before_primary:
            return f"death_by_{self.horizon}_given_by_{self.known}"
        return f"death_in_{self.known}_{self.horizon}"


def _death_at(primary_horizon: int) -> str:
    """The factor ``P(death by P | no relapse by P)``."""
    return f"death_by_{primary_horizon}"


def _steps(landmark_day: int, horizons_days: Sequence[int], primary: int) -> list[_Step]:
    """The horizons after the landmark other than the primary, in the order they are built:
    down from the primary horizon, then up from it."""
    before = sorted((h for h in horizons_days if landmark_day < h < primary), reverse=True)
    after = sorted(h for h in horizons_days if h > primary)
    return [
        *(_Step(h, k, True) for h, k in zip(before, [primary, *before], strict=False)),
        *(_Step(h, k, False) for h, k in zip(after, [primary, *after], strict=False)),
    ]


@dataclass
class _FitContext:
    rows: pd.Index
    preprocessed: np.ndarray
    template: BaseEstimator
    min_events: int

    def fit(
        self, name: str, task: LandmarkTask, rows: np.ndarray, target: np.ndarray
    ) -> ConditionalFactor:
        """Fit ``P(target | rows)`` with the task's weights (rows: a mask over the task)."""
        y = np.asarray(target, dtype=int)[rows]
        w = np.asarray(task.weight, dtype=float)[rows]
        if y.size == 0 or w.sum() <= 0:
            return ConditionalFactor(name, None, 0.0)
        share = float(np.average(y, weights=w))
        events, non_events = float(w[y == 1].sum()), float(w[y == 0].sum())
        if min(events, non_events) < self.min_events:
            return ConditionalFactor(name, None, share)
        x = self.preprocessed[self.rows.get_indexer(np.asarray(task.patient_ids)[rows])]
        estimator = clone(self.template).fit(x, y, sample_weight=w)
        return ConditionalFactor(name, estimator, share)
