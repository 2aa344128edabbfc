"""Streaming table writers (CSV or Parquet by extension) into a temporary path.

The engine opens each writer on a path from :func:`relapse_ml.io.atomic_path`,
so the file appears at its real name only after the last chunk is written.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from relapse_ml.io import TABLE_FORMATS


def check_table_path(path: Path) -> None:
    """Raise ``ValueError`` unless ``path`` ends in ``.csv`` or ``.parquet``."""
    if Path(path).suffix.lower() not in TABLE_FORMATS:
        raise ValueError(f"{path}: expected a .csv or .parquet file name")


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
        """Append ``frame`` (its index is not written)."""
        if frame.empty and (self._schema is not None or self._csv_started):
            return
        if self.columns is not None and not frame.empty:
            frame = frame[self.columns]
        if self.fmt == ".csv":
            mode = "a" if self._csv_started else "w"
            frame.to_csv(
                self.path, mode=mode, header=not self._csv_started, index=False, lineterminator="\n"
            )
            self._csv_started = True
        else:
            if frame.empty:
                return
            if self._schema is None:
                schema = pa.Schema.from_pandas(frame, preserve_index=False)
                # An all-missing first chunk would fix a column to type null.
                fields = [
                    f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in schema
                ]
                self._schema = pa.schema(fields).remove_metadata()
                self._writer = pq.ParquetWriter(self.path, self._schema)
            table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
            self._writer.write_table(table)
        self.n_rows += len(frame)

    def close(self, empty_frame: pd.DataFrame | None = None) -> None:
        """Finish the file; ``empty_frame`` gives the header / schema when nothing was written."""
        if self.n_rows == 0 and empty_frame is not None and self._writer is None:
            if self.fmt == ".csv":
                if not self._csv_started:
                    empty_frame.to_csv(self.path, index=False, lineterminator="\n")
            else:
                empty_frame.to_parquet(self.path, index=False)
        elif self.n_rows == 0 and self.fmt == ".csv" and not self._csv_started:
            self.path.write_text("", encoding="utf-8")
        if self._writer is not None:
            self._writer.close()
            self._writer = None
