"""One chunk of patients: validate, score, explain, reject, count drift.

The local and the Spark engines both call :func:`process_chunk`, so they cannot
disagree. Every input patient row of the chunk ends in exactly one of
``scored`` and ``rejects``; each rejected patient has one reject row holding the
*first* problem found for it (the same first reason ``relapse-ml validate``
gives), with table, column, file row, expected and found.

Scoring is guarded: if the model fails on a chunk, its patients are scored one
by one and only those that still fail are rejected, with reason
``internal error: <ExceptionType>: <message>``; the workflow decides whether
their number is tolerable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from relapse_ml.batch.drift import DriftCounts
from relapse_ml.batch.reading import ArrowBatch
from relapse_ml.batch.routing import OrphanRows
from relapse_ml.errors import PER_PATIENT, Problem
from relapse_ml.io import RawTable, bad_row_id
from relapse_ml.validation import KNOWN_ID, validate_raw_tables
from relapse_ml.validation.report import ProblemCollector, show_found

REJECT_COLUMNS = ["patient_id", "table", "column", "row", "expected", "found", "reason"]
# Reject reasons of patients whose scoring failed (not a data contract problem).
INTERNAL_ERROR = "internal error"

Scorer = Callable[..., pd.DataFrame]


@dataclass
class ChunkResult:
    """What one chunk produced.

    Attributes
    ----------
    scored : DataFrame
        One row per scored patient (the scorer's columns), in file order.
    rejects : DataFrame
        One row per rejected input patient (:data:`REJECT_COLUMNS`), in file order.
    orphans : OrphanRows
        Measurement rows of this chunk whose patient is not in it.
    structural : tuple of Problem
        Structural problems (the run must stop).
    drift : DriftCounts
        Drift counts of the scored patients.
    n_input : int
        Input patient rows of the chunk (parsed and unreadable).
    """

    scored: pd.DataFrame
    rejects: pd.DataFrame
    orphans: OrphanRows
    structural: tuple[Problem, ...]
    drift: DriftCounts
    n_input: int


def raw_table(name: str, batch: ArrowBatch, path: Path) -> RawTable:
    """An :class:`ArrowBatch` as the :class:`RawTable` validation expects."""
    return RawTable(name, path, batch.table.to_pandas(), batch.row_numbers, tuple(batch.bad_rows))


def _ids(frame: pd.DataFrame) -> np.ndarray:
    if "patient_id" not in frame:
        return np.full(len(frame), "", dtype=object)
    column = frame["patient_id"]
    text = column.astype(object).where(column.notna(), "").astype(str).str.strip()
    return text.to_numpy(dtype=object)


def reject_row(problem: Problem, pid: str) -> dict[str, object]:
    """One row of the rejects file."""
    return {
        "patient_id": pid,
        "table": problem.table,
        "column": problem.column or "",
        "row": problem.row if problem.row is not None else -1,
        "expected": problem.expected,
        "found": problem.found,
        "reason": problem.message(),
    }


def reject_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    """Rows of the rejects file as a frame with :data:`REJECT_COLUMNS`."""
    frame = pd.DataFrame(rows, columns=REJECT_COLUMNS)
    frame["row"] = frame["row"].astype("int64")
    for column in REJECT_COLUMNS:
        if column != "row":
            frame[column] = frame[column].astype(str)
    return frame


def orphan_rejects(orphans: OrphanRows) -> pd.DataFrame:
    """One reject row per unknown patient_id of the measurements, by first file row."""
    rows = []
    for pid, row in sorted(orphans.first_row.items(), key=lambda kv: (kv[1], kv[0])):
        problem = Problem(
            PER_PATIENT,
            "measurements",
            "patient_id",
            row,
            pid or None,
            KNOWN_ID,
            show_found(pid),
        )
        record = reject_row(problem, pid)
        record["reason"] += f" ({orphans.n_rows[pid]} measurement row(s) not used)"
        rows.append(record)
    return reject_frame(rows)


def _row_ids(patients: RawTable) -> list[str]:
    """The patient_id of each input row: parsed rows, then unreadable rows ("" for none)."""
    header = list(patients.frame.columns)
    return list(_ids(patients.frame)) + [bad_row_id(t, header) for _, t in patients.bad_rows]


def named_patients(patients: RawTable) -> set[str]:
    """Every patient_id a patients table names, in readable and unreadable rows alike."""
    return set(_row_ids(patients)) - {""}


def _split_orphans(patients: RawTable, measurements: RawTable) -> tuple[RawTable, OrphanRows]:
    """Take out measurement rows whose patient is not in this chunk (reported, not validated)."""
    known = named_patients(patients)
    ids = _ids(measurements.frame)
    orphan = ~pd.Series(ids).isin(known).to_numpy()
    orphans = OrphanRows()
    if not orphan.any():
        return measurements, orphans
    orphans.add(pa.array(ids[orphan].astype(str)), measurements.row_numbers[orphan])
    kept = RawTable(
        measurements.name,
        measurements.path,
        measurements.frame.loc[~orphan].reset_index(drop=True),
        measurements.row_numbers[~orphan],
        measurements.bad_rows,
    )
    return kept, orphans


def _score(model, patients, measurements, scorer, top_k, model_version):
    scored = scorer(model, patients, measurements, top_k=top_k, model_version=model_version)
    features = model.features(model.model_input(patients, measurements))
    return scored, features


def internal_error_reason(exc: BaseException) -> str:
    """The reject reason of a patient that could not be scored: ``internal error: Type: message``."""
    message = " ".join(str(exc).split())[:300]
    return f"{INTERNAL_ERROR}: {type(exc).__name__}: {message}"


def _score_guarded(
    model, patients: pd.DataFrame, measurements: pd.DataFrame, scorer, top_k, model_version
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """Score validated patients; if the chunk fails, retry them one by one.

    Returns the scores and drift features of every patient that could be
    scored, and the reject reason of each patient that could not (by id).
    """
    try:
        scored, features = _score(model, patients, measurements, scorer, top_k, model_version)
        return scored, features, {}
    except Exception:  # any failure of the model is retried per patient
        pass
    # One bad value must cost one patient, not the chunk: isolate the failures.
    by_patient = measurements.groupby("patient_id", sort=False).indices
    no_rows = measurements.iloc[:0]
    scores, feature_rows, failed = [], [], {}
    for i in range(len(patients)):
        one = patients.iloc[[i]]
        pid = str(one["patient_id"].iloc[0])
        rows = by_patient.get(one["patient_id"].iloc[0])
        mine = measurements.iloc[rows] if rows is not None else no_rows
        try:
            s, f = _score(model, one, mine, scorer, top_k, model_version)
        except Exception as exc:
            failed[pid] = internal_error_reason(exc)
            continue
        scores.append(s)
        feature_rows.append(f)
    if not scores:
        return pd.DataFrame(), pd.DataFrame(), failed
    return (
        pd.concat(scores, ignore_index=True),
        pd.concat(feature_rows, ignore_index=True),
        failed,
    )


def process_chunk(
    model,
    patients: RawTable,
    measurements: RawTable,
    *,
    scorer: Scorer,
    top_k: int,
    model_version: str,
) -> ChunkResult:
    """Validate one chunk, score its usable patients and reject the others.

    Parameters
    ----------
    model : RelapseRiskModel
        The served artifact.
    patients, measurements : RawTable
        The chunk's patient rows and their measurement rows, with file row numbers.
    scorer : callable
        ``scorer(model, patients, measurements, top_k=, model_version=)`` on
        canonical typed tables (:func:`relapse_ml.serving.scoring.score_patients`).
    top_k : int
        Plain-language drivers per patient.
    model_version : str
        Registry version written in each row.

    Returns
    -------
    ChunkResult
    """
    measurements, orphans = _split_orphans(patients, measurements)
    collector = ProblemCollector()
    data = validate_raw_tables(
        {"patients": patients, "measurements": measurements}, collector, str(patients.path)
    )
    ids = _row_ids(patients)
    rows = list(patients.row_numbers) + [r for r, _ in patients.bad_rows]
    drift = DriftCounts()
    if data.report.n_structural:
        return ChunkResult(
            pd.DataFrame(), reject_frame([]), orphans, data.report.structural, drift, len(ids)
        )
    failed: dict[str, str] = {}
    if len(data.patients):
        scored, features, failed = _score_guarded(
            model, data.patients, data.measurements, scorer, top_k, model_version
        )
        if len(scored):
            drift.update(features, scored["ood"].to_numpy(), model.reference)
    else:
        scored = pd.DataFrame()
    scored_ids = set(scored["patient_id"].astype(str)) if len(scored) else set()
    rejects = []
    for pid, row in zip(ids, rows, strict=True):
        if pid in failed:
            problem = Problem(
                PER_PATIENT, "patients", None, int(row), pid, "a scored patient", failed[pid]
            )
            record = reject_row(problem, pid)
            record["reason"] = failed[pid]
            rejects.append(record)
        elif not pid:
            problem = Problem(
                PER_PATIENT,
                "patients",
                "patient_id",
                int(row),
                None,
                "a value (required)",
                "an empty cell",
            )
            rejects.append(reject_row(problem, ""))
        elif pid in collector.first_problem:
            rejects.append(reject_row(collector.first_problem[pid], pid))
        elif pid not in scored_ids:
            # Defensive: a usable patient the scorer did not answer is still accounted for.
            problem = Problem(
                PER_PATIENT,
                "patients",
                None,
                int(row),
                pid,
                "a scored patient",
                "no score returned by the model",
            )
            rejects.append(reject_row(problem, pid))
    return ChunkResult(scored, reject_frame(rejects), orphans, (), drift, len(ids))
