"""Batch-level drift against the training reference: PSI per feature, unseen categories, OOD share.

Counts are additive, so chunks (or Spark tasks) count their patients and the
job merges the counts; the population stability index is computed once at the
end from the merged counts, over the training reference's quantile bins
(``model.reference.psi_edges`` / ``.psi_shares``, last bin = missing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from relapse_ml.artifact.reference import TrainingReference, bin_shares

# Usual reading of the PSI: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 major shift.
PSI_MODERATE = 0.1
PSI_MAJOR = 0.25
# Empty bins would make the PSI infinite; a share floor keeps it finite and comparable.
SHARE_FLOOR = 1e-4


@dataclass
class DriftCounts:
    """Patients per reference bin (numeric features) and per value (categorical features).

    Attributes
    ----------
    bins : dict of str to ndarray of int64
        Per numeric feature, count per reference bin, the last entry counting missing values.
    categories : dict of str to dict of str to int
        Per categorical feature, count per observed value (missing values not counted).
    n_patients, n_ood : int
        Patients counted, and those flagged out-of-distribution.
    """

    bins: dict[str, np.ndarray] = field(default_factory=dict)
    categories: dict[str, dict[str, int]] = field(default_factory=dict)
    n_patients: int = 0
    n_ood: int = 0

    def update(self, features: pd.DataFrame, ood: np.ndarray, reference: TrainingReference) -> None:
        """Count one chunk: its feature frame (before imputation) and OOD flags."""
        n = len(features)
        self.n_patients += n
        self.n_ood += int(np.count_nonzero(np.asarray(ood, dtype=bool)))
        if n == 0:
            return
        for name, edges in reference.psi_edges.items():
            if name not in features:
                continue
            values = features[name].to_numpy(dtype=float, na_value=np.nan)
            # bin_shares divides by n; multiplying back and rounding recovers the counts.
            counts = np.rint(bin_shares(values, np.asarray(edges, dtype=float)) * n).astype(
                np.int64
            )
            self.bins[name] = self.bins.get(name, 0) + counts
        for name in reference.categories:
            if name not in features:
                continue
            column = features[name]
            observed = column[column.notna()].astype(str).value_counts(sort=False)
            seen = self.categories.setdefault(name, {})
            for value, count in observed.items():
                seen[str(value)] = seen.get(str(value), 0) + int(count)

    def merge(self, other: DriftCounts) -> None:
        """Add ``other``'s counts to these."""
        self.n_patients += other.n_patients
        self.n_ood += other.n_ood
        for name, counts in other.bins.items():
            self.bins[name] = self.bins.get(name, 0) + np.asarray(counts, dtype=np.int64)
        for name, values in other.categories.items():
            seen = self.categories.setdefault(name, {})
            for value, count in values.items():
                seen[value] = seen.get(value, 0) + int(count)

    def to_dict(self) -> dict:
        """JSON-serialisable form (for Spark tasks)."""
        return {
            "bins": {k: [int(x) for x in v] for k, v in self.bins.items()},
            "categories": self.categories,
            "n_patients": self.n_patients,
            "n_ood": self.n_ood,
        }

    @classmethod
    def from_dict(cls, data: dict) -> DriftCounts:
        """Inverse of :meth:`to_dict`."""
        return cls(
            bins={k: np.asarray(v, dtype=np.int64) for k, v in data["bins"].items()},
            categories={k: dict(v) for k, v in data["categories"].items()},
            n_patients=int(data["n_patients"]),
            n_ood=int(data["n_ood"]),
        )


def strict_json(value):
    """``value`` with non-finite floats as ``None`` (strict JSON has no NaN)."""
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index sum((a - e) * ln(a / e)) with shares floored at 1e-4."""
    e = np.maximum(np.asarray(expected, dtype=float), SHARE_FLOOR)
    a = np.maximum(np.asarray(actual, dtype=float), SHARE_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def _status(value: float) -> str:
    if value > PSI_MAJOR:
        return "major"
    if value >= PSI_MODERATE:
        return "moderate"
    return "stable"


def drift_report(counts: DriftCounts, reference: TrainingReference, groups: dict[str, str]) -> dict:
    """The drift report: PSI per numeric feature, unseen categories, share OOD.

    Parameters
    ----------
    counts : DriftCounts
        Merged counts of the scored patients.
    reference : dict
        ``model.reference`` (``psi_edges``, ``psi_shares``, ``categories``).
    groups : dict of str to str
        Mechanism group of each feature (from the model's catalogue).

    Returns
    -------
    dict
        ``n_patients``, ``n_ood``, ``share_ood``, ``features`` (sorted by PSI,
        largest first), ``unseen_categories`` and a short ``summary``.
    """
    n = counts.n_patients
    features = []
    for name, edges in reference.psi_edges.items():
        expected = np.asarray(reference.psi_shares[name], dtype=float)
        observed = counts.bins.get(name, np.zeros(len(expected), dtype=np.int64))
        actual = observed / n if n else np.zeros(len(expected))
        value = psi(expected, actual) if n else float("nan")
        features.append(
            {
                "feature": name,
                "group": groups.get(name, ""),
                "psi": value,
                "status": _status(value) if n else "no data",
                "edges": [float(x) for x in np.asarray(edges, dtype=float)],
                "expected_shares": [float(x) for x in expected],
                "actual_shares": [float(x) for x in actual],
                "missing_share_expected": float(expected[-1]),
                "missing_share_actual": float(actual[-1]),
            }
        )
    features.sort(key=lambda f: (-(f["psi"] if np.isfinite(f["psi"]) else -1.0), f["feature"]))
    unseen = {}
    for name, known in reference.categories.items():
        extra = {
            v: c for v, c in sorted(counts.categories.get(name, {}).items()) if v not in set(known)
        }
        if extra:
            unseen[name] = extra
    n_major = sum(f["status"] == "major" for f in features)
    n_moderate = sum(f["status"] == "moderate" for f in features)
    return {
        "n_patients": n,
        "n_ood": counts.n_ood,
        "share_ood": counts.n_ood / n if n else float("nan"),
        "psi_thresholds": {"moderate": PSI_MODERATE, "major": PSI_MAJOR},
        "summary": {
            "n_features": len(features),
            "n_moderate": n_moderate,
            "n_major": n_major,
            "top": [
                {"feature": f["feature"], "psi": f["psi"], "status": f["status"]}
                for f in features[:5]
            ],
            "n_unseen_categories": sum(len(v) for v in unseen.values()),
        },
        "features": features,
        "unseen_categories": unseen,
    }


def render_drift(report: dict) -> str:
    """Two or three lines summarising a drift report."""
    n = report["n_patients"]
    if not n:
        return "drift: no scored patients"
    s = report["summary"]
    top = ", ".join(f"{t['feature']} {t['psi']:.3f}" for t in s["top"][:3])
    lines = [
        f"drift: {s['n_major']} feature(s) with major shift (PSI > {PSI_MAJOR}), "
        f"{s['n_moderate']} moderate, of {s['n_features']}; largest: {top}",
        f"       out-of-distribution: {report['n_ood']} of {n} ({report['share_ood']:.1%}); "
        f"unseen categories: {s['n_unseen_categories']}",
    ]
    for feature, values in report["unseen_categories"].items():
        shown = ", ".join(f"{v} ({c})" for v, c in list(values.items())[:5])
        lines.append(f"       {feature}: {shown}")
    return "\n".join(lines)
