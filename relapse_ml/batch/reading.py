"""Streaming reads of the contract tables (CSV and Parquet) with global file row numbers.

Parquet is read with ``ParquetFile.iter_batches``; CSV with ``pyarrow.csv.open_csv``
on one thread (only then does pyarrow report the line number of an unreadable
row). Every batch carries the 1-based data row number of each of its rows, so
problems found in a chunk name the row of the whole file, as ``relapse-ml
validate`` does. CSV columns are read as text ("" for an empty cell), Parquet
columns as stored: the same raw shape :class:`relapse_ml.io.RawTable` holds.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from relapse_ml.errors import ContractError, Problem
from relapse_ml.io import (
    SpanningValueError,
    check_no_spanning_value,
    csv_text_options,
    find_table_files,
)

CSV_BLOCK_BYTES = 1 << 24


@dataclass
class ArrowBatch:
    """Rows read from one table file, before validation.

    Attributes
    ----------
    table : pyarrow.Table
        The parsed rows (CSV: every column as text).
    row_numbers : ndarray of int64
        1-based data row number in the file of each row of ``table``.
    bad_rows : list of (int, str)
        Unreadable CSV rows met while reading these rows: (row number, text).
    """

    table: pa.Table
    row_numbers: np.ndarray
    bad_rows: list[tuple[int, str]] = field(default_factory=list)

    @property
    def num_rows(self) -> int:
        """Number of parsed rows."""
        return self.table.num_rows


def structural(table: str, expected: str, found: str, column: str | None = None) -> ContractError:
    """A :class:`ContractError` holding one structural problem."""
    return ContractError(
        [Problem.structural(table, expected, found, column=column)],
        summary="the data cannot be used",
    )


def table_file(folder: Path, name: str) -> Path:
    """The one file holding table ``name`` in ``folder``.

    Raises
    ------
    ContractError
        No file, or both a CSV and a Parquet file.
    """
    files = find_table_files(Path(folder), name)
    if len(files) > 1:
        raise structural(name, f"{name}.csv or {name}.parquet, not both", "both files")
    if not files:
        raise structural(name, f"a file {name}.csv or {name}.parquet in {folder}", "no such file")
    return files[0]


def read_header(name: str, path: Path) -> list[str]:
    """Column names of a table file.

    Raises
    ------
    ContractError
        Empty or unreadable file, or repeated column names.
    """
    if path.suffix.lower() == ".parquet":
        try:
            names = pq.ParquetFile(path).schema_arrow.names
        except (pa.ArrowInvalid, OSError) as exc:
            raise structural(
                name, "a readable table", f"{path.name}: cannot be read as Parquet: {exc}"
            ) from None
    else:
        if path.stat().st_size == 0:
            raise structural(name, "a readable table", f"{path.name}: the file is empty")
        with path.open("rb") as handle:
            first = handle.readline()
        try:
            text = first.decode("utf-8-sig").rstrip("\r\n")
        except UnicodeDecodeError:
            raise structural(
                name, "a readable table", f"{path.name}: the file is not UTF-8 text"
            ) from None
        names = next(csv.reader(io.StringIO(text)), [])
        if not names or all(not n.strip() for n in names):
            raise structural(
                name, "a readable table", f"{path.name}: the first row holds no column names"
            )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise structural(
            name, "a readable table", f"column names appear more than once: {', '.join(repeated)}"
        )
    return list(names)


def _iter_parquet(path: Path, batch_rows: int, columns: list[str] | None) -> Iterator[ArrowBatch]:
    next_row = 1
    for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=columns):
        n = batch.num_rows
        yield ArrowBatch(pa.Table.from_batches([batch]), np.arange(next_row, next_row + n))
        next_row += n


def _iter_csv(path: Path, header: list[str], columns: list[str] | None) -> Iterator[ArrowBatch]:
    bad: list[tuple[int, str]] = []

    def on_invalid_row(row: pa_csv.InvalidRow) -> str:
        # Single-threaded reading reports the line number (header = line 1).
        bad.append((int(row.number) - 1, row.text))
        return "skip"

    reader = pa_csv.open_csv(
        path,
        read_options=pa_csv.ReadOptions(use_threads=False, block_size=CSV_BLOCK_BYTES),
        **csv_text_options(header, on_invalid_row, columns),
    )
    next_row = 1
    all_bad: set[int] = set()  # unreadable rows are few: keep their numbers to skip them
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        all_bad.update(r for r, _ in bad)
        n = batch.num_rows
        skip = sorted(r for r in all_bad if r >= next_row)
        candidates = np.arange(next_row, next_row + n + len(skip), dtype=np.int64)
        if skip:
            candidates = candidates[~np.isin(candidates, skip)]
        numbers = candidates[:n]
        if n:
            next_row = int(numbers[-1]) + 1
        taken = list(bad)
        bad.clear()
        table = pa.Table.from_batches([batch])
        check_no_spanning_value(table, numbers, taken)
        yield ArrowBatch(table, numbers, taken)
    if bad:
        yield ArrowBatch(
            pa.table({c: pa.array([], pa.string()) for c in (columns or header)}),
            np.array([], dtype=np.int64),
            list(bad),
        )


def iter_batches(
    name: str, path: Path, batch_rows: int, columns: list[str] | None = None
) -> Iterator[ArrowBatch]:
    """Stream table ``name`` from ``path`` in batches of exactly ``batch_rows`` parsed rows.

    The last batch may be smaller; unreadable CSV rows travel with the batch
    being filled when they are met.

    Raises
    ------
    ContractError
        The file cannot be read at all (structural problem).
    """
    if batch_rows < 1:
        raise ValueError("batch_rows must be >= 1")
    header = read_header(name, path)
    if path.suffix.lower() == ".parquet":
        source = _iter_parquet(path, batch_rows, columns)
    else:
        source = _iter_csv(path, header, columns)
    try:
        yield from _rebatch(source, batch_rows)
    except SpanningValueError as exc:
        raise structural(name, "a readable table", f"{path.name}: {exc}") from None
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        reason = str(exc).splitlines()[0]
        if "utf8" in reason.lower():
            reason = "the file is not UTF-8 text"
        raise structural(name, "a readable table", f"{path.name}: {reason}") from None


def _rebatch(source: Iterator[ArrowBatch], size: int) -> Iterator[ArrowBatch]:
    pending: list[ArrowBatch] = []
    n_pending = 0
    for batch in source:
        pending.append(batch)
        n_pending += batch.num_rows
        while n_pending >= size:
            merged = _concat(pending)
            yield ArrowBatch(
                merged.table.slice(0, size), merged.row_numbers[:size], merged.bad_rows
            )
            rest = ArrowBatch(merged.table.slice(size), merged.row_numbers[size:])
            pending, n_pending = [rest], rest.num_rows
    if n_pending or any(b.bad_rows for b in pending):
        yield _concat(pending)


def _concat(batches: list[ArrowBatch]) -> ArrowBatch:
    if len(batches) == 1:
        return batches[0]
    tables = [b.table for b in batches if b.num_rows] or [batches[0].table]
    return ArrowBatch(
        pa.concat_tables(tables).combine_chunks(),
        np.concatenate([b.row_numbers for b in batches]),
        [bad for b in batches for bad in b.bad_rows],
    )


def bad_row_id(text: str, header: list[str]) -> str:
    """The patient_id of an unreadable CSV row, as validation reads it ("" when unknown)."""
    if "patient_id" not in header:
        return ""
    fields = text.split(",")
    position = header.index("patient_id")
    return fields[position].strip().strip('"') if position < len(fields) else ""
