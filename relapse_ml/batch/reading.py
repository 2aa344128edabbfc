"""Streaming reads of the contract tables (CSV and Parquet) with global file row numbers.

Parquet is read with ``ParquetFile.iter_batches``; CSV with ``pyarrow.csv.open_csv``
on one thread (only then does pyarrow report the line number of an unreadable
row). Every batch carries the 1-based data row number of each of its rows, so
problems found in a chunk name the row of the whole file, as ``relapse-ml
validate`` does. CSV columns are read as text ("" for an empty cell), Parquet
columns as stored: the same raw shape :class:`relapse_ml.io.RawTable` holds.
"""

from __future__ import annotations

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
    error_reason,
    read_table_header,
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


def _unreadable(name: str, path: Path, reason: str) -> ContractError:
    return ContractError.unusable([Problem.unreadable_table(name, path.name, reason)])


def read_header(name: str, path: Path) -> list[str]:
    """Column names of the file of table ``name`` (:func:`relapse_ml.io.read_table_header`).

    Raises
    ------
    ContractError
        Empty or unreadable file, no column names, or repeated column names.
    """
    try:
        return read_table_header(path)
    except ValueError as exc:
        raise _unreadable(name, path, str(exc)) from None


def _iter_parquet(path: Path, batch_rows: int, columns: list[str] | None) -> Iterator[ArrowBatch]:
    # One reader per row group: a single reader over the whole file keeps
    # memory it has used until the end (measured: +56 MB over a 2,000,000-row
    # patients file), which made the main process grow with the input.
    next_row = 1
    parquet = pq.ParquetFile(path)
    for group in range(parquet.num_row_groups):
        batches = parquet.iter_batches(batch_size=batch_rows, row_groups=[group], columns=columns)
        for batch in batches:
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
        # Rows met only at the end of the file (a quote never closed swallows
        # every later line): checked like those of any other batch.
        empty = pa.table({c: pa.array([], pa.string()) for c in (columns or header)})
        no_rows = np.array([], dtype=np.int64)
        check_no_spanning_value(empty, no_rows, bad)
        yield ArrowBatch(empty, no_rows, list(bad))


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
        raise _unreadable(name, path, str(exc)) from None
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        raise _unreadable(name, path, error_reason(exc)) from None


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
