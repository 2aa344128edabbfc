"""The Spark engine (``relapse-ml predict --engine spark``; optional extra ``[spark]``).

Spark reads both tables (every column as text, like a CSV read), numbers the
rows of each file (``zipWithIndex``: file order), and hash-partitions patients
and measurements by ``patient_id`` into buckets of about ``chunk_size``
patients. ``groupBy(bucket).cogroup(...).applyInPandas`` then runs the same
:func:`relapse_ml.batch.chunk.process_chunk` as the local engine on each bucket,
with the artifact broadcast to the executors. A patient and all its measurement
rows share a bucket, so repeated ids (structural) and unknown patients are
found inside buckets. The driver streams the results back in file row order and
writes them with the same writers as the local engine: identical files.

CSV lines are parsed as the local engine parses them, so a row with extra or
missing fields or bad quoting is rejected with the same reason and file row
number (Spark's own CSV reader would silently repair it); see
:mod:`relapse_ml.batch.spark_reading`, also for the one difference left.

pyspark is imported only when this engine is used.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from relapse_ml.batch.chunk import (
    ChunkResult,
    Scorer,
    named_patients,
    process_chunk,
    raw_table,
    reject_frame,
)
from relapse_ml.batch.drift import DriftCounts
from relapse_ml.batch.reading import ArrowBatch, read_header
from relapse_ml.batch.routing import OrphanRows
from relapse_ml.batch.spark_reading import BAD, ROW, read_numbered
from relapse_ml.errors import Problem, UserError
from relapse_ml.io import RawTable, bad_row_id

BUCKET = "__bucket"
RESULT_DDL = "__kind string, __row long, __payload string"
COLLECT_BATCH = 20_000


def _spark_session(master: str):
    """The active Spark session, or a new one; and whether it was started here."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UserError("the spark engine needs pyspark: pip install 'relapse-ml[spark]'") from None
    # Python workers must run this interpreter (the one with relapse_ml installed).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    started = SparkSession.getActiveSession() is None
    session = (
        SparkSession.builder.master(master)
        .appName("relapse-ml-predict")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    return session, started


def _bucketed(frame, n_buckets: int):
    from pyspark.sql import functions as F

    key = F.coalesce(F.trim(F.col("patient_id")), F.lit(""))
    return frame.withColumn(BUCKET, F.pmod(F.xxhash64(key), F.lit(n_buckets)))


def _as_raw(name: str, frame: pd.DataFrame, columns: list[str]) -> RawTable:
    """One bucket's rows of a table as the :class:`RawTable` the local engine builds."""
    frame = frame.sort_values(ROW, kind="stable")
    unreadable = frame[BAD].notna().to_numpy()
    bad = [
        (int(r), str(t))
        for r, t in zip(frame[ROW][unreadable], frame[BAD][unreadable], strict=True)
    ]
    frame = frame.loc[~unreadable]
    rows = frame[ROW].to_numpy(dtype=np.int64)
    text = {c: frame[c].astype(object).where(frame[c].notna(), "").astype(str) for c in columns}
    table = pa.table({c: pa.array(v.tolist(), pa.string()) for c, v in text.items()})
    return raw_table(name, ArrowBatch(table, rows, bad), Path(name))


def _split_unreadable(patients: RawTable, measurements: RawTable):
    """Route unreadable measurement rows as the local engine's routing pass does.

    Returns the measurements keeping only unreadable rows of this bucket's
    patients, the unreadable rows of unknown patients (orphans), and those that
    name no patient (structural: the local engine stops at the first of them).
    """
    if not measurements.bad_rows:
        return measurements, [], []
    header = list(measurements.frame.columns)
    known = named_patients(patients)
    kept, orphans, anonymous = [], [], []
    for row, text in measurements.bad_rows:
        pid = bad_row_id(text, header)
        if not pid:
            anonymous.append(Problem.unreadable_row("measurements", row, text, len(header), None))
        elif pid in known:
            kept.append((row, text))
        else:
            orphans.append((pid, row))
    routed = RawTable(
        measurements.name,
        measurements.path,
        measurements.frame,
        measurements.row_numbers,
        tuple(kept),
    )
    return routed, orphans, anonymous


def _bucket_results(
    model, patients, measurements, *, scorer, top_k, model_version, p_cols, m_cols
) -> pd.DataFrame:
    """Run :func:`process_chunk` on one bucket; results as (kind, row, JSON payload) rows."""
    if len(patients) == 0 and len(measurements) == 0:
        return pd.DataFrame({"__kind": [], ROW: [], "__payload": []})
    raw_patients = _as_raw("patients", patients, p_cols)
    raw_measurements, unreadable_orphans, anonymous = _split_unreadable(
        raw_patients, _as_raw("measurements", measurements, m_cols)
    )
    if anonymous:
        payload = json.dumps([p.to_dict() for p in anonymous])
        return pd.DataFrame({"__kind": ["unreadable"], ROW: [0], "__payload": [payload]})
    result = process_chunk(
        model,
        raw_patients,
        raw_measurements,
        scorer=scorer,
        top_k=top_k,
        model_version=model_version,
    )
    for pid, row in unreadable_orphans:
        result.orphans.add(pa.array([pid]), np.array([row]), unreadable=True)
    kinds, rows, payloads = [], [], []
    if result.structural:
        kinds.append("structural")
        rows.append(0)
        payloads.append(json.dumps([p.to_dict() for p in result.structural]))
    # Patient row of each scored / rejected patient, to restore file order.
    first_row: dict[str, int] = {}
    ordered = patients.sort_values(ROW, kind="stable")
    ids = ordered["patient_id"].astype(object).where(ordered["patient_id"].notna(), "")
    for pid, row in zip(ids.astype(str).str.strip(), ordered[ROW], strict=True):
        first_row.setdefault(pid, int(row))
    for record in result.scored.to_dict(orient="records"):
        kinds.append("scored")
        rows.append(first_row[str(record["patient_id"])])
        payloads.append(json.dumps(record, default=_json_default))
    for record in result.rejects.to_dict(orient="records"):
        kinds.append("reject")
        pid = str(record["patient_id"])
        rows.append(first_row[pid] if pid else int(record["row"]))
        payloads.append(json.dumps(record, default=_json_default))
    for pid, row in result.orphans.first_row.items():
        kinds.append("orphan")
        rows.append(row)
        payload = [pid, row, result.orphans.n_rows[pid], result.orphans.reason.get(pid, "unknown")]
        payloads.append(json.dumps(payload))
    kinds.append("drift")
    rows.append(0)
    payloads.append(json.dumps({**result.drift.to_dict(), "n_input": result.n_input}))
    return pd.DataFrame({"__kind": kinds, ROW: rows, "__payload": payloads})


def _structural(small: list) -> list[Problem]:
    """Structural problems of all buckets, as the local engine reports them.

    Locally, the routing pass stops at the first unreadable measurement row
    that names no patient, before any chunk is validated.
    """

    def problems(kind: str) -> list[Problem]:
        found = [
            Problem(**{k: v for k, v in p.items() if k != "message"})
            for r in small
            if r["__kind"] == kind
            for p in json.loads(r["__payload"])
        ]
        return sorted(found, key=lambda p: p.row or 0)

    unreadable = problems("unreadable")
    return unreadable[:1] if unreadable else problems("structural")


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _typed(records: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records)
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].astype(str)
    return frame


