"""Streaming batch prediction: chunked reading, per-chunk validation, accounting, drift, engines.

The workflow :func:`relapse_ml.workflows.predict.run_predict` drives an engine
(:class:`relapse_ml.batch.engine.LocalEngine` or
:class:`relapse_ml.batch.spark.SparkEngine`); both hand each chunk of patients,
with their measurements and file row numbers, to
:func:`relapse_ml.batch.chunk.process_chunk`. The job's options are a
:class:`relapse_ml.batch.config.PredictConfig`. Modules are imported where used
(nothing here), so the CLI can read the options' defaults without loading the engines.
"""
