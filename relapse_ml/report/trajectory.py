"""The risk over landmarks: what the report says about earlier landmarks, as plain data.

At landmark day ``L`` the report shows, for every trained landmark up to ``L``, the
risk that landmark's model gives the same patient (from the data known by its own
landmark day), with what changed since the previous landmark in plain language. The
facts come from the binary landmark features (:data:`LANDMARK_FINDINGS`); no file I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from relapse_ml.artifact import RelapseRiskModel


def landmark_assumption(landmark_day: int) -> str:
    """The sentence that states what a report at landmark day ``landmark_day`` assumes."""
    return (
        f"This estimate assumes the patient is alive and relapse-free at day {landmark_day} "
        f"after infusion, and uses only data known by day {landmark_day} (later measurements "
        "are ignored)."
    )


@dataclass(frozen=True)
class LandmarkFinding:
    """One yes/no fact read from the landmark features, and how the report words it.

    Attributes
    ----------
    features : tuple of str
        Binary landmark features (0/1, NaN missing); the fact is yes when any known
        one is 1, no when every known one is 0, unknown when all are missing.
        Features a model does not have are ignored.
    yes, no : str or None
        Wording of the fact when first known (None: not worth saying).
    lost, gained : str
        Wording when it turned from yes to no, and from no to yes.
    still_yes, still_no : str or None
        Wording when a new sample confirmed it (one of ``sample_days`` changed).
    sample_days : tuple of str
        Features holding the day of the latest sample behind the fact.
    """

    features: tuple[str, ...]
    yes: str | None
    no: str | None
    lost: str
    gained: str
    still_yes: str | None = None
    still_no: str | None = None
    sample_days: tuple[str, ...] = ()

    def state(self, row: Mapping[str, float]) -> bool | None:
        """True, False, or None when no feature behind the fact is known in ``row``."""
        known = [row[f] for f in self.features if f in row and np.isfinite(row[f])]
        if not known:
            return None
        return any(v >= 0.5 for v in known)


#: The facts the landmark trajectory reports (feature names of ``features/``).
LANDMARK_FINDINGS = (
    LandmarkFinding(
        ("car_detectable_at_landmark", "car_cells_detectable_at_landmark"),
        "CAR T detectable",
        "CAR T not detectable",
        "CAR T no longer detectable",
        "CAR T detectable again",
        "CAR T still detectable",
        "CAR T still not detectable",
        ("car_last_obs_day", "car_cells_last_obs_day"),
    ),
    LandmarkFinding(
        ("mrd_positive_at_landmark",),
        "MRD positive",
        "MRD negative",
        "MRD now negative",
        "MRD now positive",
    ),
    LandmarkFinding(
        ("antigen_negative_residual_disease_at_landmark",),
        "antigen-negative residual disease",
        None,
        "residual disease no longer antigen-negative",
        "antigen-negative residual disease",
    ),
    LandmarkFinding(
        ("b_cell_aplasia_at_landmark",),
        "B-cell aplasia",
        "no B-cell aplasia",
        "B-cell aplasia lost (B cells recovered)",
        "B-cell aplasia",
    ),
)
NO_NEW_MEASUREMENT = "no new measurement"
NO_CHANGE = "new measurements, no change in CAR T, MRD or B-cell status"


def _same(a: float, b: float) -> bool:
    return (np.isnan(a) and np.isnan(b)) or a == b


def landmark_findings(row: Mapping[str, float]) -> list[str]:
    """The facts known in one patient's landmark features, in plain language."""
    out = []
    for finding in LANDMARK_FINDINGS:
        state = finding.state(row)
        phrase = None if state is None else (finding.yes if state else finding.no)
        if phrase:
            out.append(phrase)
    return out


def what_changed(
    previous: Mapping[str, float], current: Mapping[str, float], measured: Sequence[str]
) -> list[str]:
    """What differs between one patient's features at two successive landmarks.

    Parameters
    ----------
    previous, current : mapping of str to float
        Landmark features (before imputation) at the earlier and the later landmark.
    measured : sequence of str
        Features computed from measurements: when none of those present at both
        landmarks differs, nothing was measured in between.

    Returns
    -------
    list of str
        The facts of :data:`LANDMARK_FINDINGS` that turned, were first known or were
        confirmed by a new sample; else :data:`NO_CHANGE` when some measured feature
        differs, else :data:`NO_NEW_MEASUREMENT`. A fact known before and missing now
        (which a latest-value feature cannot do) is not reported.
    """
    out = []
    for finding in LANDMARK_FINDINGS:
        before, now = finding.state(previous), finding.state(current)
        if now is None:
            continue
        if before is None:
            phrase = finding.yes if now else finding.no
        elif before != now:
            phrase = finding.gained if now else finding.lost
        elif any(
            d in previous and d in current and not _same(previous[d], current[d])
            for d in finding.sample_days
        ):
            phrase = finding.still_yes if now else finding.still_no
        else:
            phrase = None
        if phrase:
            out.append(phrase)
    if out:
        return out
    common = [f for f in measured if f in previous and f in current]
    if any(not _same(previous[f], current[f]) for f in common):
        return [NO_CHANGE]
    return [NO_NEW_MEASUREMENT]


def feature_rows(features: pd.DataFrame) -> list[dict[str, float]]:
    """Numeric landmark features of each patient as plain dicts (categories left out)."""
    numeric = features.select_dtypes(include="number").astype(np.float64)
    return numeric.to_dict(orient="records")


def _measured_features(model: RelapseRiskModel) -> list[str]:
    return [s.name for s in model.catalogue if any(x.startswith("marker:") for x in s.sources)]


def trajectory(
    models: tuple[RelapseRiskModel, ...],
    risks: list[np.ndarray],
    features: list[list[dict[str, float]]],
    i: int,
) -> list[dict[str, object]]:
    """Patient ``i``'s risk at each landmark model of ``models`` and what changed.

    Parameters
    ----------
    models : tuple of RelapseRiskModel
        The models of the trained landmarks up to the report's, by increasing day.
    risks : list of ndarray
        Each model's risk of every patient.
    features : list of list of dict
        Each model's landmark features of every patient (:func:`feature_rows`).
    i : int
        The patient's row.

    Returns
    -------
    list of dict
        Per landmark: ``landmark_day``, ``horizon_days``, ``risk``, ``risk_band``,
        ``findings`` (facts known then) and ``what_changed`` (at the first landmark,
        its findings, or that there is no CAR T, MRD or B-cell result yet).
    """
    out = []
    for k, model in enumerate(models):
        row, risk = features[k][i], float(risks[k][i])
        if k == 0:
            changed = landmark_findings(row) or [
                f"no CAR T, MRD or B-cell result by day {model.landmark_day}"
            ]
        else:
            changed = what_changed(features[k - 1][i], row, _measured_features(model))
        out.append(
            {
                "landmark_day": int(model.landmark_day),
                "horizon_days": int(model.horizon_days),
                "risk": risk,
                "risk_band": str(model.risk_bands.assign(np.array([risk]))[0]),
                "findings": landmark_findings(row),
                "what_changed": changed,
            }
        )
    return out
