"""Reading the contract tables on Spark: every column as text, file row numbers, unreadable rows.

Spark's CSV reader in PERMISSIVE mode silently repairs a row with extra or
missing fields, and its quoting rules differ from pyarrow's. So CSV files are
read as lines of text (``spark.read.text``, empty lines dropped as pyarrow
drops them), numbered with ``zipWithIndex`` (file order), and each line is
parsed with the same pyarrow CSV parser and options as the local engine
(:mod:`relapse_ml.batch.reading`). A row with extra or missing fields or bad
quoting is therefore an unreadable row with the same text, reject reason and
file row number as locally.

One difference remains, because Spark splits a file into lines before parsing:
a quoted value cannot span lines. A line that opens a quote it does not close
is one unreadable row (its patient is rejected) and the lines after it are rows
of their own. The local engine instead reads every following line, up to a
closing quote, into that one unreadable row: the patients on those lines are
not scored and their measurements are reported as rows of unknown patients.
The two engines agree when such a line is the file's last. (The contract has
no column whose values may hold a line break.)
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow.csv as pa_csv

from relapse_ml.batch.reading import read_header
from relapse_ml.io import bad_row_id, csv_header_line, csv_text_options

ROW = "__row"
BAD = "__bad"  # raw text of an unreadable CSV row (null for a parsed row)
PARSE_LINES = 50_000  # CSV lines parsed at once in a Spark task


def _ends_in_quote(line: str) -> bool:
    """Whether pyarrow's CSV parser would still be inside a quoted value at the end of ``line``.

    Quotes open a quoted value only at the start of a field; inside one, ``""``
    is a literal quote and a lone ``"`` closes it.
    """
    quoted, at_start, i, n = False, True, 0, len(line)
    while i < n:
        c = line[i]
        if quoted:
            if c == '"':
                if i + 1 < n and line[i + 1] == '"':
                    i += 2
                    continue
                quoted = False
        elif c == ",":
            at_start = True
            i += 1
            continue
        elif c == '"' and at_start:
            quoted = True
        at_start = False
        i += 1
    return quoted


def parse_lines(header_line: str, header: list[str], lines: list[str]) -> list[tuple]:
    """Parse self-contained CSV lines as the local engine does: one row per line.

    Parameters
    ----------
    header_line : str
        The file's first line (column names).
    header : list of str
        The column names it holds.
    lines : list of str
        Data lines, none ending inside a quoted value (see :func:`_ends_in_quote`).

    Returns
    -------
    list of tuple
        One per line: the cells as text ("" when empty), then None; or, for a
        row that cannot be read, null cells but ``patient_id`` (as validation
        reads it from the raw text), then the raw text.
    """
    bad: dict[int, str] = {}

    def on_invalid_row(row: pa_csv.InvalidRow) -> str:
        bad[int(row.number) - 2] = row.text  # line 1 is the header
        return "skip"

    text = "\n".join([header_line, *lines]) + "\n"
    table = pa_csv.read_csv(
        io.BytesIO(text.encode("utf-8")),
        read_options=pa_csv.ReadOptions(use_threads=False),
        **csv_text_options(header, on_invalid_row),
    )
    parsed = iter(zip(*(table.column(c).to_pylist() for c in header), strict=True))
    pid_at = header.index("patient_id") if "patient_id" in header else None
    out = []
    for i in range(len(lines)):
        if i in bad:
            cells: list = [None] * len(header)
            if pid_at is not None:
                cells[pid_at] = bad_row_id(bad[i], header)
            out.append((*cells, bad[i]))
        else:
            out.append((*next(parsed), None))
    if next(parsed, None) is not None:
        raise RuntimeError("CSV lines and parsed rows do not match")
    return out


def parse_partition(header_line: str, header: list[str]):
    """A ``mapPartitions`` function for (line, line number) pairs of a CSV file.

    Parameters
    ----------
    header_line : str
        The file's first line.
    header : list of str
        The column names it holds.

    Returns
    -------
    callable
        Maps the pairs of one partition to rows of :func:`read_numbered`'s
        schema; line 0 (the header) is dropped.
    """

    def parse(pairs: Iterable[tuple[str, int]]) -> Iterator[tuple]:
        batch: list[tuple[str, int]] = []

        def flush() -> Iterator[tuple]:
            if not batch:
                return
            rows = parse_lines(header_line, header, [line for line, _ in batch])
            for parsed, (_, number) in zip(rows, batch, strict=True):
                yield (*parsed[:-1], number, parsed[-1])
            batch.clear()

        for line, number in pairs:
            if number == 0:
                continue  # the header
            if '"' in line and _ends_in_quote(line):
                # Parsed alone: its quote must not swallow the next lines (see module doc).
                yield from flush()
                batch.append((line, number))
                yield from flush()
                continue
            batch.append((line, number))
            if len(batch) >= PARSE_LINES:
                yield from flush()
        yield from flush()

    return parse


def read_numbered(spark, path: Path, name: str):
    """Read a table file on Spark with file row numbers.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        The session.
    path : Path
        ``.csv`` or ``.parquet`` file of the table.
    name : str
        Contract table name (for error messages).

    Returns
    -------
    pyspark.sql.DataFrame
        Every column of the file as text, ``__row`` (1-based data row number,
        as the local engine numbers rows) and ``__bad`` (raw text of a CSV row
        that cannot be read, else null).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    header = read_header(name, path)
    schema = StructType(
        [StructField(c, StringType()) for c in header]
        + [StructField(ROW, LongType()), StructField(BAD, StringType())]
    )
    if path.suffix.lower() == ".csv":
        header_line = csv_header_line(path)  # read_header has checked it
        # pyarrow skips empty lines without numbering them; so do we.
        lines = spark.read.text(str(path)).rdd.map(lambda r: r[0]).filter(bool)
        numbered = lines.zipWithIndex().mapPartitions(parse_partition(header_line, header))
        return spark.createDataFrame(numbered, schema)
    frame = spark.read.parquet(str(path))
    frame = frame.select([F.col(c).cast("string").alias(c) for c in header])
    numbered = frame.rdd.zipWithIndex().map(lambda pair: (*pair[0], pair[1] + 1, None))
    return spark.createDataFrame(numbered, schema)
