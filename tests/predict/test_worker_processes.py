"""With worker processes: the routing pass runs in its own process, the main process stays lean."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from relapse_ml.errors import ContractError
from relapse_ml.workflows.predict import run_predict


def test_a_structural_problem_found_while_routing_is_the_same_with_workers(
    model_path, cohort_dirs, tmp_path
):
    patients = pd.read_csv(cohort_dirs["csv"] / "patients.csv", dtype=str, keep_default_na=False)
    patients = patients.iloc[:20].copy()
    patients.loc[15, "patient_id"] = patients.loc[1, "patient_id"]
    folder = tmp_path / "dup"
    folder.mkdir()
    patients.to_csv(folder / "patients.csv", index=False)
    (folder / "measurements.csv").write_bytes(
        (cohort_dirs["csv"] / "measurements.csv").read_bytes()
    )
    messages = []
    for workers in (1, 2):
        out = tmp_path / f"out{workers}" / "pred.csv"
        with pytest.raises(ContractError) as caught:
            run_predict(folder, str(model_path), out, chunk_size=5, workers=workers)
        problem = caught.value.problems[0]
        assert (problem.kind, problem.column, problem.row) == ("structural", "patient_id", 16)
        assert not out.parent.exists()
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


def test_the_main_process_imports_neither_shap_nor_mlflow_for_a_model_file(
    model_path, cohort_dirs, tmp_path
):
    # Each costs ~100 MB in every process; only the workers need shap, and a
    # .skops file needs no mlflow. A fresh interpreter: this one has both.
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from relapse_ml.workflows.predict import run_predict\n"
        f"s = run_predict(Path({str(cohort_dirs['parquet'])!r}), {str(model_path)!r}, "
        f"Path({str(tmp_path / 'p.parquet')!r}), chunk_size=50, workers=2, progress=False)\n"
        "print(json.dumps([s.n_scored + s.n_rejected == s.n_input, s.n_scored,"
        " sorted(m for m in ('shap', 'mlflow', 'matplotlib') if m in sys.modules)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True
    )
    accounted, n_scored, imported = json.loads(done.stdout.strip().splitlines()[-1])
    assert accounted and n_scored > 0
    assert imported == []
