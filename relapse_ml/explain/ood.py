"""Is a patient outside the population the model learned from?

Rules (all against the training reference stored in the model):

1. **Unseen category**: a categorical feature (disease, target antigen,
   costimulatory domain, sex) whose value never occurred in training.
2. **Beyond the training range**: a numeric feature outside the training 1st-99th
   percentiles ``[q01, q99]`` widened on each side by ``RANGE_MARGIN`` (50%) of
   that span. The model file keeps no minimum or maximum (each is one patient's
   value), so the range is built from percentiles; the margin keeps false alarms
   on new patients of the same population about where the old ``[min, max]``
   rule had them (simulated cohort, 415 training patients, 67 numeric features,
   3,000 new patients: 8% flagged either way; a 10% margin would flag 24%),
   while still flagging values the model never came near (trees extrapolate
   flat, linear models linearly, neither is supported by data). A value of a
   feature measured in fewer than 10 training patients (no percentiles kept)
   also counts.
3. **Novelty score**: the share of a patient's measured numeric features outside
   the training 1st-99th percentiles. In-distribution patients sit near 0.02; a
   score above ``NOVELTY_THRESHOLD`` (0.2, i.e. ten times that) is flagged on
   its own even when no single value breaks rule 2, provided at least
   ``NOVELTY_MIN_MEASURED`` (10) values were measured.

A patient is out of distribution when any rule fires; ``reasons`` says which, in
plain language.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from relapse_ml.artifact import RelapseRiskModel
from relapse_ml.artifact.reference import TrainingReference
from relapse_ml.explain.display import display_label, display_value
from relapse_ml.features import FeatureSpec

RANGE_MARGIN = 0.50
NOVELTY_THRESHOLD = 0.20
# Below this many measured values a share is too coarse to flag on its own.
NOVELTY_MIN_MEASURED = 10
_MAX_LISTED = 3


def _numeric_bounds(reference: TrainingReference, names: list[str]) -> tuple[np.ndarray, ...]:
    numeric = reference.numeric

    def get(key: str) -> np.ndarray:
        return np.array([numeric.get(n, {}).get(key, np.nan) for n in names], dtype=np.float64)

    q01, q99 = get("q01"), get("q99")
    span = np.where(np.isfinite(q99 - q01), q99 - q01, 0.0)
    return q01, q99, q01 - RANGE_MARGIN * span, q99 + RANGE_MARGIN * span


def assess_ood(
    model: RelapseRiskModel, feature_frame: pd.DataFrame
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Flag patients outside the training population.

    Parameters
    ----------
    model : RelapseRiskModel
        The served artifact (its ``reference`` and ``catalogue`` are used).
    feature_frame : DataFrame
        Landmark features before imputation (``Explanation.feature_values``).

    Returns
    -------
    ood : ndarray of bool (n,)
        Out of distribution by any rule.
    reasons : list of str (n,)
        Plain-language reasons joined by ``"; "`` ("" when in distribution).
    novelty : ndarray of float (n,)
        Share of measured numeric features outside training q01-q99 (0 when none measured).
    """
    n = len(feature_frame)
    reasons: list[list[str]] = [[] for _ in range(n)]
    reference = model.reference
    seen = reference.categories
    categorical = [s for s in model.catalogue if s.kind == "categorical"]
    for spec in categorical:
        if spec.name not in seen:
            continue
        values = feature_frame[spec.name]
        bad = (
            values.notna().to_numpy() & ~values.astype(object).isin(set(seen[spec.name])).to_numpy()
        )
        for i in np.flatnonzero(bad):
            reasons[i].append(f"{spec.label.lower()} {values.iloc[i]} was not seen in training")
    numeric_specs = [s for s in model.catalogue if s.kind == "numeric"]
    names = [s.name for s in numeric_specs]
    values = feature_frame[names].to_numpy(dtype=np.float64, na_value=np.nan)
    q01, q99, low, high = _numeric_bounds(reference, names)
    measured = np.isfinite(values)
    with np.errstate(invalid="ignore"):
        never_seen = measured & ~np.isfinite(q01)
        beyond = measured & ((values < low) | (values > high))
        outside_central = measured & ((values < q01) | (values > q99))
    n_measured = measured.sum(axis=1)
    n_outside = (outside_central | never_seen).sum(axis=1)
    novelty = np.divide(
        n_outside,
        n_measured,
        out=np.zeros(n, dtype=np.float64),
        where=n_measured > 0,
    )
    rows = np.flatnonzero((beyond | never_seen).any(axis=1))
    for i in rows:
        listed = 0
        for j in np.flatnonzero(beyond[i] | never_seen[i]):
            if listed == _MAX_LISTED:
                extra = int((beyond[i] | never_seen[i]).sum()) - _MAX_LISTED
                reasons[i].append(f"{extra} more value(s) beyond the training range")
                break
            reasons[i].append(_range_reason(numeric_specs[j], values[i, j], reference))
            listed += 1
    for i in np.flatnonzero((novelty > NOVELTY_THRESHOLD) & (n_measured >= NOVELTY_MIN_MEASURED)):
        reasons[i].append(
            f"novelty score {novelty[i]:.2f}: {int(n_outside[i])} of "
            f"{int(n_measured[i])} measured values outside the training 1st-99th percentiles"
        )
    text = ["; ".join(r) for r in reasons]
    return np.array([bool(t) for t in text]), text, novelty


def _range_reason(spec: FeatureSpec, value: float, reference: TrainingReference) -> str:
    stats = reference.numeric.get(spec.name, {})
    label = display_label(spec)
    shown, unit = display_value(spec, value)
    if not np.isfinite(stats.get("q01", np.nan)):
        return f"{label} {shown}{unit}: measured in too few training patients (under 10)"
    lo, _ = display_value(spec, stats["q01"])
    hi, _ = display_value(spec, stats["q99"])
    return (
        f"{label} {shown}{unit} far outside the training range "
        f"(1st-99th percentile {lo}-{hi}{unit})"
    )