class SparkEngine:
    """Runs :func:`process_chunk` per hash bucket of patients on Spark (default ``local[2]``)."""

    name = "spark"

    def __init__(self, folder: Path, chunk_size: int, master: str = "local[2]") -> None:
        self.folder = Path(folder)
        self.chunk_size = chunk_size
        self.master = master
        self._spark = None
        self._started = False
        self._patients = None
        self._measurements = None

    def prepare(self) -> int:
        """Start Spark, read and number both tables; return the number of patient rows."""
        from relapse_ml.batch.engine import check_required_columns

        patients_path, measurements_path = check_required_columns(self.folder)
        self._spark, self._started = _spark_session(self.master)
        self._p_cols = read_header("patients", patients_path)
        self._m_cols = read_header("measurements", measurements_path)
        patients = read_numbered(self._spark, patients_path, "patients").cache()
        n = patients.count()
        n_buckets = max(1, math.ceil(n / self.chunk_size))
        self._patients = _bucketed(patients, n_buckets)
        self._measurements = _bucketed(
            read_numbered(self._spark, measurements_path, "measurements"), n_buckets
        )
        return n

    def chunks(
        self, model, *, scorer: Scorer, top_k: int, model_version: str
    ) -> Iterator[ChunkResult]:
        """Process every bucket on Spark; yield results in patient file order."""
        from pyspark.sql import functions as F

        shipped = self._spark.sparkContext.broadcast(model)
        p_cols, m_cols = self._p_cols, self._m_cols

        def run_bucket(patients: pd.DataFrame, measurements: pd.DataFrame) -> pd.DataFrame:
            return _bucket_results(
                shipped.value,
                patients,
                measurements,
                scorer=scorer,
                top_k=top_k,
                model_version=model_version,
                p_cols=p_cols,
                m_cols=m_cols,
            )

        results = (
            self._patients.groupBy(BUCKET)
            .cogroup(self._measurements.groupBy(BUCKET))
            .applyInPandas(run_bucket, schema=RESULT_DDL)
            .cache()
        )
        small = results.filter(~F.col("__kind").isin("scored", "reject")).collect()
        problems = _structural(small)
        if problems:
            yield ChunkResult(
                pd.DataFrame(), reject_frame([]), OrphanRows(), tuple(problems), DriftCounts(), 0
            )
            return
        yield from self._stream(
            results,
            "scored",
            lambda rec: ChunkResult(
                _typed(rec), reject_frame([]), OrphanRows(), (), DriftCounts(), len(rec)
            ),
        )
        yield from self._stream(
            results,
            "reject",
            lambda rec: ChunkResult(
                pd.DataFrame(), reject_frame(rec), OrphanRows(), (), DriftCounts(), len(rec)
            ),
        )
        drift = DriftCounts()
        orphans = OrphanRows()
        for row in small:
            payload = json.loads(row["__payload"])
            if row["__kind"] == "drift":
                payload.pop("n_input")
                drift.merge(DriftCounts.from_dict(payload))
            elif row["__kind"] == "orphan":
                pid, first, count, reason = payload
                orphans.first_row[pid] = first
                orphans.n_rows[pid] = count
                orphans.reason[pid] = reason
        yield ChunkResult(pd.DataFrame(), reject_frame([]), orphans, (), drift, 0)
        results.unpersist()

    def close(self) -> None:
        """Stop the Spark session if :meth:`prepare` started it (a caller's session stays)."""
        if self._spark is not None and self._started:
            self._spark.stop()
        self._spark = None

    @staticmethod
    def _stream(results, kind: str, build) -> Iterator[ChunkResult]:
        from pyspark.sql import functions as F

        batch: list[dict] = []
        ordered = results.filter(F.col("__kind") == kind).orderBy(ROW).select("__payload")
        for row in ordered.toLocalIterator():
            batch.append(json.loads(row["__payload"]))
            if len(batch) >= COLLECT_BATCH:
                yield build(batch)
                batch = []
        if batch:
            yield build(batch)
