"""What the clinician report says, as plain data (the JSON output and the HTML's source).

Everything here is computed from the served artifact (one model per landmark day),
the explanation and the patients' model input; no file I/O. The HTML renderer
(:mod:`relapse_ml.report.html`) escapes every string.

At landmark day ``L`` the report also gives the risk over time (the cumulative
incidence of relapse and of non-relapse death by each horizon after ``L``) and the
trajectory: the risk the model of every trained landmark up to ``L`` gives the same
patient (each from the data known by its own landmark), with what changed between
landmarks in plain language (:mod:`relapse_ml.report.trajectory`), and the kind of
relapse to expect, antigen-negative or antigen-positive (:mod:`relapse_ml.report.phenotype`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from relapse_ml.artifact import LandmarkModels, RelapseRiskModel
from relapse_ml.explain import (
    INTERVAL_METHOD,
    NOVELTY_THRESHOLD,
    RANGE_MARGIN,
    Explanation,
    assess_ood,
    patient_drivers,
    risk_interval,
)
from relapse_ml.explain.display import display_label
from relapse_ml.explain.drivers import describe_value, imputation_values
from relapse_ml.report.phenotype import PHENOTYPE_METHOD, phenotype_blocks
from relapse_ml.report.trajectory import (
    feature_rows,
    landmark_assumption,
    trajectory,
)
from relapse_ml.schema import load_contract

REPORT_FORMAT_VERSION = 3

OOD_METHOD = (
    "A patient is flagged as outside the training population when a category (disease, target "
    "antigen, costimulatory domain, sex) never occurred in training, when a value lies beyond the "
    f"training 1st-99th percentile range widened on each side by {RANGE_MARGIN:.0%} of its span "
    "(or belongs to a measurement taken in fewer than 10 training patients), or "
    f"when more than {NOVELTY_THRESHOLD:.0%} of the measured values lie outside the training "
    "1st-99th percentiles (novelty score). The model keeps no training minimum or maximum "
    "(each would be one patient's value)."
)

CURVE_METHOD = (
    "Risk over time: the cumulative incidence of relapse or progression, and of death without "
    "relapse, by each horizon after the landmark day, anchored at the risk by the primary "
    "horizon (the two add up to at most 100%). Trajectory: the risk the model of each earlier "
    "landmark gives the same patient, each from the data known by its own landmark day."
)


def intended_use(model: RelapseRiskModel) -> str:
    """The intended-use statement of the report."""
    return (
        f"Estimates, at day {model.landmark_day} after CAR T-cell infusion, the probability of "
        f"relapse or progression by day {model.horizon_days}, for adults and children treated with "
        "a CD19-, CD22- or BCMA-directed CAR T-cell product who are relapse-free and in follow-up at "
        f"day {model.landmark_day}. It supports, and does not replace, clinical judgement about "
        "follow-up intensity and consolidation; it is not a diagnostic device."
    )


LIMITATIONS = (
    "Trained and evaluated on the data the model card names (simulated cohorts in this release); "
    "performance on a new centre must be checked before use.",
    "Uses only values known by the landmark day; later events are not reflected.",
    "Contributions explain this model's prediction, not the patient's biology: a large "
    "contribution means the model relies on the value, not that changing it changes the outcome.",
    "Missing values are imputed; a prediction with many imputed values is less reliable.",
    "Out-of-distribution patients (see the warning) lie where the model has little or no data.",
    "The uncertainty interval reflects calibration on held-out patients, not every source of error.",
)


def _finite(value: object) -> float | None:
    """A float, or None when missing or not finite (JSON has no NaN)."""
    if value is None:
        return None
    number = float(value)
    return number if np.isfinite(number) else None


def _model_block(
    model: RelapseRiskModel, model_version: str, model_uri: str, landmarks: tuple[int, ...]
) -> dict[str, object]:
    metrics = model.metrics or {}
    shown = {}
    for key in ("auroc", "brier", "calibration_slope", "calibration_intercept", "ici"):
        if key in metrics:
            shown[key] = {
                "value": _finite(metrics[key]),
                "ci_low": _finite(metrics.get(f"{key}_ci_low")),
                "ci_high": _finite(metrics.get(f"{key}_ci_high")),
            }
    return {
        "name": model.model_name,
        "version": model_version,
        "uri": model_uri,
        "trained_at": model.trained_at,
        "family": model.family,
        "calibration_method": model.calibration_method,
        "landmark_day": int(model.landmark_day),
        "horizon_days": int(model.horizon_days),
        "horizons_days": [int(h) for h in model.horizons_days],
        "landmarks_days": [int(d) for d in landmarks],
        "schema_version": int(model.schema_version),
        "package_version": model.package_version,
        "test_metrics": shown,
    }


def _missing_values(
    model: RelapseRiskModel, explanation: Explanation, row: int
) -> list[dict[str, str]]:
    fill = imputation_values(model)
    out = []
    for j in np.flatnonzero(explanation.imputed.iloc[row].to_numpy(dtype=bool)):
        spec = model.catalogue[j]
        value, _, _ = describe_value(spec, None, fill.get(spec.name), None, model.reference)
        out.append(
            {
                "feature": spec.name,
                "label": display_label(spec),
                "group": spec.group,
                "value": value,
            }
        )
    return out


def _band_block(model: RelapseRiskModel, risk: float) -> dict[str, object]:
    bands = model.risk_bands
    return {
        "band": str(bands.assign(np.array([risk]))[0]),
        "thresholds": [float(t) for t in bands.thresholds],
        "labels": list(bands.labels),
        "rationale": bands.rationale,
    }


def _curve(
    model: RelapseRiskModel, relapse: np.ndarray, death: np.ndarray, i: int
) -> list[dict[str, object]]:
    """Patient ``i``'s cumulative incidences by each horizon after the landmark."""
    return [
        {
            "horizon_days": int(horizon),
            "relapse": _finite(relapse[i, k]),
            "death": _finite(death[i, k]),
            "primary": int(horizon) == int(model.horizon_days),
        }
        for k, horizon in enumerate(model.horizons_days)
        if horizon > model.landmark_day
    ]


