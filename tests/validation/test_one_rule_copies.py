"""Rules that validation and the batch engines once each wrote for themselves now agree.

``relapse-ml validate`` reads whole tables (:mod:`relapse_ml.validation`); the batch
engines stream them (:mod:`relapse_ml.batch`). Both read a table's header, find
its one file, name the patient of an unreadable row and report a repeated id
with one rule each, so for the same broken input they must say the same thing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from relapse_ml.batch.chunk import named_patients, raw_table
from relapse_ml.batch.engine import check_required_columns
from relapse_ml.batch.reading import iter_batches
from relapse_ml.batch.routing import build_patient_index
from relapse_ml.errors import STRUCTURAL, ContractError, Problem
from relapse_ml.io import bad_row_id
from relapse_ml.validation import validate_folder
from tests.helpers import tiny_tables, write_tables


def _folder_with_patients_file(folder: Path, name: str, content: bytes) -> Path:
    tables = tiny_tables()
    write_tables(folder, {k: v for k, v in tables.items() if k != "patients"})
    (folder / name).write_bytes(content)
    return folder


def _patient_problems_of_validate(folder: Path) -> list[str]:
    report = validate_folder(folder).report
    return [p.message() for p in report.structural if p.table == "patients"]


def _problems_of_batch(folder: Path) -> list[str]:
    with pytest.raises(ContractError) as caught:
        check_required_columns(folder)
    return [p.message() for p in caught.value.problems]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("patients.csv", b"", "the file is empty (expected a header row)"),
        ("patients.csv", b"\x00\xff\xfe\x89PNG\x00\x00\x9c\x80", "not UTF-8 text (byte 1)"),
        ("patients.csv", "patient_id,disease\n".encode("utf-16"), "not UTF-8 text (byte 0)"),
        ("patients.csv", b"patient_id,dis\xe9ase\nP1,B-ALL\n", "not UTF-8 text (byte 14)"),
        ("patients.csv", b"\xef\xbb\xbfpatient_id,dis\xe9ase\n", "not UTF-8 text (byte 17)"),
        ("patients.csv", b",,\nP1,a,b\n", "the first row holds no column names"),
        ("patients.csv", b"patient_id,patient_id\nP1,P1\n", "appear more than once: patient_id"),
        ("patients.parquet", b"PAR1 this is not parquet", "cannot be read as Parquet: Parquet"),
    ],
    ids=["empty", "binary", "utf16", "latin1", "bom-latin1", "no-names", "repeated", "parquet"],
)
def test_a_broken_header_gets_one_reason_from_validate_and_predict(tmp_path, name, content, reason):
    folder = _folder_with_patients_file(tmp_path, name, content)
    from_validate = _patient_problems_of_validate(folder)
    assert len(from_validate) == 1 and reason in from_validate[0]
    assert f"found {name}: " in from_validate[0]
    assert _problems_of_batch(folder) == from_validate


@pytest.mark.parametrize("case", ["both", "missing"])
def test_the_one_file_of_a_table_is_found_alike(tmp_path, case):
    tables = tiny_tables()
    write_tables(tmp_path, {"measurements": tables["measurements"]})
    if case == "both":
        write_tables(tmp_path, {"patients": tables["patients"]})
        write_tables(tmp_path, {"patients": tables["patients"]}, "parquet")
    from_validate = _patient_problems_of_validate(tmp_path)
    found = "both files" if case == "both" else "no such file"
    assert len(from_validate) == 1 and from_validate[0].endswith(f"found {found}")
    assert _problems_of_batch(tmp_path) == from_validate


def test_a_quote_never_closed_on_the_first_row_stops_the_batch_too(tmp_path):
    # The quote swallows every later line, so no row parses: the reader meets the
    # unreadable row only at the end of the file, where it was once not checked
    # (patients P2 and P3 vanished without a trace).
    tables = tiny_tables()
    write_tables(tmp_path, tables)
    path = tmp_path / "patients.csv"
    lines = path.read_text().splitlines()
    first, rest = lines[1].split(",", 1)
    lines[1] = f'{first},"{rest}'
    path.write_text("\n".join(lines) + "\n")
    (from_validate,) = _patient_problems_of_validate(tmp_path)
    assert "row 1: a quoted value runs over a line break" in from_validate
    with pytest.raises(ContractError) as caught:
        list(iter_batches("patients", path, 2))
    assert [p.message() for p in caught.value.problems] == [from_validate]
    with pytest.raises(ContractError, match="never closed"):
        build_patient_index(path, 2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"P9",X', "P9"),
        (" P9 ,X,Y,Z", "P9"),
        (",SITE01", ""),
        ("", ""),
    ],
)
def test_the_patient_of_an_unreadable_row(text, expected):
    assert bad_row_id(text, ["patient_id", "site"]) == expected
    assert bad_row_id("S1,P9", ["site", "patient_id"]) == "P9"
    assert bad_row_id("S1", ["site", "patient_id"]) == ""
    assert bad_row_id("P9,S1", ["id", "site"]) == ""


def test_validate_and_the_chunks_name_the_same_patient_of_an_unreadable_row(tmp_path):
    tables = tiny_tables()
    write_tables(tmp_path, tables)
    path = tmp_path / "patients.csv"
    lines = path.read_text().splitlines()
    lines.insert(2, '"P9",S1')  # data row 2: two fields of seventeen
    lines.insert(3, ",S1")  # data row 3: names no patient
    path.write_text("\n".join(lines) + "\n")
    report = validate_folder(tmp_path).report
    unreadable = [p for p in report.problems if "cannot be read" in p.found]
    assert [(p.row, p.patient_id, p.kind) for p in unreadable] == [
        (2, "P9", "patient"),
        (3, None, STRUCTURAL),
    ]
    (batch,) = list(iter_batches("patients", path, 10))
    assert named_patients(raw_table("patients", batch, path)) == {"P1", "P2", "P3", "P9"}


def test_a_repeated_id_reads_alike_in_validate_and_in_routing(tmp_path):
    long_id = "P" + "7" * 80  # longer than a report shows: cut the same way by both
    tables = tiny_tables()
    patients = tables["patients"]
    patients["patient_id"] = [long_id, "P2", long_id]
    tables["measurements"]["patient_id"] = long_id
    write_tables(tmp_path, tables)
    (from_validate,) = [
        p for p in validate_folder(tmp_path).report.structural if p.column == "patient_id"
    ]
    with pytest.raises(ContractError) as caught:
        build_patient_index(tmp_path / "patients.csv", 1)
    assert caught.value.problems == [from_validate]
    assert from_validate.found.endswith("...") and len(from_validate.found) == 60
    assert str(caught.value).startswith("the data cannot be used: repeated patient ids\n")


def test_a_structural_stop_has_one_head():
    problem = Problem.unreadable_table("patients", "patients.csv", "the file is empty")
    assert problem == Problem.structural(
        "patients", "a readable table", "patients.csv: the file is empty"
    )
    assert str(ContractError.unusable([problem])).splitlines()[0] == "the data cannot be used"
    head = str(ContractError.unusable([problem], folder="/d", reason="why")).splitlines()[0]
    assert head == "/d: the data cannot be used: why"
