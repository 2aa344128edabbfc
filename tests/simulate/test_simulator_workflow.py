"""run_simulate: determinism (same seed, same bytes), formats, and contract validation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from relapse_ml.validation import validate_folder
from relapse_ml.workflows.simulate import run_simulate

NAMES = ("patients", "measurements", "outcomes")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_seed_same_bytes(tmp_path: Path, fmt: str):
    first = run_simulate(800, 42, tmp_path / "a", fmt)
    second = run_simulate(800, 42, tmp_path / "b", fmt)
    assert [p.name for p in first] == [f"{n}.{fmt}" for n in NAMES] + ["truth.csv"]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    other = run_simulate(800, 43, tmp_path / "c", fmt)
    for a, c in zip(first, other, strict=True):
        assert a.read_bytes() != c.read_bytes(), a.name


def test_written_csv_is_ready_to_read(tmp_path: Path):
    run_simulate(300, 1, tmp_path, "csv")
    patients = pd.read_csv(tmp_path / "patients.csv", dtype=str, keep_default_na=False)
    assert set(patients["bridging_therapy"]) <= {"true", "false", ""}
    assert patients["prior_lines"].str.fullmatch(r"\d*").all()  # integers, no ".0"
    assert patients["infusion_date"].str.fullmatch(r"(\d{4}-\d{2}-\d{2})?").all()
    meas = pd.read_csv(tmp_path / "measurements.csv", dtype=str, keep_default_na=False)
    assert set(meas["qualifier"]) <= {"", "<"}
    truth = pd.read_csv(tmp_path / "truth.csv")
    defined = truth["primary_refractory"] == False  # noqa: E712 (read back as bool)
    assert truth.loc[defined, "true_risk"].between(0, 1).all()
    assert truth.loc[~defined, "true_risk"].isna().all()  # written as empty cells


def test_bad_format_is_rejected(tmp_path: Path):
    with pytest.raises(ValueError, match="fmt"):
        run_simulate(10, 1, tmp_path, "xlsx")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_output_validates_with_zero_problems(tmp_path: Path, fmt: str):
    run_simulate(2000, 7, tmp_path, fmt)
    result = validate_folder(tmp_path, require_outcomes=True)
    assert result.report.n_problems == 0, result.report.render()
    assert result.report.is_valid
    assert len(result.patients) == 2000
