"""Reading contract table files (CSV and Parquet) as text, with file row numbers and clear errors."""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

TABLE_FORMATS = (".csv", ".parquet")


@dataclass(frozen=True)
class RawTable:
    """One table as read from disk, before validation.

    Attributes
    ----------
    name : str
        Contract table name.
    path : Path
        File it was read from.
    frame : DataFrame
        CSV: every column as strings ("" for an empty cell). Parquet: as stored.
    row_numbers : ndarray of int64
        1-based data row number in the file of each frame row (rows that could
        not be parsed are missing from ``frame`` and listed in ``bad_rows``).
    bad_rows : tuple of (int, str)
        Rows the CSV parser could not read: (row number, raw text).
    """

    name: str
    path: Path
    frame: pd.DataFrame
    row_numbers: np.ndarray
    bad_rows: tuple[tuple[int, str], ...] = ()


def find_table_files(folder: Path, name: str) -> list[Path]:
    """Return the files in ``folder`` that hold table ``name`` (``NAME.csv`` / ``NAME.parquet``)."""
    return [folder / f"{name}{ext}" for ext in TABLE_FORMATS if (folder / f"{name}{ext}").is_file()]


def error_reason(exc: BaseException) -> str:
    """The first line of an Arrow or OS error, with a UTF-8 decoding error said plainly.

    One wording for every reader (validation, batch, Spark), so that a file that
    cannot be read gets the same reason whichever command reads it.
    """
    reason = (str(exc).splitlines() or [type(exc).__name__])[0]
    return "the file is not UTF-8 text" if "utf8" in reason.lower() else reason


def check_unique_names(names: list[str]) -> None:
    """Raise ``ValueError`` when a column name appears more than once."""
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"column names appear more than once: {', '.join(repeated)}")


def csv_header_line(path: Path) -> str:
    """The first line of a CSV file as text, without byte-order mark and line end.

    Raises
    ------
    ValueError
        The file is empty, or its first line is not UTF-8 text.
    """
    if path.stat().st_size == 0:
        raise ValueError("the file is empty (expected a header row)")
    with path.open("rb") as handle:
        first = handle.readline()
    try:
        # Decoded as plain UTF-8 (then the mark removed) so that the byte named
        # is the file's, as in :func:`_check_utf8_text`.
        text = first.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise ValueError(f"the file is not UTF-8 text (byte {exc.start})") from None
    return text.rstrip("\r\n")


def _parquet_error(exc: BaseException) -> ValueError:
    return ValueError(f"cannot be read as Parquet: {error_reason(exc)}")


def _csv_header(path: Path) -> list[str]:
    names = next(csv.reader(io.StringIO(csv_header_line(path))), [])
    if not names or all(not n.strip() for n in names):
        raise ValueError("the first row holds no column names")
    check_unique_names(names)
    return names


def _parquet_header(path: Path) -> list[str]:
    try:
        names = list(pq.ParquetFile(path).schema_arrow.names)
    except (pa.ArrowInvalid, OSError) as exc:
        raise _parquet_error(exc) from None
    check_unique_names(names)
    return names


def read_table_header(path: Path) -> list[str]:
    """Column names of a table file (``.csv`` or ``.parquet``): the one header reader.

    Validation, both batch engines and the Spark reader all read headers here,
    so a broken header gets one reason whichever command meets it.

    Raises
    ------
    ValueError
        The file is empty or cannot be read, its first row holds no column names,
        or a name appears more than once; the message says which.
    """
    return _parquet_header(path) if path.suffix.lower() == ".parquet" else _csv_header(path)


def bad_row_id(text: str, header: list[str]) -> str:
    """The patient_id an unreadable CSV row names ("" when it names none).

    The row could not be parsed, so its text is split on commas and the field at
    the header's ``patient_id`` position is taken (spaces and quotes removed).
    Validation, both batch engines and their routing all use this one reading,
    so they reject the same patient for the same row.
    """
    if "patient_id" not in header:
        return ""
    fields = text.split(",")
    position = header.index("patient_id")
    return fields[position].strip().strip('"') if position < len(fields) else ""


