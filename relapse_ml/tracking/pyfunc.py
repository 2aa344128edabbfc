"""The MLflow pyfunc wrapper of the served artifact (REST serving, Spark, ``models:/`` URIs).

Request shape: the contract's patients table, one row per patient, plus one
column ``measurements`` holding that patient's measurement rows as a JSON list of
records (``day``, ``marker``, ``value``, ``unit``, ``qualifier``). The response
has one row per request row: the scored columns of
:func:`relapse_ml.serving.scoring.score_patients`, plus ``rejected_reason``
(empty when scored) so a bad patient is answered with a reason, not an error.
"""

from __future__ import annotations

import mlflow.pyfunc
import pandas as pd

ARTIFACT_KEY = "relapse_model"


def score_request(
    model, request: pd.DataFrame, *, top_k: int = 3, model_version: str = ""
) -> pd.DataFrame:
    """Validate and score a request frame; every request row is answered.

    Parameters
    ----------
    model : RelapseRiskModel
        The served artifact.
    request : DataFrame
        Patients columns plus the ``measurements`` JSON column.
    top_k : int
        Plain-language drivers per patient.
    model_version : str
        Registered version, echoed in the output.

    Returns
    -------
    DataFrame
        One row per request row, in request order.
    """
    from relapse_ml.serving.scoring import score_patients, validate_request

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


class RelapseRiskPyfunc(mlflow.pyfunc.PythonModel):
    """Loads the skops artifact and scores requests through the shared scoring function."""

    def load_context(self, context) -> None:
        """Load the artifact saved with the model (allowlisted types, checksum from logging).

        Raises
        ------
        UntrustedModelError
            The artifact holds a type off the allowlist or was changed after logging.
        """
        from relapse_ml.serving.artifact import load_model

        config = context.model_config or {}
        self.model = load_model(
            context.artifacts[ARTIFACT_KEY], expected_sha256=config.get("skops_sha256") or None
        )
        self.model_version = str(config.get("model_version", ""))

    def predict(
        self, context, model_input: pd.DataFrame, params: dict | None = None
    ) -> pd.DataFrame:
        """Score ``model_input`` (see module docstring); ``params`` may set ``top_k``."""
        top_k = int((params or {}).get("top_k", 3))
        return score_request(self.model, model_input, top_k=top_k, model_version=self.model_version)
