"""Outputs are all or nothing: path checks first, scores renamed last, stale temporaries cleaned."""

from __future__ import annotations

import errno
import json
import subprocess
import sys

import pandas as pd
import pyarrow.parquet as pq
import pytest

from relapse_ml.batch.config import PredictConfig
from relapse_ml.batch.sinks import TableSink
from relapse_ml.cli import main
from relapse_ml.errors import InternalError, UserError
from relapse_ml.serving.scoring import score_columns, score_patients
from relapse_ml.workflows.predict import run_predict

MARKER = ".relapse-ml-tmp-"


def _cli(cohort, model_path, out, *extra):
    return main(
        [
            "predict",
            *("--data", str(cohort), "--out", str(out)),
            *("--model", str(model_path), "--workers", "1", *extra),
        ]
    )


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def test_out_naming_a_folder_is_exit_2_before_any_work(model_path, cohort_dirs, tmp_path, capsys):
    out = tmp_path / "pred.csv"
    out.mkdir()
    assert _cli(cohort_dirs["csv"], model_path, out) == 2
    assert "is a folder" in _one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred.csv"]
    assert list(out.iterdir()) == []


def test_rejects_naming_a_folder_is_refused_before_any_work(model_path, cohort_dirs, tmp_path):
    (tmp_path / "r.csv").mkdir()
    with pytest.raises(UserError, match="is a folder"):
        run_predict(
            PredictConfig(
                cohort_dirs["csv"],
                str(model_path),
                tmp_path / "p.csv",
                tmp_path / "r.csv",
                workers=1,
            )
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv"]


def test_a_parent_that_cannot_be_created_is_exit_2(model_path, cohort_dirs, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert _cli(cohort_dirs["csv"], model_path, tmp_path / "file" / "sub" / "p.csv") == 2
    assert "is not a folder" in _one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_a_failing_rename_leaves_none_of_the_three(model_path, cohort_dirs, tmp_path):
    out = tmp_path / "pred.csv"

    def scorer(model, patients, measurements, **kwargs):
        # Something else takes the scores path while the job runs: its rename must fail.
        out.mkdir(exist_ok=True)
        return score_patients(model, patients, measurements, **kwargs)

    with pytest.raises(OSError):
        run_predict(
            PredictConfig(cohort_dirs["csv"], str(model_path), out, workers=1), scorer=scorer
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred.csv"]
    assert out.is_dir()


def test_full_disk_is_exit_1_with_one_line(model_path, cohort_dirs, tmp_path, monkeypatch, capsys):
    # The disk fills while the scores are written (a sink that raises ENOSPC).
    def full(self, frame):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(TableSink, "write", full)
    out = tmp_path / "out" / "pred.csv"
    assert _cli(cohort_dirs["csv"], model_path, out) == 1
    assert "no space left" in _one_line_error(capsys)
    assert not (tmp_path / "out").exists()
    with pytest.raises(InternalError):
        run_predict(PredictConfig(cohort_dirs["csv"], str(model_path), out, workers=1))


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_stale_temporaries_are_removed_by_the_next_run(model_path, cohort_dirs, tmp_path):
    out = tmp_path / "pred.csv"
    dead = _dead_pid()
    stale = [
        tmp_path / f".pred.csv{MARKER}{dead}-0a1b2c3d",
        tmp_path / f".pred.rejects.csv{MARKER}{dead}-0a1b2c3e",
        tmp_path / f".pred.drift.json{MARKER}{dead}-0a1b2c3f",
    ]
    for path in stale:
        path.write_text("partial")
    spill = tmp_path / f".pred.csv{MARKER}{dead}-0a1b2c40"
    spill.mkdir()
    (spill / "measurements-00000.arrow").write_bytes(b"x" * 100)
    alive = tmp_path / f".pred.csv{MARKER}1-0a1b2c41"  # pid 1 is running: not ours to remove
    alive.write_text("in use")
    run_predict(PredictConfig(cohort_dirs["csv"], str(model_path), out, workers=1))
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted([alive.name, "pred.csv", "pred.drift.json", "pred.rejects.csv"])


def _header_only(source, folder, fmt):
    folder.mkdir()
    for name in ("patients", "measurements"):
        if fmt == "csv":
            header = (source / f"{name}.csv").read_text().splitlines()[0]
            (folder / f"{name}.csv").write_text(header + "\n")
        else:
            table = pq.read_table(source / f"{name}.parquet")
            pq.write_table(table.slice(0, 0), folder / f"{name}.parquet")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_empty_input_gives_header_only_outputs(model_path, cohort_dirs, tmp_path, fmt):
    folder = tmp_path / "empty"
    _header_only(cohort_dirs[fmt], folder, fmt)
    out = tmp_path / f"pred.{fmt}"
    summary = run_predict(PredictConfig(folder, str(model_path), out, workers=1))
    assert (summary.n_input, summary.n_scored, summary.n_rejected) == (0, 0, 0)
    if fmt == "csv":
        assert out.read_text().splitlines() == [",".join(score_columns(3))]
    else:
        empty = pq.read_schema(out)
        full = tmp_path / "full.parquet"
        run_predict(PredictConfig(cohort_dirs["parquet"], str(model_path), full, workers=1))
        assert pq.read_metadata(out).num_rows == 0
        assert empty.names == score_columns(3)
        assert empty.remove_metadata().equals(pq.read_schema(full).remove_metadata())
    rejects = pd.read_csv(out.with_name("pred.rejects.csv"))
    assert rejects.empty and rejects.columns[0] == "patient_id"
    drift = json.loads(
        out.with_name("pred.drift.json").read_text(),
        parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"),
    )
    assert drift["n_patients"] == 0 and drift["share_ood"] is None
