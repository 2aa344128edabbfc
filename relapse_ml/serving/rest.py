"""REST request handling: one request frame in, one answer row per request row out.

Request shape: the contract's patients table, one row per patient, plus one
column ``measurements`` holding that patient's measurement rows as a JSON list of
records (``day``, ``marker``, ``value``, ``unit``, ``qualifier``). The response
has one row per request row: the scored columns of
:func:`relapse_ml.serving.scoring.score_patients`, plus ``rejected_reason``
(empty when scored) so a bad patient is answered with a reason, not an error.
MLflow's pyfunc (:mod:`relapse_ml.tracking.pyfunc`) only wraps this.
"""

from __future__ import annotations

import pandas as pd

from relapse_ml.artifact import LandmarkModels
from relapse_ml.serving.scoring import score_patients, validate_request


def score_request(
    models: LandmarkModels,
    request: pd.DataFrame,
    *,
    top_k: int = 3,
    model_version: str = "",
    landmark: int | None = None,
) -> pd.DataFrame:
    """Validate and score a request frame; every request row is answered.

    Parameters
    ----------
    models : LandmarkModels
        The served artifact.
    request : DataFrame
        Patients columns plus the ``measurements`` JSON column.
    top_k : int
        Plain-language drivers per patient.
    model_version : str
        Registered version, echoed in the output.
    landmark : int, optional
        Landmark day scoring the request (default: the model's first).

    Returns
    -------
    DataFrame
        One row per request row, in request order.

    Raises
    ------
    LandmarkNotTrainedError
        The model has no model for ``landmark``.
    """
    model = models.at(landmark)
    data = validate_request(request)
    scored = score_patients(
        model, data.patients, data.measurements, top_k=top_k, model_version=model_version
    )
    scored["rejected_reason"] = ""
    ids = (
        request["patient_id"].astype(str).str.strip().tolist()
        if "patient_id" in request
        else [""] * len(request)
    )
    rejected = data.report.rejected_patients
    structural = "; ".join(p.message() for p in data.report.structural)
    rows = []
    by_id = scored.set_index("patient_id", drop=False)
    for pid in ids:
        if pid in by_id.index and pid not in rejected and not structural:
            rows.append(by_id.loc[pid].to_dict())
        else:
            reason = rejected.get(pid) or structural or "patient could not be scored"
            rows.append({"patient_id": pid, "rejected_reason": reason})
    out = pd.DataFrame(rows, columns=scored.columns).reset_index(drop=True)
    return strict_json_frame(out)


def strict_json_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Missing cells as ``None`` so the JSON answer holds ``null``, never ``NaN``.

    Strict JSON parsers reject ``NaN``; MLflow's scoring server writes a float
    column's missing values as ``NaN``, so such columns become object columns.
    """
    out = frame.copy()
    for column in out.columns:
        missing = out[column].isna()
        if missing.any():
            out[column] = out[column].astype(object).where(~missing, None)
    return out
