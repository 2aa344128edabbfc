"""Workflow: ``relapse-ml predict``: streaming batch scoring with explanations, rejects and drift.

Writes three files, each complete or absent (temporary file, then rename):

- the scores (``--out``, CSV or Parquet by extension): one row per scored patient;
- the rejects (default ``<stem>.rejects.csv`` beside the output): one row per
  rejected input patient holding its *first* problem (patient_id, table, column,
  row, expected, found, reason), then one row per unknown patient_id of the
  measurements table (its first row, and how many rows were not used);
- the drift report ``<stem>.drift.json`` beside the output.

Every input patient row is in exactly one of the scores and the rejects; the
job checks this before renaming anything. Structural problems raise
:class:`relapse_ml.errors.ContractError` (exit code 2) and write nothing.
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from relapse_ml.batch.chunk import REJECT_COLUMNS, orphan_rejects, reject_frame
from relapse_ml.batch.drift import DriftCounts, drift_report, render_drift
from relapse_ml.batch.sinks import TableSink, check_table_path
from relapse_ml.errors import ContractError, UserError
from relapse_ml.io import atomic_path

DEFAULT_MODEL_URI = "models:/car-t-relapse@champion"
DEFAULT_CHUNK_SIZE = 5_000
ENGINES = ("local", "spark")


@dataclass(frozen=True)
class PredictSummary:
    """What ``relapse-ml predict`` reports at the end (also as JSON)."""

    n_input: int
    n_scored: int
    n_rejected: int
    n_ood: int
    n_unknown_patients: int
    n_unknown_patient_rows: int
    elapsed_s: float
    patients_per_s: float
    output: str
    rejects: str
    drift: str
    model_uri: str
    model_name: str
    model_version: str
    engine: str
    chunk_size: int
    drift_summary: dict

    def to_dict(self) -> dict:
        """JSON-serialisable dict."""
        return asdict(self)

    def to_json(self) -> str:
        """The summary as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, default=float)

    def render(self, drift_text: str = "") -> str:
        """Readable lines."""
        lines = [
            f"scored {self.n_scored} of {self.n_input} patients with {self.model_name} "
            f"version {self.model_version or '?'} ({self.engine} engine) in {self.elapsed_s:.1f} s "
            f"({self.patients_per_s:,.0f} patients/s)",
            f"rejected {self.n_rejected}; out-of-distribution {self.n_ood}; measurements of "
            f"{self.n_unknown_patients} unknown patient(s) ({self.n_unknown_patient_rows} rows) not used",
            f"scores:  {self.output}",
            f"rejects: {self.rejects}",
            f"drift:   {self.drift}",
        ]
        if drift_text:
            lines.append(drift_text)
        return "\n".join(lines)


