"""The validate command: exit codes, readable and JSON reports, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys

from relapse_ml.cli import main
from tests.helpers import tiny_tables, write_tables


def test_valid_folder_exits_0(tmp_path, capsys):
    write_tables(tmp_path, tiny_tables())
    assert main(["validate", "--data", str(tmp_path)]) == 0
    assert "no problems found" in capsys.readouterr().out


def test_invalid_folder_exits_2_with_table_column_row(tmp_path, capsys):
    tables = tiny_tables()
    tables["measurements"].loc[3, "unit"] = "cells/uL"
    write_tables(tmp_path, tables)
    assert main(["validate", "--data", str(tmp_path)]) == 2
    out = capsys.readouterr().out
    assert "table measurements, column unit, row 4, patient P2" in out
    assert "Traceback" not in out


def test_json_report_carries_every_problem(tmp_path, capsys):
    tables = tiny_tables()
    tables["patients"].loc[0, "disease"] = "AML"
    tables["outcomes"].loc[1, "relapse_antigen"] = "negative"
    write_tables(tmp_path, tables)
    assert main(["validate", "--data", str(tmp_path), "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False and report["n_problems"] == 2
    assert {(p["table"], p["column"], p["row"]) for p in report["problems"]} == {
        ("patients", "disease", 1),
        ("outcomes", "relapse_antigen", 2),
    }


def test_garbage_file_gives_message_not_traceback(tmp_path):
    write_tables(tmp_path, tiny_tables())
    (tmp_path / "measurements.csv").write_bytes(bytes(range(256)) * 4)
    result = subprocess.run(
        [sys.executable, "-m", "relapse_ml", "validate", "--data", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "table measurements" in result.stdout and "not UTF-8" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_usage_error_exits_2(capsys):
    assert main(["validate"]) == 2
    assert "--data" in capsys.readouterr().err
