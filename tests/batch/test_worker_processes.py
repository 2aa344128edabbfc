"""With worker processes: the routing pass runs in its own process, the main process stays lean."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from relapse_ml.batch.config import PredictConfig
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
            run_predict(PredictConfig(folder, str(model_path), out, chunk_size=5, workers=workers))
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
        "from relapse_ml.batch.config import PredictConfig\n"
        "from relapse_ml.workflows.predict import run_predict\n"
        f"s = run_predict(PredictConfig(Path({str(cohort_dirs['parquet'])!r}), "
        f"{str(model_path)!r}, Path({str(tmp_path / 'p.parquet')!r}), chunk_size=50, "
        "workers=2, progress=False))\n"
        "print(json.dumps([s.n_scored + s.n_rejected == s.n_input, s.n_scored,"
        " sorted(m for m in ('shap', 'mlflow', 'matplotlib') if m in sys.modules)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True
    )
    accounted, n_scored, imported = json.loads(done.stdout.strip().splitlines()[-1])
    assert accounted and n_scored > 0
    assert imported == []


@pytest.fixture(scope="module")
def tree_model_path(model_file) -> Path:
    """A gradient-boosting model: its explanations need TreeSHAP (shap's kernel)."""
    return model_file("hist_gradient_boosting")


# Imported in any process of the run, this records the module's name: workers are
# spawned interpreters, so only a hook in every interpreter sees what they import.
IMPORT_HOOK = """
import os, sys

class _Record:
    def find_spec(self, name, path=None, target=None):
        # shap itself is looked up (not imported) to find its kernel: its
        # submodules are what an import of shap loads.
        if name in {"numba", "matplotlib", "mlflow"} or name.startswith("shap."):
            name = name.split(".")[0]
            folder = os.environ["RELAPSE_ML_TEST_IMPORTS"]
            open(os.path.join(folder, f"{name}-{os.getpid()}"), "w").close()
        return None

sys.meta_path.insert(0, _Record())
"""


def test_no_process_of_a_parallel_run_imports_shap_and_scores_equal_one_process(
    tree_model_path, cohort_dirs, tmp_path
):
    # shap (with numba and matplotlib) costs ~100 MB per process: workers use
    # its TreeSHAP kernel with trees extracted in a short-lived process, and
    # must explain exactly as one process with shap does.
    hook, imports = tmp_path / "hook", tmp_path / "imports"
    hook.mkdir()
    imports.mkdir()
    (hook / "sitecustomize.py").write_text(IMPORT_HOOK)
    out = tmp_path / "two" / "p.csv"
    script = (
        "from pathlib import Path\n"
        "from relapse_ml.batch.config import PredictConfig\n"
        "from relapse_ml.workflows.predict import run_predict\n"
        f"run_predict(PredictConfig(Path({str(cohort_dirs['csv'])!r}), {str(tree_model_path)!r}, "
        f"Path({str(out)!r}), chunk_size=40, workers=2, progress=False))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(hook), "RELAPSE_ML_TEST_IMPORTS": str(imports)}
    subprocess.run([sys.executable, "-c", script], env=env, timeout=300, check=True)
    recorded = sorted(p.name.split("-")[0] for p in imports.iterdir())
    # The one process that builds the explainer imports shap (and what it pulls).
    assert set(recorded) <= {"shap", "numba", "matplotlib"}
    assert len({p.name.split("-")[1] for p in imports.iterdir()}) == 1
    one = tmp_path / "one" / "p.csv"
    run_predict(
        PredictConfig(cohort_dirs["csv"], str(tree_model_path), one, chunk_size=40, workers=1)
    )
    parallel, single = pd.read_csv(out), pd.read_csv(one)
    assert len(single) > 100
    pd.testing.assert_frame_equal(parallel, single)
