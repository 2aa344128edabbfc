"""Parse one column against its contract spec, vectorised, without silent coercion.

Every parser returns the typed values plus two masks: ``missing`` (an empty cell)
and ``bad`` (a non-empty cell that breaks the contract). A string in a numeric
column is ``bad``, never NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from relapse_ml.schema import ColumnSpec, Contract

DATE_PATTERN = r"\d{4}-\d{2}-\d{2}"


@dataclass(frozen=True)
class ParsedColumn:
    """Result of parsing one column.

    Attributes
    ----------
    values : Series
        Typed values (canonical dtype); missing and bad cells are missing.
    missing : ndarray of bool
        Empty cells.
    bad : ndarray of bool
        Non-empty cells that break the contract.
    expected : str
        What the contract asks for, for the problem report.
    """

    values: pd.Series
    missing: np.ndarray
    bad: np.ndarray
    expected: str


def as_text(series: pd.Series) -> pd.Series:
    """Return ``series`` as stripped text (``str`` dtype) with ``""`` for a missing cell."""
    if not pd.api.types.is_string_dtype(series.dtype) or series.dtype == object:
        series = series.astype(object).where(series.notna(), "").astype("str")
    return series.fillna("").str.strip()


def arrow_text(series: pd.Series) -> pa.Array:
    """The column as an Arrow string array ("" for missing), without a Python-object detour."""
    source = (
        series
        if pd.api.types.is_string_dtype(series.dtype) and series.dtype != object
        else as_text(series)
    )
    array = pa.array(source.fillna(""))
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _is_plain_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
        series.dtype
    )


def parse_number(series: pd.Series, spec: ColumnSpec) -> ParsedColumn:
    """Parse a number or integer column (float64 result)."""
    expected = "a whole number" if spec.dtype == "integer" else "a number"
    if _is_plain_numeric(series):
        values = series.astype("float64").to_numpy(copy=True)
        missing = np.isnan(values)
        bad = np.isinf(values)
    else:
        text = arrow_text(series)
        try:
            # Fast path: every cell is a plain number (the usual case for big tables).
            values = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False).copy()
            missing = np.zeros(len(values), dtype=bool)
            bad = ~np.isfinite(values)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            stripped = as_text(series)
            missing = (stripped == "").to_numpy()
            parsed = pd.to_numeric(stripped.where(~missing), errors="coerce")
            values = parsed.to_numpy(dtype="float64", na_value=np.nan).copy()
            bad = ~missing & ~np.isfinite(values)
    if spec.dtype == "integer":
        with np.errstate(invalid="ignore"):
            bad |= ~missing & ~bad & (np.mod(values, 1.0) != 0)
    values[missing | bad] = np.nan
    return ParsedColumn(
        pd.Series(values, index=series.index, name=spec.name), missing, bad, expected
    )


def parse_boolean(series: pd.Series, spec: ColumnSpec, contract: Contract) -> ParsedColumn:
    """Parse a boolean column into float64 1.0/0.0/NaN."""
    expected = "true/false, 1/0 or yes/no"
    if pd.api.types.is_bool_dtype(series.dtype) and series.dtype != object:
        values = series.astype("float64").to_numpy(copy=True)
        missing = np.isnan(values)
        return ParsedColumn(
            pd.Series(values, index=series.index, name=spec.name),
            missing,
            np.zeros_like(missing),
            expected,
        )
    if _is_plain_numeric(series):
        series = (
            series.astype(object)
            .where(series.notna(), "")
            .map(lambda v: "" if v == "" else f"{v:g}")
        )
    text = as_text(series).str.lower()
    is_true = text.isin(contract.boolean_true).to_numpy()
    is_false = text.isin(contract.boolean_false).to_numpy()
    missing = (text == "").to_numpy()
    bad = ~missing & ~is_true & ~is_false
    values = np.where(is_true, 1.0, np.where(is_false, 0.0, np.nan))
    return ParsedColumn(
        pd.Series(values, index=series.index, name=spec.name), missing, bad, expected
    )


def parse_category(series: pd.Series, spec: ColumnSpec) -> ParsedColumn:
    """Parse a category column into a Categorical with the contract's categories."""
    assert spec.values is not None
    allowed = list(spec.values)
    shown = (
        ", ".join(allowed)
        if len(allowed) <= 8
        else f"a name from the catalogue ({len(allowed)} names)"
    )
    expected = f"one of {shown}"
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    # Dictionary-encode once, then map the few distinct texts onto the categories.
    encoded = pc.dictionary_encode(pc.utf8_trim_whitespace(arrow_text(series)))
    distinct = encoded.dictionary.to_pylist()
    to_code = np.array(
        [allowed.index(v) if v in allowed else (-2 if v == "" else -3) for v in distinct] + [-1],
        dtype=np.int64,
    )
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    codes = to_code[indices] if len(distinct) else np.full(len(indices), -2, dtype=np.int64)
    missing = codes == -2
    bad = codes == -3
    codes[missing | bad] = -1
    values = pd.Categorical.from_codes(codes, categories=allowed)
    return ParsedColumn(
        pd.Series(values, index=series.index, name=spec.name), missing, bad, expected
    )


