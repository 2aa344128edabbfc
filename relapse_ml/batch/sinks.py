"""Streaming table writers (CSV or Parquet by extension) into a temporary path.

The engine opens each writer on a path from :func:`relapse_ml.io.atomic_path`,
so the file appears at its real name only after the last chunk is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from relapse_ml.io import TABLE_FORMATS


def check_table_path(path: Path) -> None:
    """Raise ``ValueError`` unless ``path`` ends in ``.csv`` or ``.parquet``."""
    if Path(path).suffix.lower() not in TABLE_FORMATS:
        raise ValueError(f"{path}: expected a .csv or .parquet file name")


def empty_scores(top_k: int, horizons_days: Sequence[int]) -> pd.DataFrame:
    """A scores table without rows: every column of :func:`score_columns`, with its type."""
    from relapse_ml.serving.scoring import curve_columns, score_columns

    floats = {"risk", "baseline_risk", *curve_columns(horizons_days)}
    ints = {"landmark_day", "horizon_days", "schema_version"}
    columns = {}
    for name in score_columns(top_k, horizons_days):
        if name in floats or name.startswith("contrib_"):
            columns[name] = pd.Series([], dtype="float64")
        elif name in ints:
            columns[name] = pd.Series([], dtype="int64")
        elif name == "ood":
            columns[name] = pd.Series([], dtype="bool")
        else:
            columns[name] = pd.Series([], dtype="str")
    return pd.DataFrame(columns)


class TableSink:
    """Append frames with the same columns to one CSV or Parquet file.

    Parameters
    ----------
    path : Path
        File to write (usually a temporary path).
    fmt : {".csv", ".parquet"}
        Output format (taken from the final file name, not the temporary one).
    columns : list of str, optional
        Column order; when given, an empty file still gets a header / schema.
    """

    def __init__(self, path: Path, fmt: str, columns: list[str] | None = None) -> None:
        if fmt not in TABLE_FORMATS:
            raise ValueError(f"unknown table format {fmt!r}")
        self.path = Path(path)
        self.fmt = fmt
        self.columns = columns
        self.n_rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._csv_started = False

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame`` (its index is not written; frames without rows are skipped)."""
        if len(frame) == 0:
            return
        if self.columns is not None:
            frame = frame[self.columns]
        if self.fmt == ".csv":
            mode = "a" if self._csv_started else "w"
            frame.to_csv(
                self.path, mode=mode, header=not self._csv_started, index=False, lineterminator="\n"
            )
            self._csv_started = True
        else:
            if self._schema is None:
                self._open_parquet(frame)
            table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
            self._writer.write_table(table)
        self.n_rows += len(frame)

    def _open_parquet(self, frame: pd.DataFrame) -> None:
        schema = pa.Schema.from_pandas(frame, preserve_index=False)
        # An all-missing first chunk would fix a column to type null.
        fields = [f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in schema]
        self._schema = pa.schema(fields).remove_metadata()
        self._writer = pq.ParquetWriter(self.path, self._schema)

    def close(self, empty_frame: pd.DataFrame | None = None) -> None:
        """Finish the file; ``empty_frame`` (typed, no rows) gives the header / schema when no row was written."""
        if self.n_rows == 0:
            if self.fmt == ".csv":
                if empty_frame is not None:
                    empty_frame.to_csv(self.path, index=False, lineterminator="\n")
                else:
                    self.path.write_text("", encoding="utf-8")
            elif empty_frame is not None:
                self._open_parquet(empty_frame)
        if self._writer is not None:
            self._writer.close()
            self._writer = None
