"""Workflow: ``relapse-ml predict``: streaming batch scoring with explanations, rejects and drift.

Writes three files, all or nothing: each is written to a hidden temporary
beside its path (``.<name>.relapse-ml-tmp-<pid>-...``), checked, then renamed:
drift, rejects, and the scores last, so the scores file marks a complete run.
If anything fails, none of this run's files is left at its path. Temporaries
and spill files of a killed run are removed by the next run on the same output.
An input without patients gives header-only files with the full schema:

- the scores (``--out``, CSV or Parquet by extension): one row per scored patient;
- the rejects (default ``<stem>.rejects.csv`` beside the output): one row per
  rejected input patient holding its *first* problem (patient_id, table, column,
  row, expected, found, reason), then one row per unknown patient_id of the
  measurements table (its first row, and how many rows were not used);
- the drift report ``<stem>.drift.json`` beside the output.

Every input patient row is in exactly one of the scores and the rejects; the
job checks this before renaming anything. Structural problems raise
:class:`relapse_ml.errors.ContractError` (exit code 2) and write nothing; so do
output paths that cannot be written (checked before any work). Patients the
model fails on are rejected with reason ``internal error: ...``; above
``max_internal_error_share`` of the input, or on a full disk, the run raises
:class:`relapse_ml.errors.InternalError` (exit code 1) and writes nothing.
"""

from __future__ import annotations

import contextlib
import errno
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from relapse_ml.batch.chunk import INTERNAL_ERROR, REJECT_COLUMNS, orphan_rejects, reject_frame
from relapse_ml.batch.config import PredictConfig
from relapse_ml.batch.drift import DriftCounts, drift_report, render_drift, strict_json
from relapse_ml.batch.sinks import TableSink, check_table_path, empty_scores
from relapse_ml.errors import ContractError, InternalError, UserError
from relapse_ml.io import (
    atomic_paths,
    check_output_paths,
    make_missing_folders,
    remove_stale_temporaries,
    temporary_path,
)
from relapse_ml.workflows.predict_report import PredictSummary, Progress


def side_paths(out: Path, rejects: Path | None) -> tuple[Path, Path]:
    """Default rejects (``<stem>.rejects.csv``) and drift (``<stem>.drift.json``) paths."""
    out = Path(out)
    return (
        Path(rejects) if rejects is not None else out.with_name(f"{out.stem}.rejects.csv"),
        out.with_name(f"{out.stem}.drift.json"),
    )


def _make_engine(config: PredictConfig, workdir: Path):
    if config.engine == "local":
        from relapse_ml.batch.engine import LocalEngine

        return LocalEngine(config.data_dir, config.chunk_size, workdir, config.workers)
    from relapse_ml.batch.spark import SparkEngine

    return SparkEngine(config.data_dir, config.chunk_size)


def _load_served(model_uri: str):
    """The model behind ``model_uri``; a ``.skops`` file is loaded without importing mlflow."""
    from relapse_ml.artifact import is_model_file, load_model_file

    if is_model_file(model_uri):
        # What load_served_model does for a file, without importing mlflow (~80 MB).
        return load_model_file(model_uri)
    from relapse_ml.tracking import load_served_model

    return load_served_model(model_uri)


def run_predict(
    config: PredictConfig,
    *,
    echo: Callable[[str], None] | None = None,
    scorer: Callable[..., pd.DataFrame] | None = None,
) -> PredictSummary:
    """Score every patient of ``config.data_dir`` with explanations; reject, with reasons, the rest.

    Parameters
    ----------
    config : PredictConfig
        The job (data, model, outputs, chunking, engine, workers), built once at the CLI.
    echo : callable, optional
        Receives the summary text (the CLI passes ``typer.echo``).
    scorer : callable, optional
        Scoring function (default :func:`relapse_ml.serving.scoring.score_patients`).

    Returns
    -------
    PredictSummary

    Raises
    ------
    ContractError
        Structural problems in the data; nothing is written.
    UserError
        Output paths that cannot be written or a missing data folder; checked before any work.
    TrackingError
        The model cannot be loaded.
    InternalError
        More than ``max_internal_error_share`` of the patients could not be
        scored, or the disk is full; nothing is written.
    """
    start = time.perf_counter()
    outputs = _checked_outputs(config)
    if scorer is None and (config.engine != "local" or config.workers == 1):
        # Local workers import the default scorer themselves: here it would only
        # cost memory.
        from relapse_ml.serving.scoring import score_patients as scorer
    served = _load_served(config.model_uri)
    model = served.model.at(config.landmark)  # an untrained landmark fails before any work
    counts = _write_outputs(config, served, model, scorer, outputs)
    summary = _summary(config, served, outputs, counts, time.perf_counter() - start)
    if echo is not None:
        report = counts["report"]
        echo(summary.to_json() if config.json_summary else summary.render(render_drift(report)))
    return summary


