"""The one scoring function (batch job, MLflow pyfunc/REST, Spark) and the REST request shape.

``score_patients`` takes canonical typed tables and returns one row per patient
with the risk, its band, the baseline and the five mechanism-group
contributions (``baseline_risk + sum(contrib_*) == risk``), plain-language
drivers, the out-of-distribution flag and the model's identity.

REST request shape: the patients table (contract columns) with one extra column
``measurements`` holding that patient's measurement rows as a JSON list of
records with the contract's measurement columns except ``patient_id``::

    {"patient_id": "P1", "disease": "B-ALL", ..., "measurements":
     "[{\"day\": 7, \"marker\": \"car_transgene\", \"value\": 1200.0,
        \"unit\": \"copies/ug\", \"qualifier\": \"\"}]"}

:func:`tables_from_request` turns such a frame back into raw tables that go
through the same contract validation as files (:func:`validate_request`), so a
bad value rejects that patient instead of failing the request.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from relapse_ml.artifact import RelapseRiskModel
from relapse_ml.errors import STRUCTURAL, ContractError, Problem
from relapse_ml.explain import assess_ood, driver_sentences, explain_patients
from relapse_ml.io import RawTable
from relapse_ml.schema import load_contract
from relapse_ml.validation import ValidatedData, validate_raw_tables
from relapse_ml.validation.report import ProblemCollector

MEASUREMENTS_JSON_COLUMN = "measurements"
REQUEST_SOURCE = "(request)"


def curve_columns(horizons_days: Sequence[int]) -> list[str]:
    """``risk_by_day_H`` and ``death_without_relapse_by_day_H`` per horizon, then the two kinds."""
    return [
        *(f"risk_by_day_{h}" for h in horizons_days),
        *(f"death_without_relapse_by_day_{h}" for h in horizons_days),
        "risk_antigen_negative",
        "risk_antigen_positive",
    ]


def score_columns(top_k: int, horizons_days: Sequence[int] | None = None) -> list[str]:
    """The output columns of :func:`score_patients`, in order.

    The same whatever the landmark (files scored at different landmarks can be
    appended); ``horizons_days`` are the model's configured horizons (default: the
    contract's).
    """
    if horizons_days is None:
        horizons_days = load_contract().default_horizons_days
    groups = [f"contrib_{g}" for g in load_contract().groups]
    return [
        "patient_id",
        "risk",
        "risk_band",
        "baseline_risk",
        *curve_columns(horizons_days),
        *groups,
        *(f"driver_{k}" for k in range(1, top_k + 1)),
        "ood",
        "ood_reason",
        "model_name",
        "model_version",
        "landmark_day",
        "horizon_days",
        "schema_version",
    ]


def score_patients(
    model: RelapseRiskModel,
    patients: pd.DataFrame,
    measurements: pd.DataFrame,
    *,
    top_k: int = 3,
    model_version: str = "",
) -> pd.DataFrame:
    """Score and explain patients: one row per patient, in input order.

    Parameters
    ----------
    model : RelapseRiskModel
        The served artifact.
    patients, measurements : DataFrame
        Canonical typed tables (validated).
    top_k : int
        Number of ``driver_k`` columns.
    model_version : str
        Registry version, copied into every row.

    Returns
    -------
    DataFrame
        Columns :func:`score_columns` ``(top_k, model.horizons_days)``: ``risk`` (the
        primary horizon's cumulative incidence, explained), the curve columns (empty
        where the horizon is not after the landmark), contributions, drivers, OOD and
        the model's identity, with ``landmark_day`` the landmark that scored the row.
    """
    if top_k < 0:
        raise ValueError("top_k must be >= 0")
    explanation = explain_patients(model, model.model_input(patients, measurements))
    ood, reasons, _ = assess_ood(model, explanation.feature_values)
    drivers = np.array(driver_sentences(model, explanation, top_k), dtype=object).reshape(
        len(patients), top_k
    )
    n = len(patients)
    relapse, death = model.incidences(explanation.feature_values, explanation.risk)
    horizons = model.horizons_days
    out: dict[str, object] = {
        "patient_id": patients["patient_id"].astype(str).to_numpy(),
        "risk": explanation.risk,
        "risk_band": model.risk_bands.assign(explanation.risk).astype(str),
        "baseline_risk": np.full(n, explanation.baseline_risk),
    }
    for k, horizon in enumerate(horizons):
        out[f"risk_by_day_{horizon}"] = relapse[:, k].astype(np.float64)
    for k, horizon in enumerate(horizons):
        out[f"death_without_relapse_by_day_{horizon}"] = death[:, k].astype(np.float64)
    # The two kinds of relapse split the risk exactly (empty without a phenotype part).
    negative_share = model.antigen_negative_share(explanation.feature_values)
    out["risk_antigen_negative"] = explanation.risk * negative_share
    out["risk_antigen_positive"] = explanation.risk - out["risk_antigen_negative"]
    for group in explanation.group_contributions.columns:
        out[f"contrib_{group}"] = explanation.group_contributions[group].to_numpy(dtype=np.float64)
    for k in range(top_k):
        out[f"driver_{k + 1}"] = drivers[:, k].astype(str)
    out.update(
        {
            "ood": ood.astype(bool),
            "ood_reason": np.asarray(reasons, dtype=object).astype(str),
            "model_name": np.full(n, model.model_name, dtype=object).astype(str),
            "model_version": np.full(n, str(model_version), dtype=object).astype(str),
            "landmark_day": np.full(n, model.landmark_day, dtype=np.int64),
            "horizon_days": np.full(n, model.horizon_days, dtype=np.int64),
            "schema_version": np.full(n, model.schema_version, dtype=np.int64),
        }
    )
    return pd.DataFrame(out, columns=score_columns(top_k, horizons))


# --------------------------------------------------------------------------- REST shape


def _json_value(value: object) -> object:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def measurements_to_json(measurements: pd.DataFrame) -> str:
    """One patient's measurement rows as a JSON list of records (contract columns, no patient_id)."""
    columns = [c for c in load_contract().measurements.column_names if c != "patient_id"]
    records = []
    present = [c for c in columns if c in measurements]
    for row in measurements[present].astype(object).itertuples(index=False, name=None):
        records.append(
            {c: None if pd.isna(v) else _json_value(v) for c, v in zip(present, row, strict=True)}
        )
    return json.dumps(records, separators=(",", ":"))