def _check_utf8_text(path: Path, chunk_size: int = 1 << 24) -> None:
    """Raise ``ValueError`` unless the file is UTF-8 text without NUL bytes."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise ValueError(
                    f"the file is not UTF-8 text (byte {offset + exc.start})"
                ) from None
            if b"\x00" in chunk:
                raise ValueError("the file holds binary data (NUL bytes), not CSV text")
            offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise ValueError("the file is not UTF-8 text (it ends inside a character)") from None


def csv_text_options(
    header: list[str], on_invalid_row, include_columns: list[str] | None = None
) -> dict:
    """The parse and convert options every CSV reader here uses (validation, batch, Spark).

    Every column is read as text ("" for an empty cell, never null), and rows the
    parser cannot read go to ``on_invalid_row``; one copy, so that all engines
    read a file alike.
    """
    return {
        "parse_options": pa_csv.ParseOptions(invalid_row_handler=on_invalid_row),
        "convert_options": pa_csv.ConvertOptions(
            column_types={h: pa.string() for h in header},
            include_columns=include_columns,
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    }


def _read_csv_text_columns(
    path: Path, header: list[str], on_invalid_row, use_threads: bool
) -> pa.Table:
    try:
        return pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(use_threads=use_threads),
            **csv_text_options(header, on_invalid_row),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ValueError(f"cannot be parsed as CSV: {error_reason(exc)}") from None


def read_csv_table(name: str, path: Path) -> RawTable:
    """Read a CSV table with every column as text, recording unparseable rows.

    Raises
    ------
    ValueError
        The file is empty, not UTF-8, has no or duplicate column names, or cannot
        be parsed at all; the message says which.
    """
    _check_utf8_text(path)
    header = _csv_header(path)
    bad: list[tuple[int, str]] = []

    def on_invalid_row(row: pa_csv.InvalidRow) -> str:
        # ``row.number`` is the 1-based line number (the header is line 1); it
        # is only known when reading single-threaded.
        bad.append((-1 if row.number is None else int(row.number) - 1, row.text))
        return "skip"

    table = _read_csv_text_columns(path, header, on_invalid_row, use_threads=True)
    if bad:
        # Rare: read again on one thread to learn the rows' numbers.
        bad.clear()
        table = _read_csv_text_columns(path, header, on_invalid_row, use_threads=False)
    bad.sort()
    row_numbers = np.arange(1, table.num_rows + len(bad) + 1, dtype=np.int64)
    if bad:
        kept = np.ones(len(row_numbers), dtype=bool)
        kept[np.array([b[0] for b in bad], dtype=np.int64) - 1] = False
        row_numbers = row_numbers[kept]
    check_no_spanning_value(table, row_numbers, bad)
    return RawTable(name, path, table.to_pandas(), row_numbers, tuple(bad))


class SpanningValueError(ValueError):
    """A quoted CSV value runs over a line break into later lines (see below)."""


def check_no_spanning_value(
    table: pa.Table, row_numbers: np.ndarray, bad_rows: list[tuple[int, str]] = ()
) -> None:
    """Raise ``ValueError`` when a quoted value runs over a line break into later lines.

    No contract value holds a line break, so such a value means a quote that is
    never closed: the CSV parser then reads every following line into that one
    row, and the patients on those lines would vanish without a trace. A line
    break that only ends the file's last value is harmless (that row is
    reported as unreadable like any other).
    """
    spanning = re.compile(r"[\r\n][^\r\n]")
    rows = [row for row, text in bad_rows if spanning.search(text.rstrip("\r\n"))]
    for column in table.columns:
        if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
            continue
        hit = pc.index(pc.match_substring_regex(column, spanning.pattern), True).as_py()
        if hit >= 0:
            rows.append(int(row_numbers[hit]))
    if rows:
        raise SpanningValueError(
            f"row {min(rows)}: a quoted value runs over a line break (a quote that is never "
            "closed), so the rows after it cannot be told apart"
        )


def read_parquet_table(name: str, path: Path, columns: list[str] | None = None) -> RawTable:
    """Read a Parquet table as stored.

    Raises
    ------
    ValueError
        The file is not a readable Parquet file.
    """
    _parquet_header(path)  # an unreadable footer or repeated names: reported as the batch does
    try:
        table = pq.read_table(path, columns=columns)
    except (pa.ArrowInvalid, OSError) as exc:
        raise _parquet_error(exc) from None
    frame = table.to_pandas()
    return RawTable(name, path, frame, np.arange(1, len(frame) + 1, dtype=np.int64))


def read_table_file(name: str, path: Path) -> RawTable:
    """Read ``path`` as CSV or Parquet according to its extension."""
    if path.suffix.lower() == ".csv":
        return read_csv_table(name, path)
    return read_parquet_table(name, path)
