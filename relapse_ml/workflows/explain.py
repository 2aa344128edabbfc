"""Workflow: explain chosen patients of a data folder and write the clinician report."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from relapse_ml.artifact import LandmarkModels, RelapseRiskModel, load_model
from relapse_ml.errors import UserError
from relapse_ml.explain import explain_patients
from relapse_ml.io import write_text
from relapse_ml.report import render_html, report_content
from relapse_ml.validation import ValidatedData, validate_folder


def load_model_for_explain(model_uri: str) -> tuple[LandmarkModels, str, str]:
    """Load ``(models, name, version)`` from a model URI, or from a saved artifact file."""
    path = Path(model_uri)
    if path.is_file():
        model = load_model(path)
        return model, model.model_name, ""
    from relapse_ml.tracking import load_served_model  # imports mlflow: only when needed

    served = load_served_model(model_uri)
    return served.model, served.name, served.version


def select_patients(
    data: ValidatedData, patient_ids: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The requested patients' canonical rows (in request order) and their measurements.

    Raises
    ------
    UserError
        No patient was requested, or a requested patient is not in the folder or
        was rejected by validation (the reason is named).
    """
    if not patient_ids:
        raise UserError("name at least one patient to explain (--patient ID)")
    known = set(data.input_patient_ids)
    rejected = data.report.rejected_patients
    problems = []
    for pid in patient_ids:
        if pid not in known:
            problems.append(f"patient {pid!r} is not in the patients table of {data.report.folder}")
        elif pid in rejected:
            problems.append(f"patient {pid!r} cannot be explained: {rejected[pid]}")
    if problems:
        raise UserError("\n".join(problems))
    ids = list(dict.fromkeys(str(p) for p in patient_ids))
    order = pd.Index(data.patients["patient_id"].astype(str)).get_indexer(ids)
    if (order < 0).any():  # defensive: validated but not usable
        missing = [p for p, o in zip(ids, order, strict=True) if o < 0]
        raise UserError(f"patient(s) not usable after validation: {', '.join(missing)}")
    patients = data.patients.iloc[order].reset_index(drop=True)
    measurements = data.measurements
    if len(measurements):
        measurements = measurements[measurements["patient_id"].isin(set(ids))].reset_index(
            drop=True
        )
    return patients, measurements


def build_report(
    models: LandmarkModels | RelapseRiskModel,
    patients: pd.DataFrame,
    measurements: pd.DataFrame,
    *,
    landmark: int | None = None,
    model_name: str = "",
    model_version: str = "",
    model_uri: str = "",
    top_k: int = 5,
) -> tuple[dict, str]:
    """Explain ``patients`` at landmark day ``landmark`` and return ``(content, html)`` (no I/O).

    Parameters
    ----------
    models : LandmarkModels or RelapseRiskModel
        The artifact (a single landmark's model is reported as a one-landmark artifact).
    patients, measurements : DataFrame
        Canonical typed tables of the patients to report.
    landmark : int, optional
        Landmark day L (None: the first trained landmark). The risk, curve and
        drivers are those of L's model; the trajectory holds every trained landmark
        up to L; each model uses only data known by its landmark.
    model_name : str
        Overrides the artifact's name (the registry's name when loaded from it).
    model_version, model_uri : str
        Registry identity of the model.
    top_k : int
        Drivers listed per patient.

    Returns
    -------
    tuple of (dict, str)
        The report content and its HTML page.

    Raises
    ------
    LandmarkNotTrainedError
        ``landmark`` is not a trained landmark (exit code 2, naming the trained ones).
    """
    models = LandmarkModels.of(models)
    model = models.at(landmark)
    model_input = model.model_input(patients, measurements)
    explanation = explain_patients(model, model_input)
    generated = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    content = report_content(
        models,
        explanation,
        patients,
        model_input,
        landmark=model.landmark_day,
        model_version=model_version,
        model_uri=model_uri,
        top_k=top_k,
        generated_at=generated,
    )
    if model_name:
        content["model"]["name"] = model_name
    return content, render_html(content)


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def run_explain(
    data_dir: Path | str,
    model_uri: str,
    patient_ids: Sequence[str],
    out_html: Path | str,
    out_json: Path | str | None = None,
    *,
    top_k: int = 5,
    landmark: int | None = None,
) -> dict:
    """Validate ``data_dir``, explain the named patients, write the HTML (and JSON) report.

    Parameters
    ----------
    data_dir : path
        Data folder (patients and measurements tables).
    model_uri : str
        ``models:/name@alias``, ``runs:/...`` or a saved ``.skops`` artifact.
    patient_ids : sequence of str
        Patients to explain (report order).
    out_html : path
        Destination of the self-contained HTML report (written atomically).
    out_json : path, optional
        Destination of the same content as JSON (written atomically).
    top_k : int
        Drivers listed per patient.
    landmark : int, optional
        Landmark day L (default: the model's first); the patient is assumed alive and
        relapse-free at L and only data known by L is used.

    Returns
    -------
    dict
        The report content (as in the JSON file).

    Raises
    ------
    ContractError
        The folder has structural problems (nothing is written).
    UserError
        A requested patient is unknown or was rejected by validation, or no model was
        trained for ``landmark`` (:class:`~relapse_ml.artifact.LandmarkNotTrainedError`,
        naming the trained landmarks); nothing is written.
    """
    data = validate_folder(data_dir, include_outcomes=False)
    data.raise_for_structural()
    patients, measurements = select_patients(data, [str(p) for p in patient_ids])
    models, name, version = load_model_for_explain(model_uri)
    content, page = build_report(
        models,
        patients,
        measurements,
        landmark=landmark,
        model_name=name,
        model_version=version,
        model_uri=model_uri,
        top_k=top_k,
    )
    if out_json is not None:
        write_text(
            json.dumps(content, indent=2, default=_json_default, allow_nan=False) + "\n",
            Path(out_json),
        )
    write_text(page, Path(out_html))
    return content
