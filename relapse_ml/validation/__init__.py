"""Validate a data folder against the data contract and hand back canonical typed tables.

``validate_folder`` reports every problem (structural or per-patient, with table,
column, row and patient) and returns the usable patients' rows as canonical
typed tables: patients (numbers, integers and booleans as float64, categories as
Categorical, dates as datetime64), measurements (day int64, marker Categorical,
value float64, unit and qualifier text) and outcomes (relapse bool, time_days int64,
relapse_antigen Categorical, death_without_relapse nullable ``"boolean"``).

``outcomes["death_without_relapse"]`` (contract version 2) is always there, of pandas
nullable dtype ``"boolean"``: True/False where the file gives it, ``pd.NA`` where the
cell is empty (unknown for that patient). A version-1 folder, whose outcomes file has
no such column, is valid and gets the column with every value ``pd.NA``; so
``outcomes["death_without_relapse"].isna().all()`` tells a caller that the data cannot
tell a death from loss to follow-up (an outcomes file whose column is present but
entirely empty says the same, and is treated the same). A row with both ``relapse``
and ``death_without_relapse`` true is a per-patient problem of that column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from relapse_ml.errors import STRUCTURAL, ContractError, Problem
from relapse_ml.io import RawTable, find_table_files, read_table_file
from relapse_ml.schema import Contract, load_contract
from relapse_ml.validation._tables import (
    KNOWN_ID,
    UNIQUE_ID,
    TypedTable,
    check_known_patients,
    check_marker_maxima,
    check_measurement_units,
    check_outcome_consistency,
    check_unique_ids,
    missing_required_columns,
    parse_table,
)
from relapse_ml.validation.report import ProblemCollector, ValidationReport

__all__ = [
    "KNOWN_ID",
    "UNIQUE_ID",
    "ValidatedData",
    "ValidationReport",
    "missing_required_columns",
    "table_file",
    "validate_folder",
    "validate_raw_tables",
]


@dataclass(frozen=True)
class ValidatedData:
    """Canonical typed tables of the usable patients, and the report on the rest.

    Attributes
    ----------
    patients, measurements : DataFrame
        Rows of patients without any problem (measurements of unknown or
        rejected patients are left out).
    outcomes : DataFrame or None
        Outcomes of usable patients, when the folder has an outcomes table; its
        ``death_without_relapse`` column is nullable ``"boolean"``, all ``pd.NA``
        when the file has no such column (see the module docstring).
    report : ValidationReport
        Every problem found.
    input_patient_ids : tuple of str
        Every patient_id of the patients table, in file order (for accounting).
    """

    patients: pd.DataFrame
    measurements: pd.DataFrame
    outcomes: pd.DataFrame | None
    report: ValidationReport
    input_patient_ids: tuple[str, ...]

    def raise_for_structural(self) -> None:
        """Raise :class:`ContractError` when the folder has structural problems."""
        if self.report.n_structural:
            raise ContractError.unusable(list(self.report.structural), folder=self.report.folder)

    def raise_for_any(self) -> None:
        """Raise :class:`ContractError` when the folder has any problem."""
        if not self.report.is_valid:
            raise ContractError(
                list(self.report.problems),
                summary=f"{self.report.folder}: the data break the contract",
            )


def table_file(folder: Path, name: str, required: bool = True) -> Path | None:
    """The one file holding table ``name`` in ``folder`` (``NAME.csv`` or ``NAME.parquet``).

    Parameters
    ----------
    folder : Path
        The data folder.
    name : str
        Contract table name.
    required : bool
        Whether a missing file is a problem (else None is returned).

    Returns
    -------
    Path or None
        The file; None when there is none and it is not required.

    Raises
    ------
    ContractError
        Both a CSV and a Parquet file, or none while required (structural).
    """
    files = find_table_files(Path(folder), name)
    if len(files) > 1:
        expected, found = f"{name}.csv or {name}.parquet, not both", "both files"
    elif not files and required:
        expected, found = f"a file {name}.csv or {name}.parquet in {folder}", "no such file"
    else:
        return files[0] if files else None
    raise ContractError.unusable([Problem.structural(name, expected, found)])


def _read_tables(
    folder: Path, names: tuple[str, ...], required: set[str], collector: ProblemCollector
) -> dict[str, RawTable]:
    raw: dict[str, RawTable] = {}
    for name in names:
        try:
            path = table_file(folder, name, required=name in required)
        except ContractError as exc:
            for problem in exc.problems:
                collector.add(problem)
            continue
        if path is None:
            continue
        try:
            raw[name] = read_table_file(name, path)
        except ValueError as exc:
            collector.add(Problem.unreadable_table(name, path.name, str(exc)))
    return raw


def _canonical_measurements(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["day"] = out["day"].to_numpy(dtype="float64").astype("int64")
    for column in ("unit", "qualifier", "patient_id"):
        out[column] = out[column].fillna("").astype("str")
    return out.reset_index(drop=True)


def _canonical_outcomes(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["relapse"] = out["relapse"].to_numpy() == 1.0
    out["time_days"] = out["time_days"].to_numpy(dtype="float64").astype("int64")
    # parse_table gives 1.0/0.0/NaN, NaN also for every row when the file lacks the column.
    death = out["death_without_relapse"].to_numpy(dtype="float64", na_value=np.nan)
    out["death_without_relapse"] = pd.arrays.BooleanArray(death == 1.0, np.isnan(death))
    out["patient_id"] = out["patient_id"].astype(str)
    return out.reset_index(drop=True)


def _row_is_clean(table: TypedTable, rejected: set[str]) -> np.ndarray:
    ids = table.patient_ids
    clean = (ids != "").to_numpy()
    if rejected:
        clean = clean & ~ids.isin(rejected).to_numpy()
    return clean


def validate_raw_tables(
    raw: dict[str, RawTable],
    collector: ProblemCollector,
    folder: str,
    contract: Contract | None = None,
) -> ValidatedData:
    """Validate tables already read from disk (see :func:`validate_folder`)."""
    contract = contract or load_contract()
    typed = {
        name: parse_table(table, contract.tables[name], contract, collector)
        for name, table in raw.items()
    }
    patients = typed.get("patients")
    known = pd.Series([], dtype="str")
    if patients is not None:
        check_unique_ids(patients, "patients", STRUCTURAL, collector)
        known = patients.patient_ids[patients.patient_ids != ""]
    measurements = typed.get("measurements")
    if measurements is not None and measurements.usable:
        if patients is not None:
            check_known_patients(measurements, "measurements", known, collector)
        check_measurement_units(measurements, contract, collector)
        check_marker_maxima(measurements, contract, collector)
    outcomes = typed.get("outcomes")
    if outcomes is not None and outcomes.usable:
        if patients is not None:
            check_known_patients(outcomes, "outcomes", known, collector)
        check_unique_ids(outcomes, "outcomes", "patient", collector)
        check_outcome_consistency(outcomes, collector)
    report = ValidationReport(
        folder=folder,
        problems=tuple(collector.problems),
        totals=dict(collector.totals),
        rejected_patients=dict(collector.rejected),
        n_rows={name: len(t.frame) + len(raw[name].bad_rows) for name, t in typed.items()},
    )
    rejected = set(report.rejected_patients)
    empty = pd.DataFrame({c.name: [] for c in contract.patients.columns})

    def clean(table: TypedTable | None) -> pd.DataFrame | None:
        if table is None or not table.usable:
            return None
        return table.frame.loc[_row_is_clean(table, rejected)].reset_index(drop=True)

    clean_patients = clean(patients)
    clean_measurements = clean(measurements)
    clean_outcomes = clean(outcomes)
    if clean_patients is not None:
        clean_patients["patient_id"] = clean_patients["patient_id"].astype(str)
    return ValidatedData(
        patients=clean_patients if clean_patients is not None else empty,
        measurements=_canonical_measurements(clean_measurements)
        if clean_measurements is not None
        else pd.DataFrame(),
        outcomes=_canonical_outcomes(clean_outcomes) if clean_outcomes is not None else None,
        report=report,
        input_patient_ids=tuple(
            str(p) for p in (patients.patient_ids if patients is not None else ())
        ),
    )


def validate_folder(
    folder: Path | str, *, require_outcomes: bool = False, include_outcomes: bool = True
) -> ValidatedData:
    """Read and validate a data folder against the data contract.

    Parameters
    ----------
    folder : path
        Folder holding ``patients``, ``measurements`` and optionally ``outcomes``,
        each as ``.csv`` or ``.parquet``.
    require_outcomes : bool
        Report a missing outcomes table as a structural problem (training).
    include_outcomes : bool
        Read the outcomes table when present (prediction does not need it).

    Returns
    -------
    ValidatedData
        Canonical typed tables of the usable patients and the full report.
    """
    folder = Path(folder)
    collector = ProblemCollector()
    if not folder.is_dir():
        collector.add(
            Problem.structural(
                "(folder)", "a folder with the data tables", f"{folder} is not a folder"
            )
        )
        report = ValidationReport(
            str(folder), tuple(collector.problems), dict(collector.totals), {}, {}
        )
        return ValidatedData(pd.DataFrame(), pd.DataFrame(), None, report, ())
    names = (
        ("patients", "measurements", "outcomes")
        if include_outcomes or require_outcomes
        else ("patients", "measurements")
    )
    required = {"patients", "measurements"} | ({"outcomes"} if require_outcomes else set())
    raw = _read_tables(folder, names, required, collector)
    return validate_raw_tables(raw, collector, str(folder))