def _checked_outputs(config: PredictConfig) -> list[Path]:
    """The drift, rejects and scores paths (renamed in this order), checked before any work."""
    rejects_path, drift_path = side_paths(config.out, config.rejects)
    try:
        for path in (config.out, rejects_path):
            check_table_path(path)
        outputs = [drift_path, rejects_path, config.out]
        check_output_paths(outputs)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if not config.data_dir.is_dir():
        raise UserError(f"{config.data_dir} is not a folder")
    return outputs


def _write_outputs(config: PredictConfig, served, model, scorer, outputs: list[Path]) -> dict:
    """Stream into temporary files beside ``outputs`` and rename them; on failure leave nothing."""
    for path in outputs:
        remove_stale_temporaries(path)
    try:
        created = make_missing_folders(outputs)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    workdir = temporary_path(config.out)
    try:
        workdir.mkdir()
        try:
            return _run(config, served, model, scorer, workdir, outputs)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    except BaseException as exc:
        for folder in reversed(created):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if still empty
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise InternalError(
                f"no space left on the device while writing beside {config.out}: nothing was written"
            ) from None
        raise


def _summary(config: PredictConfig, served, outputs: list[Path], counts: dict, elapsed: float):
    drift_path, rejects_path, out = outputs
    report = counts["report"]
    return PredictSummary(
        n_input=counts["n_input"],
        n_scored=counts["n_scored"],
        n_rejected=counts["n_rejected"],
        n_ood=counts["n_ood"],
        n_unknown_patients=counts["n_unknown_patients"],
        n_unknown_patient_rows=counts["unknown_rows"],
        elapsed_s=round(elapsed, 3),
        patients_per_s=round(counts["n_input"] / elapsed, 1) if elapsed > 0 else 0.0,
        output=str(out),
        rejects=str(rejects_path),
        drift=str(drift_path),
        model_uri=config.model_uri,
        model_name=served.name,
        model_version=served.version,
        engine=config.engine,
        chunk_size=config.chunk_size,
        drift_summary={
            **report["summary"],
            "share_ood": report["share_ood"],
            "unseen_categories": report["unseen_categories"],
        },
        n_internal_errors=counts["n_internal"],
    )


@dataclass
class _Tally:
    """What the chunks add up to, and the outputs being written."""

    scores: TableSink
    rejects: TableSink
    drift: DriftCounts = field(default_factory=DriftCounts)
    n_input: int = 0
    n_scored: int = 0
    n_rejected: int = 0
    n_ood: int = 0
    n_internal: int = 0
    unknown_rows: int = 0
    first_internal: str = ""
    orphans: pd.DataFrame = field(default_factory=lambda: reject_frame([]))

    def add(self, result) -> None:
        """Write one chunk's scores and rejects and count them."""
        _check_accounting(result)
        self.scores.write(result.scored)
        self.rejects.write(result.rejects)
        if len(result.rejects):
            internal = result.rejects["reason"].str.startswith(f"{INTERNAL_ERROR}:")
            if internal.any() and not self.first_internal:
                self.first_internal = str(result.rejects.loc[internal, "reason"].iloc[0])
            self.n_internal += int(internal.sum())
        if result.orphans.first_row:
            found = orphan_rejects(result.orphans)
            self.orphans = pd.concat([self.orphans, found], ignore_index=True)
            self.unknown_rows += result.orphans.total_rows
        self.drift.merge(result.drift)
        self.n_input += result.n_input
        self.n_scored += len(result.scored)
        self.n_rejected += len(result.rejects)
        self.n_ood += int(result.scored["ood"].sum()) if len(result.scored) else 0


