"""End to end through the installed console script: simulate, then validate."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest


def _cli(*args: str) -> subprocess.CompletedProcess:
    script = shutil.which("relapse-ml", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-m", "relapse_ml"]
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, check=False, timeout=300
    )


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_simulate_then_validate_exits_0(tmp_path, fmt):
    out = tmp_path / "cohort"
    simulated = _cli("simulate", "--n", "300", "--seed", "5", "--out", str(out), "--format", fmt)
    assert simulated.returncode == 0, simulated.stderr
    assert {p.name for p in out.iterdir()} == {
        f"patients.{fmt}",
        f"measurements.{fmt}",
        f"outcomes.{fmt}",
        "truth.csv",
    }
    validated = _cli("validate", "--data", str(out))
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "no problems found" in validated.stdout


def test_one_violation_in_a_simulated_cohort_exits_2_naming_it(tmp_path):
    out = tmp_path / "cohort"
    assert _cli("simulate", "--n", "200", "--seed", "6", "--out", str(out)).returncode == 0
    measurements = pd.read_csv(out / "measurements.csv", dtype=str, keep_default_na=False)
    measurements.loc[9, "unit"] = "copies/mL"
    measurements.to_csv(out / "measurements.csv", index=False)
    result = _cli("validate", "--data", str(out))
    assert result.returncode == 2
    patient = measurements.loc[9, "patient_id"]
    assert f"table measurements, column unit, row 10, patient {patient}" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
