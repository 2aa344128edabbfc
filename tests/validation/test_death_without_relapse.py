"""``outcomes.death_without_relapse`` (contract v2): parsed, checked against relapse, always present.

A version-1 folder has no such column and stays valid; its canonical outcomes carry
the column all ``pd.NA``. An empty cell is unknown for that patient.
"""

from __future__ import annotations

import pandas as pd
import pytest

from relapse_ml.errors import PER_PATIENT
from relapse_ml.validation import validate_folder
from tests.helpers import tiny_tables, write_tables

# tiny_tables' outcomes: P1 relapse "true", P2 relapse "false", P3 relapse "yes".


def _with_death(cells: list[str]) -> dict[str, pd.DataFrame]:
    tables = tiny_tables()
    tables["outcomes"] = tables["outcomes"].assign(death_without_relapse=cells)
    return tables


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_version_1_folder_is_valid_and_its_outcomes_have_the_column_all_missing(tmp_path, fmt):
    tables = tiny_tables()
    assert "death_without_relapse" not in tables["outcomes"].columns
    data = validate_folder(write_tables(tmp_path, tables, fmt))
    assert data.report.is_valid, data.report.render()
    death = data.outcomes["death_without_relapse"]
    assert death.dtype == "boolean"
    assert len(death) == 3 and death.isna().all()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_true_false_and_empty_cells_parse_to_nullable_booleans(tmp_path, fmt):
    data = validate_folder(write_tables(tmp_path, _with_death(["", "true", "false"]), fmt))
    assert data.report.is_valid, data.report.render()
    death = data.outcomes.set_index("patient_id")["death_without_relapse"]
    assert death.dtype == "boolean"
    assert death.isna().tolist() == [True, False, False]
    assert (death["P2"], death["P3"]) == (True, False)
    assert not death.isna().all()  # the folder has the column: callers can tell


@pytest.mark.parametrize(
    ("p2", "p3", "expected"),
    [("TRUE", "False", [True, False]), ("1", "0", [True, False]), ("yes", "no", [True, False])],
)
def test_every_contract_boolean_literal_is_accepted(tmp_path, p2, p3, expected):
    data = validate_folder(write_tables(tmp_path, _with_death(["", p2, p3])))
    assert data.report.is_valid, data.report.render()
    assert data.outcomes["death_without_relapse"].iloc[1:].tolist() == expected


def test_a_typed_nullable_boolean_parquet_column_is_read_as_written(tmp_path):
    tables = tiny_tables()
    write_tables(tmp_path, tables)
    (tmp_path / "outcomes.csv").unlink()
    typed = tables["outcomes"].assign(
        death_without_relapse=pd.array([None, True, False], dtype="boolean")
    )
    typed.to_parquet(tmp_path / "outcomes.parquet", index=False)
    data = validate_folder(tmp_path)
    assert data.report.is_valid, data.report.render()
    death = data.outcomes["death_without_relapse"]
    assert death.dtype == "boolean"
    assert death.isna().tolist() == [True, False, False]
    assert death.iloc[1:].tolist() == [True, False]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_relapse_and_death_without_relapse_both_true_rejects_that_patient(tmp_path, fmt):
    # P3's relapse is "yes" (file row 3); P2 (relapse false, death true) is fine.
    data = validate_folder(write_tables(tmp_path, _with_death(["", "true", "TRUE"]), fmt))
    [problem] = data.report.problems
    assert (problem.kind, problem.table, problem.column) == (
        PER_PATIENT,
        "outcomes",
        "death_without_relapse",
    )
    assert (problem.row, problem.patient_id) == (3, "P3")
    assert problem.expected == (
        "false or empty when relapse is true (death without relapse excludes relapse)"
    )
    message = problem.message()
    assert message.startswith(
        "table outcomes, column death_without_relapse, row 3, patient P3: expected false or empty"
    )
    assert set(data.report.rejected_patients) == {"P3"}
    assert list(data.patients["patient_id"]) == ["P1", "P2"]
    assert list(data.outcomes["patient_id"]) == ["P1", "P2"]
    assert data.outcomes["death_without_relapse"].isna().tolist() == [True, False]


def test_an_unknown_death_with_relapse_is_valid(tmp_path):
    # Empty means unknown: allowed whatever relapse says (P1 and P3 relapsed).
    data = validate_folder(write_tables(tmp_path, _with_death(["", "", ""])))
    assert data.report.is_valid, data.report.render()
    assert data.outcomes["death_without_relapse"].isna().all()
    assert data.outcomes["relapse"].tolist() == [True, False, True]


def test_csv_and_parquet_give_identical_outcomes_with_the_column(tmp_path):
    tables = _with_death(["false", "true", ""])
    csv = validate_folder(write_tables(tmp_path / "c", tables, "csv"))
    parquet = validate_folder(write_tables(tmp_path / "p", tables, "parquet"))
    pd.testing.assert_frame_equal(csv.outcomes, parquet.outcomes)
    assert csv.outcomes["death_without_relapse"].dtype == "boolean"