def parse_date(series: pd.Series, spec: ColumnSpec) -> ParsedColumn:
    """Parse an ISO 8601 ``YYYY-MM-DD`` date column into datetime64."""
    expected = "a date YYYY-MM-DD"
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        values = (
            pd.to_datetime(series).dt.tz_localize(None)
            if getattr(series.dt, "tz", None)
            else pd.to_datetime(series)
        )
        missing = values.isna().to_numpy()
        return ParsedColumn(values.rename(spec.name), missing, np.zeros_like(missing), expected)
    text = as_text(
        series.astype(object).map(lambda v: v.isoformat() if hasattr(v, "isoformat") else v)
    )
    missing = (text == "").to_numpy()
    shaped = text.str.fullmatch(DATE_PATTERN).to_numpy(dtype=bool, na_value=False)
    values = pd.to_datetime(text.where(shaped & ~missing), format="%Y-%m-%d", errors="coerce")
    bad = ~missing & values.isna().to_numpy()
    return ParsedColumn(values.rename(spec.name), missing, bad, expected)


def parse_string(series: pd.Series, spec: ColumnSpec) -> ParsedColumn:
    """Parse a string column; check the pattern and allowed values when the contract gives them."""
    text = as_text(series)
    missing = (text == "").to_numpy()
    bad = np.zeros(len(text), dtype=bool)
    expected = "text"
    if spec.pattern:
        bad = ~missing & ~text.str.fullmatch(spec.pattern).to_numpy(dtype=bool, na_value=False)
        expected = f"text matching {spec.pattern}"
    if spec.values is not None:
        bad = ~missing & ~text.isin(spec.values).to_numpy()
        expected = "empty or one of " + ", ".join(repr(v) for v in spec.values)
    values = text.where(~missing & ~bad)
    return ParsedColumn(values.rename(spec.name), missing, bad, expected)


def parse_column(series: pd.Series, spec: ColumnSpec, contract: Contract) -> ParsedColumn:
    """Parse ``series`` according to ``spec.dtype``."""
    if spec.dtype in ("number", "integer"):
        return parse_number(series, spec)
    if spec.dtype == "boolean":
        return parse_boolean(series, spec, contract)
    if spec.dtype == "category":
        return parse_category(series, spec)
    if spec.dtype == "date":
        return parse_date(series, spec)
    return parse_string(series, spec)


def out_of_range(parsed: ParsedColumn, spec: ColumnSpec) -> tuple[np.ndarray, str]:
    """Return the mask of parsed values outside the contract range and its description."""
    ok = ~parsed.missing & ~parsed.bad
    if spec.dtype == "date":
        low, high = spec.date_bounds()
        values = parsed.values
        mask = np.zeros(len(values), dtype=bool)
        if low is not None:
            mask |= ok & (values < pd.Timestamp(low)).to_numpy(dtype=bool, na_value=False)
        if high is not None:
            mask |= ok & (values > pd.Timestamp(high)).to_numpy(dtype=bool, na_value=False)
        return mask, f"a date from {low} to {high}"
    values = parsed.values.to_numpy(dtype="float64", na_value=np.nan)
    mask = np.zeros(len(values), dtype=bool)
    if spec.minimum is not None:
        mask |= ok & (values < float(spec.minimum))
    if spec.maximum is not None:
        mask |= ok & (values > float(spec.maximum))
    unit = f" {spec.unit}" if spec.unit else ""
    if spec.minimum is not None and spec.maximum is not None:
        text = f"a value from {spec.minimum:g} to {spec.maximum:g}{unit}"
    elif spec.minimum is not None:
        text = f"a value >= {spec.minimum:g}{unit}"
    else:
        text = f"a value <= {spec.maximum:g}{unit}"
    return mask, text
