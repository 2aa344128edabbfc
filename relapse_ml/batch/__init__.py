"""Streaming batch prediction: chunked reading, per-chunk validation, accounting, drift, engines.

The workflow :func:`relapse_ml.workflows.predict.run_predict` drives an engine
(:class:`relapse_ml.batch.engine.LocalEngine` or
:class:`relapse_ml.batch.spark.SparkEngine`); both hand each chunk of patients,
with their measurements and file row numbers, to
:func:`relapse_ml.batch.chunk.process_chunk`.
"""

from relapse_ml.batch.chunk import REJECT_COLUMNS, ChunkResult, process_chunk
from relapse_ml.batch.drift import DriftCounts, drift_report, psi
from relapse_ml.batch.engine import LocalEngine

__all__ = [
    "REJECT_COLUMNS",
    "ChunkResult",
    "DriftCounts",
    "LocalEngine",
    "drift_report",
    "process_chunk",
    "psi",
]
