"""Every rule of the data contract has a failing example and a message check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from relapse_ml.errors import PER_PATIENT, STRUCTURAL
from relapse_ml.validation import validate_folder
from tests.helpers import tiny_tables, write_tables

Tables = dict[str, pd.DataFrame]


def _set(table: str, row: int, column: str, value: str) -> Callable[[Tables], None]:
    def mutate(tables: Tables) -> None:
        tables[table].loc[row, column] = value

    return mutate


def _drop_column(table: str, column: str) -> Callable[[Tables], None]:
    def mutate(tables: Tables) -> None:
        tables[table] = tables[table].drop(columns=[column])

    return mutate


# (id, mutation, kind, table, column, data row (1-based) or None, patient or None, text in message)
CELL_RULES = [
    (
        "patient_id_pattern",
        _set("patients", 0, "patient_id", "P 1"),
        PER_PATIENT,
        "patients",
        "patient_id",
        1,
        "P 1",
        "matching",
    ),
    (
        "patient_id_too_long",
        _set("patients", 0, "patient_id", "P" * 65),
        PER_PATIENT,
        "patients",
        "patient_id",
        1,
        "P" * 65,
        "matching",
    ),
    (
        "string_in_number",
        _set("patients", 1, "age_years", "sixty"),
        PER_PATIENT,
        "patients",
        "age_years",
        2,
        "P2",
        "a number",
    ),
    (
        "number_out_of_range",
        _set("patients", 1, "age_years", "150"),
        PER_PATIENT,
        "patients",
        "age_years",
        2,
        "P2",
        "from 0 to 100",
    ),
    (
        "required_value_empty",
        _set("patients", 1, "age_years", ""),
        PER_PATIENT,
        "patients",
        "age_years",
        2,
        "P2",
        "required",
    ),
    (
        "infinite_number",
        _set("patients", 0, "ldh_u_per_l", "inf"),
        PER_PATIENT,
        "patients",
        "ldh_u_per_l",
        1,
        "P1",
        "a number",
    ),
    (
        "nan_literal",
        _set("patients", 0, "ldh_u_per_l", "NaN"),
        PER_PATIENT,
        "patients",
        "ldh_u_per_l",
        1,
        "P1",
        "a number",
    ),
    (
        "integer_not_whole",
        _set("patients", 2, "prior_lines", "2.5"),
        PER_PATIENT,
        "patients",
        "prior_lines",
        3,
        "P3",
        "whole number",
    ),
    (
        "bad_boolean",
        _set("patients", 0, "bridging_therapy", "maybe"),
        PER_PATIENT,
        "patients",
        "bridging_therapy",
        1,
        "P1",
        "true/false",
    ),
    (
        "bad_category",
        _set("patients", 0, "disease", "AML"),
        PER_PATIENT,
        "patients",
        "disease",
        1,
        "P1",
        "one of B-ALL",
    ),
    (
        "category_wrong_case",
        _set("patients", 0, "costim_domain", "4-1bb"),
        PER_PATIENT,
        "patients",
        "costim_domain",
        1,
        "P1",
        "one of 4-1BB",
    ),
    (
        "bad_date_format",
        _set("patients", 0, "infusion_date", "15/01/2020"),
        PER_PATIENT,
        "patients",
        "infusion_date",
        1,
        "P1",
        "YYYY-MM-DD",
    ),
    (
        "impossible_date",
        _set("patients", 0, "infusion_date", "2020-02-30"),
        PER_PATIENT,
        "patients",
        "infusion_date",
        1,
        "P1",
        "YYYY-MM-DD",
    ),
    (
        "date_before_2010",
        _set("patients", 0, "infusion_date", "2009-12-31"),
        PER_PATIENT,
        "patients",
        "infusion_date",
        1,
        "P1",
        "from 2010-01-01",
    ),
    (
        "date_in_future",
        _set("patients", 0, "infusion_date", "2999-01-01"),
        PER_PATIENT,
        "patients",
        "infusion_date",
        1,
        "P1",
        "from 2010-01-01",
    ),
    (
        "dose_below_range",
        _set("patients", 1, "car_dose_per_kg", "100"),
        PER_PATIENT,
        "patients",
        "car_dose_per_kg",
        2,
        "P2",
        "from 10000",
    ),
    (
        "unknown_marker",
        _set("measurements", 0, "marker", "cd19_car"),
        PER_PATIENT,
        "measurements",
        "marker",
        1,
        "P1",
        "catalogue",
    ),
    (
        "wrong_unit",
        _set("measurements", 3, "unit", "cells/uL"),
        PER_PATIENT,
        "measurements",
        "unit",
        4,
        "P2",
        "'copies/ug' for marker car_transgene",
    ),
    (
        "negative_value",
        _set("measurements", 1, "value", "-3"),
        PER_PATIENT,
        "measurements",
        "value",
        2,
        "P1",
        ">= 0",
    ),
    (
        "infinite_value",
        _set("measurements", 1, "value", "-inf"),
        PER_PATIENT,
        "measurements",
        "value",
        2,
        "P1",
        "a number",
    ),
    (
        "string_value",
        _set("measurements", 1, "value", "high"),
        PER_PATIENT,
        "measurements",
        "value",
        2,
        "P1",
        "a number",
    ),
    (
        "percent_over_100",
        _set("measurements", 5, "value", "120"),
        PER_PATIENT,
        "measurements",
        "value",
        6,
        "P3",
        "a value <= 100 % for marker mrd_pct",
    ),
    (
        "marker_over_plausible_maximum",
        _set("measurements", 0, "value", "1e12"),
        PER_PATIENT,
        "measurements",
        "value",
        1,
        "P1",
        "a value <= 1e+07 copies/ug for marker car_transgene",
    ),
    (
        "patient_column_over_plausible_maximum",
        _set("patients", 2, "steroid_dex_mg", "1e308"),
        PER_PATIENT,
        "patients",
        "steroid_dex_mg",
        3,
        "P3",
        "from 0 to 5000 mg",
    ),
    (
        "day_out_of_range",
        _set("measurements", 0, "day", "-61"),
        PER_PATIENT,
        "measurements",
        "day",
        1,
        "P1",
        "from -60 to 3650",
    ),
    (
        "day_not_whole",
        _set("measurements", 0, "day", "7.5"),
        PER_PATIENT,
        "measurements",
        "day",
        1,
        "P1",
        "whole number",
    ),
    (
        "bad_qualifier",
        _set("measurements", 0, "qualifier", ">"),
        PER_PATIENT,
        "measurements",
        "qualifier",
        1,
        "P1",
        "'<'",
    ),
    (
        "orphan_measurement",
        _set("measurements", 0, "patient_id", "P9"),
        PER_PATIENT,
        "measurements",
        "patient_id",
        1,
        "P9",
        "present in patients",
    ),
    (
        "antigen_without_relapse",
        _set("outcomes", 1, "relapse_antigen", "negative"),
        PER_PATIENT,
        "outcomes",
        "relapse_antigen",
        2,
        "P2",
        "empty when relapse is false",
    ),
    (
        "death_without_relapse_with_relapse",
        _set("outcomes", 0, "death_without_relapse", "true"),
        PER_PATIENT,
        "outcomes",
        "death_without_relapse",
        1,
        "P1",
        "false or empty when relapse is true",
    ),
    (
        "bad_death_without_relapse",
        _set("outcomes", 1, "death_without_relapse", "dead"),
        PER_PATIENT,
        "outcomes",
        "death_without_relapse",
        2,
        "P2",
        "true/false",
    ),
    (
        "time_not_positive",
        _set("outcomes", 0, "time_days", "0"),
        PER_PATIENT,
        "outcomes",
        "time_days",
        1,
        "P1",
        ">= 1",
    ),
    (
        "bad_relapse",
        _set("outcomes", 0, "relapse", "perhaps"),
        PER_PATIENT,
        "outcomes",
        "relapse",
        1,
        "P1",
        "true/false",
    ),
    (
        "bad_relapse_antigen",
        _set("outcomes", 0, "relapse_antigen", "dim"),
        PER_PATIENT,
        "outcomes",
        "relapse_antigen",
        1,
        "P1",
        "one of positive",
    ),
    (
        "orphan_outcome",
        _set("outcomes", 2, "patient_id", "P7"),
        PER_PATIENT,
        "outcomes",
        "patient_id",
        3,
        "P7",
        "present in patients",
    ),
    (
        "duplicate_outcome",
        _set("outcomes", 2, "patient_id", "P1"),
        PER_PATIENT,
        "outcomes",
        "patient_id",
        (1, 3),
        "P1",
        "appears once",
    ),
    (
        "duplicate_patient",
        _set("patients", 2, "patient_id", "P1"),
        STRUCTURAL,
        "patients",
        "patient_id",
        3,
        "P1",
        "appears once",
    ),
    (
        "required_column_absent",
        _drop_column("patients", "disease"),
        STRUCTURAL,
        "patients",
        "disease",
        None,
        None,
        "required column",
    ),
    (
        "measurement_column_absent",
        _drop_column("measurements", "unit"),
        STRUCTURAL,
        "measurements",
        "unit",
        None,
        None,
        "required column",
    ),
]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize(
    ("mutate", "kind", "table", "column", "row", "patient", "text"),
    [pytest.param(*rule[1:], id=rule[0]) for rule in CELL_RULES],
)
def test_each_rule_reports_table_column_row_and_patient(
    tmp_path, fmt, mutate, kind, table, column, row, patient, text
):
    tables = tiny_tables()
    mutate(tables)
    report = validate_folder(write_tables(tmp_path, tables, fmt)).report
    assert not report.is_valid
    matches = [p for p in report.problems if p.table == table and p.column == column]
    # Conflicting duplicates flag every copy; everything else flags the one bad row.
    assert tuple(p.row for p in matches) == (row if isinstance(row, tuple) else (row,)), (
        report.render()
    )
    problem = matches[0]
    assert (problem.kind, problem.patient_id) == (kind, patient)
    assert text in problem.message()
    assert f"table {table}" in problem.message() and f"column {column}" in problem.message()
    if kind == PER_PATIENT and table != "outcomes" and patient in {"P1", "P2", "P3"}:
        assert patient in report.rejected_patients


def test_valid_tables_have_no_problem_in_either_format(tmp_path):
    for fmt in ("csv", "parquet"):
        report = validate_folder(write_tables(tmp_path / fmt, tiny_tables(), fmt)).report
        assert report.is_valid, report.render()
        assert report.n_rows == {"patients": 3, "measurements": 6, "outcomes": 3}


def test_every_problem_is_reported_not_only_the_first(tmp_path):
    tables = tiny_tables()
    for mutate in (
        _set("patients", 0, "age_years", "x"),
        _set("patients", 1, "sex", "Q"),
        _set("measurements", 4, "unit", "%"),
        _set("outcomes", 1, "time_days", "-4"),
    ):
        mutate(tables)
    report = validate_folder(write_tables(tmp_path, tables)).report
    assert {(p.table, p.column) for p in report.problems} == {
        ("patients", "age_years"),
        ("patients", "sex"),
        ("measurements", "unit"),
        ("outcomes", "time_days"),
    }
    assert report.n_problems == 4 and report.n_structural == 0
    assert set(report.rejected_patients) == {"P1", "P2"}


def test_rejected_patients_are_left_out_of_the_usable_tables(tmp_path):
    tables = tiny_tables()
    _set("measurements", 0, "value", "lots")(tables)
    data = validate_folder(write_tables(tmp_path, tables))
    assert list(data.patients["patient_id"]) == ["P2", "P3"]
    assert set(data.measurements["patient_id"]) == {"P2", "P3"}
    assert list(data.outcomes["patient_id"]) == ["P2", "P3"]
    assert data.input_patient_ids == ("P1", "P2", "P3")


def _write_raw(folder: Path, name: str, content: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)


@pytest.mark.parametrize(
    ("name", "content", "text"),
    [
        ("patients.csv", b"", "empty"),
        ("patients.csv", b"\x00\xff\xfe\x89PNG\x00\x00\x9c\x80", "not UTF-8"),
        ("patients.csv", "patient_id,disease\nP1,B-ALL\n".encode("utf-16"), "not UTF-8"),
        ("patients.parquet", b"PAR1 this is not parquet", "Parquet"),
        ("patients.csv", b"patient_id,patient_id\nP1,P1\n", "more than once"),
    ],
    ids=["empty", "binary", "utf16", "fake_parquet", "duplicate_header"],
)
def test_unreadable_tables_are_structural_with_a_reason(tmp_path, name, content, text):
    tables = tiny_tables()
    write_tables(tmp_path, {k: v for k, v in tables.items() if k != "patients"})
    _write_raw(tmp_path, name, content)
    report = validate_folder(tmp_path).report
    problems = [p for p in report.structural if p.table == "patients"]
    assert len(problems) == 1 and text in problems[0].message(), report.render()


def test_missing_table_and_both_formats_are_structural(tmp_path):
    tables = tiny_tables()
    write_tables(tmp_path, {"patients": tables["patients"]})
    write_tables(tmp_path, {"patients": tables["patients"]}, "parquet")
    report = validate_folder(tmp_path, require_outcomes=True).report
    found = {(p.table, p.found) for p in report.structural}
    assert found == {
        ("patients", "both files"),
        ("measurements", "no such file"),
        ("outcomes", "no such file"),
    }


def test_outcomes_are_optional_unless_required(tmp_path):
    tables = tiny_tables()
    del tables["outcomes"]
    write_tables(tmp_path, tables)
    assert validate_folder(tmp_path).report.is_valid
    assert not validate_folder(tmp_path, require_outcomes=True).report.is_valid


def test_header_only_patients_table_is_structural(tmp_path):
    tables = tiny_tables()
    tables["patients"] = tables["patients"].iloc[:0]
    tables["measurements"] = tables["measurements"].iloc[:0]
    del tables["outcomes"]
    report = validate_folder(write_tables(tmp_path, tables)).report
    assert [(p.table, p.found) for p in report.structural] == [("patients", "no data rows")]


def test_truncated_row_is_reported_with_its_row_and_patient(tmp_path):
    tables = tiny_tables()
    write_tables(tmp_path, tables)
    lines = (tmp_path / "measurements.csv").read_text().splitlines()
    lines[2] = "P1,10"  # data row 2 lost its last four fields
    (tmp_path / "measurements.csv").write_text("\n".join(lines) + "\n")
    data = validate_folder(tmp_path)
    problems = [p for p in data.report.problems if p.table == "measurements"]
    assert [(p.row, p.patient_id, p.kind) for p in problems] == [(2, "P1", PER_PATIENT)]
    assert "cannot be read" in problems[0].message()
    assert data.report.n_rows["measurements"] == len(tiny_tables()["measurements"])


def test_row_numbers_after_a_truncated_row_stay_true(tmp_path):
    write_tables(tmp_path, tiny_tables())
    lines = (tmp_path / "measurements.csv").read_text().splitlines()
    lines[1] = "P1"
    lines[4] = lines[4].replace("5000", "five thousand")
    (tmp_path / "measurements.csv").write_text("\n".join(lines) + "\n")
    report = validate_folder(tmp_path).report
    value_problem = next(p for p in report.problems if p.column == "value")
    assert value_problem.row == 4 and value_problem.patient_id == "P2"


def test_bom_case_insensitive_booleans_and_extra_columns(tmp_path):
    tables = tiny_tables()
    write_tables(tmp_path, tables)
    path = tmp_path / "patients.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"true", b"YES"))
    data = validate_folder(tmp_path)
    assert data.report.is_valid, data.report.render()
    assert list(data.patients["bridging_therapy"]) == [1.0, 0.0, 1.0]
    assert list(data.patients["tocilizumab"]) == [0.0, 1.0, 0.0]
    assert list(data.patients["centre_note"]) == ["kept", "but", "unused"]
    assert data.patients["metabolic_tumor_volume_ml"].isna().all()


def test_csv_and_parquet_give_identical_typed_tables(tmp_path):
    csv = validate_folder(write_tables(tmp_path / "c", tiny_tables(), "csv"))
    parquet = validate_folder(write_tables(tmp_path / "p", tiny_tables(), "parquet"))
    for name in ("patients", "measurements", "outcomes"):
        pd.testing.assert_frame_equal(getattr(csv, name), getattr(parquet, name))


def test_typed_parquet_columns_are_accepted(tmp_path):
    tables = tiny_tables()
    write_tables(tmp_path, tables)
    typed = tables["measurements"].assign(
        day=lambda f: f["day"].astype(int), value=lambda f: f["value"].astype(float)
    )
    (tmp_path / "measurements.csv").unlink()
    typed.to_parquet(tmp_path / "measurements.parquet", index=False)
    data = validate_folder(tmp_path)
    assert data.report.is_valid, data.report.render()
    assert data.measurements["value"].tolist() == [1200.0, 24000.0, 26000.0, 5000.0, 0.5, 0.01]


def test_many_identical_problems_are_counted_but_listed_briefly(tmp_path):
    tables = tiny_tables()
    big = pd.concat([tables["measurements"]] * 200, ignore_index=True)
    big["unit"] = "mg"
    tables["measurements"] = big
    report = validate_folder(write_tables(tmp_path, tables)).report
    assert report.totals[(PER_PATIENT, "measurements", "unit")] == 1200
    assert len([p for p in report.problems if p.column == "unit"]) < 1200
    assert set(report.rejected_patients) == {"P1", "P2", "P3"}