def report_content(
    models: LandmarkModels | RelapseRiskModel,
    explanation: Explanation,
    patients: pd.DataFrame,
    model_input: pd.DataFrame,
    *,
    landmark: int | None = None,
    model_version: str = "",
    model_uri: str = "",
    top_k: int = 5,
    generated_at: str = "",
) -> dict[str, object]:
    """Build the report's content for the explained patients (row order of ``patients``).

    A pure function: it runs the models on ``model_input`` but reads and writes nothing.

    Parameters
    ----------
    models : LandmarkModels or RelapseRiskModel
        The served artifact (a single model is a one-landmark artifact).
    explanation : Explanation
        ``explain_patients`` of these patients (same rows) by ``models.at(landmark)``.
    patients : DataFrame
        Canonical typed patients rows (for id, site, disease).
    model_input : DataFrame
        ``model_input(patients, measurements)`` of the same rows: the earlier landmarks'
        models score it for the trajectory (each uses only data known by its landmark).
    landmark : int, optional
        Landmark day L of the report (None: the first trained landmark).
    model_version, model_uri : str
        Registry identity of the model.
    top_k : int
        Drivers listed per patient.
    generated_at : str
        Timestamp shown in the report.

    Returns
    -------
    dict
        JSON-serialisable: ``format_version``, ``generated_at``, ``model``,
        ``intended_use``, ``limitations``, ``methods``, ``groups`` and ``patients``
        (risk, interval, band, baseline, group contributions, drivers, missing
        values, out-of-distribution flag and reasons; ``landmark_day`` and the
        ``assumption`` made at it; ``curve``: relapse and non-relapse death
        incidences by each horizon after L, death None when unknown, the primary
        horizon flagged; ``trajectory``: the risk, band, findings and
        ``what_changed`` at each trained landmark up to L; ``phenotype``: the kind of
        relapse to expect, see :func:`relapse_ml.report.phenotype.phenotype_blocks`).

    Raises
    ------
    LandmarkNotTrainedError
        ``landmark`` is not a trained landmark.
    """
    models = LandmarkModels.of(models)
    model = models.at(landmark)
    contract = load_contract()
    ood, reasons, novelty = assess_ood(model, explanation.feature_values)
    interval = risk_interval(model, explanation.risk)
    relapse, death = model.incidences(explanation.feature_values, explanation.risk)
    history = models.up_to(model.landmark_day)
    risks, features = [], []
    for earlier in history:
        if earlier is model:
            risks.append(np.asarray(explanation.risk, dtype=np.float64))
            features.append(feature_rows(explanation.feature_values))
        else:
            risks.append(earlier.risk(model_input))
            features.append(feature_rows(earlier.features(model_input)))
    groups = list(explanation.group_contributions.columns)
    kinds = phenotype_blocks(model, explanation, patients, model_input, top_k)
    people = []
    for i in range(len(patients)):
        row = patients.iloc[i]
        risk = float(explanation.risk[i])
        people.append(
            {
                "patient_id": str(row["patient_id"]),
                "site": None if pd.isna(row.get("site")) else str(row.get("site")),
                "disease": None if pd.isna(row.get("disease")) else str(row.get("disease")),
                "landmark_day": int(model.landmark_day),
                "assumption": landmark_assumption(model.landmark_day),
                "risk": risk,
                "risk_interval": None
                if interval is None
                else [float(interval[0][i]), float(interval[1][i])],
                "baseline_risk": float(explanation.baseline_risk),
                **_band_block(model, risk),
                "curve": _curve(model, relapse, death, i),
                "trajectory": trajectory(history, risks, features, i),
                "group_contributions": [
                    {
                        "group": g,
                        "label": contract.group_labels.get(g, g),
                        "contribution": float(explanation.group_contributions[g].iloc[i]),
                    }
                    for g in groups
                ],
                "drivers": [d.to_dict() for d in patient_drivers(model, explanation, i, top_k)],
                "missing_values": _missing_values(model, explanation, i),
                "ood": bool(ood[i]),
                "ood_reasons": [r for r in reasons[i].split("; ") if r],
                "novelty_score": float(novelty[i]),
                "phenotype": kinds[i],
            }
        )
    return {
        "format_version": REPORT_FORMAT_VERSION,
        "generated_at": generated_at,
        "model": _model_block(model, model_version, model_uri, models.landmarks_days),
        "intended_use": intended_use(model),
        "limitations": list(LIMITATIONS),
        "methods": {
            "explanation": explanation.method,
            "uncertainty_interval": INTERVAL_METHOD
            if interval is not None
            else "not available: the model carries no calibration confidence intervals",
            "out_of_distribution": OOD_METHOD,
            "risk_over_time": CURVE_METHOD,
            "kind_of_relapse": PHENOTYPE_METHOD,
        },
        "groups": [{"group": g, "label": contract.group_labels.get(g, g)} for g in groups],
        "patients": people,
    }
