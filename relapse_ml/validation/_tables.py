"""Contract rules per table; builds the canonical typed tables and the report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from relapse_ml.errors import PER_PATIENT, STRUCTURAL, Problem
from relapse_ml.io import RawTable, bad_row_id
from relapse_ml.schema import Contract, TableSpec
from relapse_ml.validation._parse import arrow_text, as_text, out_of_range, parse_column
from relapse_ml.validation.report import ProblemCollector

# What the contract asks of a patient_id: written once, for validation and the
# batch engines (which check ids across chunks before validation sees them).
UNIQUE_ID = "a patient_id that appears once"
KNOWN_ID = "a patient_id present in patients"


@dataclass
class TypedTable:
    """A table after parsing: canonical columns, file row numbers, raw patient ids."""

    frame: pd.DataFrame
    row_numbers: np.ndarray
    patient_ids: pd.Series
    usable: bool


def _empty_column(spec_dtype: str, categories: tuple[str, ...] | None, n: int) -> pd.Series:
    if spec_dtype == "category":
        return pd.Series(pd.Categorical([np.nan] * n, categories=list(categories or ())))
    if spec_dtype == "date":
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    if spec_dtype in ("string",):
        return pd.Series([np.nan] * n, dtype=object)
    return pd.Series(np.full(n, np.nan))


def missing_required_columns(spec: TableSpec, header: list[str]) -> list[Problem]:
    """One structural problem per required column of ``spec`` absent from ``header``."""
    return [
        Problem.structural(spec.name, "a required column", "no such column", column=c)
        for c in spec.required_columns
        if c not in header
    ]


def parse_table(
    raw: RawTable, spec: TableSpec, contract: Contract, collector: ProblemCollector
) -> TypedTable:
    """Parse ``raw`` against ``spec``: structural checks, then every cell of every contract column."""
    frame = raw.frame
    header = list(frame.columns)
    n = len(frame)
    rows = raw.row_numbers
    missing_required = missing_required_columns(spec, header)
    for problem in missing_required:
        collector.add(problem)
    ids = (
        as_text(frame["patient_id"]) if "patient_id" in header else pd.Series([""] * n, dtype="str")
    )
    for row, text in raw.bad_rows:
        pid = bad_row_id(text, header)
        collector.add(Problem.unreadable_row(spec.name, row, text, len(header), pid))
    if spec.name == "patients" and n == 0 and not raw.bad_rows:
        collector.add(Problem.structural(spec.name, "at least one patient row", "no data rows"))
    typed: dict[str, pd.Series] = {}
    for column in spec.columns:
        if column.name not in header:
            typed[column.name] = _empty_column(column.dtype, column.values, n)
            continue
        parsed = parse_column(frame[column.name], column, contract)
        # Every check of a cell costs its patient; they differ only in mask and words.
        report = partial(
            collector.add_rows,
            kind=PER_PATIENT,
            table=spec.name,
            column=column.name,
            rows=rows,
            patient_ids=ids,
        )
        found = as_text(frame[column.name]) if parsed.bad.any() else ""
        report(mask=parsed.bad, expected=parsed.expected, found=found)
        if column.required:
            report(mask=parsed.missing, expected="a value (required)", found="an empty cell")
        if column.minimum is not None or column.maximum is not None:
            mask, expected = out_of_range(parsed, column)
            if mask.any():
                report(mask=mask, expected=expected, found=as_text(frame[column.name]))
        typed[column.name] = parsed.values.reset_index(drop=True)
    extras = {c: as_text(frame[c]).reset_index(drop=True) for c in header if c not in typed}
    out = pd.DataFrame({**typed, **extras})
    return TypedTable(out, rows, ids, usable=not missing_required)


def _add_id_rows(
    table: TypedTable,
    name: str,
    kind: str,
    mask: np.ndarray,
    expected: str,
    collector: ProblemCollector,
) -> None:
    """Report the rows of ``mask`` as problems of their patient_id (found: the id itself)."""
    collector.add_rows(
        kind=kind,
        table=name,
        column="patient_id",
        mask=mask,
        rows=table.row_numbers,
        patient_ids=table.patient_ids,
        expected=expected,
        found=table.patient_ids,
    )


def check_unique_ids(table: TypedTable, name: str, kind: str, collector: ProblemCollector) -> None:
    """Report every row whose patient_id repeats an earlier one (or all of them for outcomes)."""
    ids = pd.Series(table.patient_ids)
    keep = "first" if kind == STRUCTURAL else False
    mask = ids.duplicated(keep=keep).to_numpy() & (ids != "").to_numpy()
    _add_id_rows(table, name, kind, mask, UNIQUE_ID, collector)


def check_known_patients(
    table: TypedTable, name: str, known: pd.Series, collector: ProblemCollector
) -> np.ndarray:
    """Report rows whose patient_id is not in the patients table; return that mask."""
    ids = table.patient_ids
    # Look up each distinct id once rather than every row.
    encoded = pc.dictionary_encode(arrow_text(ids))
    distinct = encoded.dictionary
    distinct_known = pc.is_in(distinct, value_set=arrow_text(known)).to_numpy(zero_copy_only=False)
    distinct_known |= pc.equal(distinct, "").to_numpy(zero_copy_only=False)
    mask = (
        ~distinct_known[encoded.indices.to_numpy(zero_copy_only=False)]
        if len(distinct_known)
        else np.zeros(len(ids), dtype=bool)
    )
    _add_id_rows(table, name, PER_PATIENT, mask, KNOWN_ID, collector)
    return mask


def _marker_codes(frame: pd.DataFrame) -> tuple[list[str], np.ndarray] | None:
    """The catalogue markers of the measurements and each row's code (-1: unknown marker).

    None when the marker column could not be parsed as a category (no marker checks).
    """
    markers = frame["marker"]
    if not isinstance(markers.dtype, pd.CategoricalDtype):
        return None
    return list(markers.cat.categories), markers.cat.codes.to_numpy()


def _add_per_marker(
    table: TypedTable,
    collector: ProblemCollector,
    column: str,
    marked: tuple[list[str], np.ndarray],
    mask: np.ndarray,
    expected: Callable[[str], str],
    found: np.ndarray | pd.Series,
) -> None:
    """Report the rows of ``mask`` with one expectation per marker, ``expected(marker)``.

    ``marked`` is what :func:`_marker_codes` returns for the table.
    """
    names, codes = marked
    for k in np.unique(codes[mask]):
        collector.add_rows(
            kind=PER_PATIENT,
            table="measurements",
            column=column,
            mask=mask & (codes == k),
            rows=table.row_numbers,
            patient_ids=table.patient_ids,
            expected=expected(names[k]),
            found=found,
        )


def check_measurement_units(
    table: TypedTable, contract: Contract, collector: ProblemCollector
) -> None:
    """Each row's unit must equal the catalogue's unit for its marker."""
    if (marked := _marker_codes(table.frame)) is None:
        return
    names, marker_codes = marked
    known = marker_codes >= 0
    unit_text = table.frame["unit"].fillna("").astype("str")
    encoded = pc.dictionary_encode(arrow_text(unit_text))
    distinct_units = encoded.dictionary.to_pylist()
    unit_codes = encoded.indices.to_numpy(zero_copy_only=False)
    # matches[k, u]: distinct unit u is the catalogue unit of marker k.
    matches = np.array(
        [[u == contract.markers[m].unit for u in distinct_units] for m in names], dtype=bool
    ).reshape(len(names), len(distinct_units))
    wrong = np.zeros(len(table.frame), dtype=bool)
    if len(distinct_units):
        wrong[known] = ~matches[marker_codes[known], unit_codes[known]]
    _add_per_marker(
        table,
        collector,
        "unit",
        marked,
        wrong,
        lambda m: f"unit {contract.markers[m].unit!r} for marker {m}",
        unit_text,
    )


def check_marker_maxima(table: TypedTable, contract: Contract, collector: ProblemCollector) -> None:
    """Each value must be at most its marker's plausible maximum (the catalogue's ``max``).

    A finite value far beyond physiology (1e308 copies/ug) is a data error, and it
    would overflow derived features; it costs that patient, never the batch.
    """
    if (marked := _marker_codes(table.frame)) is None:
        return
    names, codes = marked
    values = table.frame["value"].to_numpy(dtype="float64", na_value=np.nan)
    maxima = np.array([contract.markers[m].maximum for m in names] + [np.inf])
    with np.errstate(invalid="ignore"):
        over = values > maxima[np.where(codes >= 0, codes, len(names))]

    def expected(marker: str) -> str:
        spec = contract.markers[marker]
        return f"a value <= {spec.maximum:g} {spec.unit} for marker {spec.name}"

    _add_per_marker(table, collector, "value", marked, over, expected, values)


def check_outcome_consistency(table: TypedTable, collector: ProblemCollector) -> None:
    """The rules between outcome columns, each a problem of that patient's row.

    ``relapse_antigen`` is empty unless ``relapse`` is true; ``death_without_relapse``
    is never true together with ``relapse`` (an empty cell, unknown, is allowed).
    """
    frame = table.frame
    relapse = frame["relapse"].to_numpy(dtype="float64", na_value=np.nan)
    report = partial(
        collector.add_rows,
        kind=PER_PATIENT,
        table="outcomes",
        rows=table.row_numbers,
        patient_ids=table.patient_ids,
    )
    report(
        column="relapse_antigen",
        mask=(relapse == 0.0) & frame["relapse_antigen"].notna().to_numpy(),
        expected="empty when relapse is false",
        found=frame["relapse_antigen"].astype(object).to_numpy(),
    )
    # A version-1 table has no such column: parse_table filled it with missing values.
    death = frame["death_without_relapse"].to_numpy(dtype="float64", na_value=np.nan)
    report(
        column="death_without_relapse",
        mask=(relapse == 1.0) & (death == 1.0),
        expected="false or empty when relapse is true (death without relapse excludes relapse)",
        found="true, with relapse true",
    )