class _Progress:
    """A one-line progress bar on stderr, shown only on a terminal."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = max(total, 1)
        self.enabled = enabled and sys.stderr.isatty()
        self.done = 0
        self.start = time.perf_counter()

    def update(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        share = min(self.done / self.total, 1.0)
        rate = self.done / max(time.perf_counter() - self.start, 1e-9)
        bar = "#" * int(30 * share)
        sys.stderr.write(f"\r[{bar:<30}] {self.done}/{self.total} patients ({rate:,.0f}/s)")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def side_paths(out: Path, rejects: Path | None) -> tuple[Path, Path]:
    """Default rejects (``<stem>.rejects.csv``) and drift (``<stem>.drift.json``) paths."""
    out = Path(out)
    return (
        Path(rejects) if rejects is not None else out.with_name(f"{out.stem}.rejects.csv"),
        out.with_name(f"{out.stem}.drift.json"),
    )


def _make_engine(engine: str, data_dir: Path, chunk_size: int, workdir: Path, workers: int):
    if engine == "local":
        from relapse_ml.batch.engine import LocalEngine

        return LocalEngine(data_dir, chunk_size, workdir, workers)
    from relapse_ml.batch.spark import SparkEngine

    return SparkEngine(data_dir, chunk_size)


def run_predict(
    data_dir: Path,
    model_uri: str = DEFAULT_MODEL_URI,
    out: Path = Path("predictions.csv"),
    rejects: Path | None = None,
    top_k: int = 3,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    engine: str = "local",
    json_summary: bool = False,
    progress: bool = True,
    *,
    workers: int = 1,
    echo: Callable[[str], None] | None = None,
    scorer: Callable[..., pd.DataFrame] | None = None,
) -> PredictSummary:
    """Score every patient of ``data_dir`` with explanations; reject, with reasons, the rest.

    Parameters
    ----------
    data_dir : Path
        Folder with ``patients`` and ``measurements`` (CSV or Parquet).
    model_uri : str
        ``models:/name@alias``, ``models:/name/version``, ``runs:/...`` or a ``.skops`` file.
    out : Path
        Scores file, ``.csv`` or ``.parquet``.
    rejects : Path, optional
        Rejects file (default ``<stem>.rejects.csv`` beside ``out``).
    top_k : int
        Plain-language drivers per patient.
    chunk_size : int
        Patients per chunk (memory grows with it; results do not change).
    engine : {"local", "spark"}
        Where chunks are processed.
    json_summary : bool
        With ``echo``: echo the summary as JSON instead of text.
    progress : bool
        Show a progress bar when stderr is a terminal.
    workers : int
        Local engine: processes scoring chunks (results do not depend on it).
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
        Bad options (format, engine, top_k, chunk size).
    TrackingError
        The model cannot be loaded.
    """
    start = time.perf_counter()
    data_dir, out = Path(data_dir), Path(out)
    rejects_path, drift_path = side_paths(out, rejects)
    for path in (out, rejects_path):
        try:
            check_table_path(path)
        except ValueError as exc:
            raise UserError(str(exc)) from None
    if engine not in ENGINES:
        raise UserError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if top_k < 0 or chunk_size < 1 or workers < 1:
        raise UserError("top_k must be >= 0, chunk_size >= 1 and workers >= 1")
    if not data_dir.is_dir():
        raise UserError(f"{data_dir} is not a folder")
    if scorer is None:
        from relapse_ml.serving.scoring import score_patients as scorer
    from relapse_ml.tracking import load_served_model

    served = load_served_model(model_uri)
    model = served.model
    with tempfile.TemporaryDirectory(prefix="relapse-ml-predict-") as workdir:
        runner = _make_engine(engine, data_dir, chunk_size, Path(workdir), workers)
        try:
            n_expected = runner.prepare()
            bar = _Progress(n_expected, progress)
            with contextlib.ExitStack() as stack:
                # Entered first, renamed last: the scores appear after rejects and drift.
                tmp_out = stack.enter_context(atomic_path(out))
                tmp_rejects = stack.enter_context(atomic_path(rejects_path))
                tmp_drift = stack.enter_context(atomic_path(drift_path))
                scores = TableSink(tmp_out, out.suffix.lower())
                reject_sink = TableSink(tmp_rejects, rejects_path.suffix.lower(), REJECT_COLUMNS)
                drift = DriftCounts()
                n_input = n_scored = n_rejected = n_ood = 0
                orphan_frame = reject_frame([])
                unknown_rows = 0
                for result in runner.chunks(
                    model, scorer=scorer, top_k=top_k, model_version=served.version
                ):
                    if result.structural:
                        raise ContractError(
                            list(result.structural), summary=f"{data_dir}: the data cannot be used"
                        )
                    _check_accounting(result)
                    scores.write(result.scored)
                    reject_sink.write(result.rejects)
                    if result.orphans.first_row:
                        orphan_frame = pd.concat(
                            [orphan_frame, orphan_rejects(result.orphans)], ignore_index=True
                        )
                        unknown_rows += result.orphans.total_rows
                    drift.merge(result.drift)
                    n_input += result.n_input
                    n_scored += len(result.scored)
                    n_rejected += len(result.rejects)
                    n_ood += int(result.scored["ood"].sum()) if len(result.scored) else 0
                    bar.update(result.n_input)
                bar.close()
                if n_input != n_expected:
                    raise RuntimeError(
                        f"accounting: {n_expected} patient rows indexed but {n_input} processed"
                    )
                orphan_frame = _merge_orphans(orphan_frame)
                reject_sink.write(orphan_frame)
                if n_scored == 0:
                    from relapse_ml.serving.scoring import score_columns

                    scores.close(pd.DataFrame({c: [] for c in score_columns(top_k)}))
                else:
                    scores.close()
                reject_sink.close(reject_frame([]))
                groups = {s.name: s.group for s in model.catalogue}
                report = drift_report(drift, model.reference, groups)
                tmp_drift.write_text(
                    json.dumps(report, indent=2, default=float, allow_nan=True) + "\n",
                    encoding="utf-8",
                )
        finally:
            runner.close()
    elapsed = time.perf_counter() - start
    summary = PredictSummary(
        n_input=n_input,
        n_scored=n_scored,
        n_rejected=n_rejected,
        n_ood=n_ood,
        n_unknown_patients=len(orphan_frame),
        n_unknown_patient_rows=unknown_rows,
        elapsed_s=round(elapsed, 3),
        patients_per_s=round(n_input / elapsed, 1) if elapsed > 0 else 0.0,
        output=str(out),
        rejects=str(rejects_path),
        drift=str(drift_path),
        model_uri=model_uri,
        model_name=served.name,
        model_version=served.version,
        engine=engine,
        chunk_size=chunk_size,
        drift_summary={
            **report["summary"],
            "share_ood": report["share_ood"],
            "unseen_categories": report["unseen_categories"],
        },
    )
    if echo is not None:
        echo(summary.to_json() if json_summary else summary.render(render_drift(report)))
    return summary


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
