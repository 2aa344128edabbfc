"""A quote never closed swallows the lines after it: a structural error, never lost patients."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from relapse_ml.batch.config import PredictConfig
from relapse_ml.cli import main
from relapse_ml.errors import ContractError
from relapse_ml.validation import validate_folder
from relapse_ml.workflows.predict import run_predict


def _break_quote(folder, line: int) -> None:
    """Open a quote on data line ``line`` of patients.csv that is never closed."""
    path = folder / "patients.csv"
    lines = path.read_text().splitlines(keepends=True)
    first, rest = lines[line].split(",", 1)
    lines[line] = f'{first},"{rest}'
    path.write_text("".join(lines))


@pytest.fixture
def swallowed(cohort_dirs, tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(cohort_dirs["csv"], folder)
    _break_quote(folder, 5)
    return folder


def test_validation_names_the_row_instead_of_dropping_the_rest(swallowed):
    data = validate_folder(swallowed)
    (problem,) = data.report.structural
    assert problem.table == "patients"
    assert "row 5" in problem.found and "never closed" in problem.found


def test_batch_stops_with_exit_2_and_writes_nothing(swallowed, model_path, tmp_path, capsys):
    out = tmp_path / "out" / "scores.csv"
    with pytest.raises(ContractError, match="never closed"):
        run_predict(PredictConfig(swallowed, str(model_path), out, workers=1))
    code = main(
        ["predict", "--data", str(swallowed), "--out", str(out), "--model", str(model_path)]
    )
    assert code == 2
    assert "row 5" in capsys.readouterr().err
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_an_unclosed_quote_on_the_last_line_rejects_only_that_patient(
    cohort_dirs, model_path, tmp_path
):
    folder = tmp_path / "data"
    shutil.copytree(cohort_dirs["csv"], folder)
    n = len(pd.read_csv(folder / "patients.csv"))
    _break_quote(folder, n)
    out = tmp_path / "scores.csv"
    summary = run_predict(PredictConfig(folder, str(model_path), out, workers=1))
    assert (summary.n_scored, summary.n_rejected) == (n - 1, 1)