def _run(config: PredictConfig, served, model, scorer, workdir: Path, outputs: list[Path]) -> dict:
    """Stream the chunks into temporary files, check them, then rename them (scores last).

    ``model`` is the served artifact's model at ``config.landmark``.
    """
    _, rejects_path, out = outputs
    runner = _make_engine(config, workdir)
    try:
        n_expected = runner.prepare()
        bar = Progress(n_expected, config.progress)
        with atomic_paths(outputs) as (tmp_drift, tmp_rejects, tmp_out):
            tally = _Tally(
                TableSink(tmp_out, out.suffix.lower()),
                TableSink(tmp_rejects, rejects_path.suffix.lower(), REJECT_COLUMNS),
            )
            chunks = runner.chunks(
                model, scorer=scorer, top_k=config.top_k, model_version=served.version
            )
            for result in chunks:
                if result.structural:
                    raise ContractError.unusable(list(result.structural), folder=config.data_dir)
                tally.add(result)
                bar.update(result.n_input)
            bar.close()
            report = _finish(config, model, tally, n_expected, tmp_drift)
    finally:
        runner.close()
    return {
        "n_input": tally.n_input,
        "n_scored": tally.n_scored,
        "n_rejected": tally.n_rejected,
        "n_ood": tally.n_ood,
        "n_internal": tally.n_internal,
        "n_unknown_patients": len(tally.orphans),
        "unknown_rows": tally.unknown_rows,
        "report": report,
    }


def _finish(config: PredictConfig, model, tally: _Tally, n_expected: int, drift_path: Path):
    """Check the totals, write the orphans and the drift report, close and check the files."""
    if tally.n_input != n_expected:
        raise RuntimeError(
            f"accounting: {n_expected} patient rows indexed but {tally.n_input} processed"
        )
    share = config.max_internal_error_share
    if tally.n_internal > share * tally.n_input:
        raise InternalError(
            f"{tally.n_internal} of {tally.n_input} patients could not be scored because of "
            f"internal errors (more than {share:.1%}); nothing was written; "
            f"first: {tally.first_internal}"
        )
    tally.orphans = _merge_orphans(tally.orphans)
    tally.rejects.write(tally.orphans)
    scores = tally.scores
    # Only an empty run needs the schema (its import pulls shap into this process).
    empty = empty_scores(config.top_k, model.horizons_days) if scores.n_rows == 0 else None
    scores.close(empty)
    tally.rejects.close(reject_frame([]))
    groups = {s.name: s.group for s in model.catalogue}
    report = drift_report(tally.drift, model.reference, groups)
    drift_path.write_text(
        json.dumps(strict_json(report), indent=2, allow_nan=False, default=float) + "\n",
        encoding="utf-8",
    )
    _check_written([
        (scores.path, scores.n_rows, tally.n_scored),
        (tally.rejects.path, tally.rejects.n_rows, tally.n_rejected + len(tally.orphans)),
    ])  # fmt: skip
    return report


def _check_written(files: list[tuple[Path, int, int]]) -> None:
    """Before renaming: each file exists, is not empty and holds the rows counted."""
    for path, written, expected in files:
        if written != expected or not path.is_file() or path.stat().st_size == 0:
            raise RuntimeError(
                f"output check: {path.name} holds {written} rows, {expected} expected"
            )


def _check_accounting(result) -> None:
    """Every input patient row of a chunk is scored or rejected, once."""
    if len(result.scored) + len(result.rejects) != result.n_input:
        raise RuntimeError(
            f"accounting: {result.n_input} patient rows in a chunk but "
            f"{len(result.scored)} scored and {len(result.rejects)} rejected"
        )


def _merge_orphans(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per unknown patient_id (the earliest row) when several chunks saw it."""
    if frame.empty:
        return frame
    return (
        frame.sort_values(["row", "patient_id"], kind="stable")
        .drop_duplicates("patient_id", keep="first")
        .reset_index(drop=True)
    )