def _measurement_json_by_patient(ids: pd.Series, measurements: pd.DataFrame) -> list[str]:
    """JSON list of each patient's measurement records, one serialisation pass for all."""
    if len(measurements) == 0:
        return ["[]"] * len(ids)
    mine = measurements[measurements["patient_id"].astype(str).isin(set(ids))]
    columns = [
        c for c in load_contract().measurements.column_names if c != "patient_id" and c in mine
    ]
    body = mine[columns].astype({c: object for c in columns if c not in ("day", "value")})
    lines = body.to_json(orient="records", lines=True).splitlines() if len(mine) else []
    grouped: dict[str, list[str]] = {}
    for pid, line in zip(mine["patient_id"].astype(str), lines, strict=True):
        grouped.setdefault(pid, []).append(line)
    return ["[" + ",".join(grouped.get(pid, ())) + "]" for pid in ids]


def request_frame(patients: pd.DataFrame, measurements: pd.DataFrame) -> pd.DataFrame:
    """Build the REST request frame: patients plus a ``measurements`` JSON column.

    Dates become ``YYYY-MM-DD`` text and categories plain text, so the frame
    survives JSON (``dataframe_split``) unchanged.
    """
    frame = patients.copy()
    dtypes = {c.name: c.dtype for c in load_contract().patients.columns}
    for column in frame.columns:
        series = frame[column]
        if dtypes.get(column) in ("boolean", "integer"):
            # JSON true/false and whole numbers, not 1.0/0.0 (canonical floats).
            cast = bool if dtypes[column] == "boolean" else int
            frame[column] = pd.Series(
                [None if pd.isna(v) else cast(v) for v in series], index=series.index, dtype=object
            )
        elif pd.api.types.is_datetime64_any_dtype(series.dtype):
            frame[column] = (
                series.dt.strftime("%Y-%m-%d").astype(object).where(series.notna(), None)
            )
        elif isinstance(series.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(
            series.dtype
        ):
            frame[column] = series.astype(object).where(series.notna(), None)
    ids = frame["patient_id"].astype(str)
    frame[MEASUREMENTS_JSON_COLUMN] = _measurement_json_by_patient(ids, measurements)
    return frame.reset_index(drop=True)


def _as_text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as text ("" when missing), like a CSV read, for the contract parser."""
    out = {}
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            text = series.dt.strftime("%Y-%m-%d")
        else:
            text = series.astype(object).map(_cell_text)
        out[str(column)] = text.where(series.notna(), "").astype(str)
    return pd.DataFrame(out, index=range(len(frame)))


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        if not np.isfinite(value):
            return ""
        # Whole numbers as integers: "1" is a valid boolean and integer, "1.0" is not a boolean.
        return (
            str(int(value))
            if float(value).is_integer() and abs(value) < 2**53
            else repr(float(value))
        )
    return str(value)


def tables_from_request(frame: pd.DataFrame) -> tuple[RawTable, RawTable]:
    """Split a request frame into raw ``patients`` and ``measurements`` tables.

    A ``measurements`` cell that is not a JSON list of objects becomes an
    unreadable measurements row of that patient (the patient is rejected).

    Raises
    ------
    ContractError
        The frame has no ``measurements`` column.
    """
    if MEASUREMENTS_JSON_COLUMN not in frame.columns:
        raise ContractError(
            [
                Problem(
                    STRUCTURAL,
                    "patients",
                    MEASUREMENTS_JSON_COLUMN,
                    None,
                    None,
                    "a column of JSON lists of measurement records",
                    "no such column",
                )
            ],
            summary="the request cannot be used",
        )
    columns = list(load_contract().measurements.column_names)
    fields = [c for c in columns if c != "patient_id"]
    ids = (
        frame["patient_id"].astype(object).map(_cell_text).to_numpy()
        if "patient_id" in frame
        else np.full(len(frame), "", dtype=object)
    )
    records: list[dict[str, object]] = []
    bad: list[tuple[int, str]] = []
    row_numbers: list[int] = []
    next_row = 1
    for pid, cell in zip(ids, frame[MEASUREMENTS_JSON_COLUMN].to_numpy(dtype=object), strict=True):
        if cell is None or (isinstance(cell, float) and np.isnan(cell)) or cell == "":
            continue
        try:
            parsed = json.loads(cell) if isinstance(cell, str) else cell
        except json.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, list) or not all(isinstance(r, dict) for r in parsed):
            bad.append((next_row, f"{pid},{str(cell)[:60]}"))
            next_row += 1
            continue
        for record in parsed:
            records.append({"patient_id": pid, **{f: record.get(f) for f in fields}})
            row_numbers.append(next_row)
            next_row += 1
    measurements = _as_text_frame(pd.DataFrame(records, columns=columns))
    patients = _as_text_frame(frame.drop(columns=[MEASUREMENTS_JSON_COLUMN]))
    return (
        RawTable(
            "patients",
            Path(REQUEST_SOURCE),
            patients,
            np.arange(1, len(patients) + 1, dtype=np.int64),
        ),
        RawTable(
            "measurements",
            Path(REQUEST_SOURCE),
            measurements,
            np.asarray(row_numbers, dtype=np.int64),
            tuple(bad),
        ),
    )


def validate_request(frame: pd.DataFrame) -> ValidatedData:
    """Validate a request frame like a data folder; per-patient problems reject patients.

    Raises
    ------
    ContractError
        Structural problems (e.g. a required column missing from the request).
    """
    patients, measurements = tables_from_request(frame)
    data = validate_raw_tables(
        {"patients": patients, "measurements": measurements}, ProblemCollector(), REQUEST_SOURCE
    )
    data.raise_for_structural()
    return data
