"""PredictConfig checks its own values once, naming the option (exit code 2 through the CLI)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from relapse_ml.batch.config import MAX_DEFAULT_WORKERS, PredictConfig, default_workers
from relapse_ml.errors import UserError
from tests.helpers import CONSOLE_SCRIPT


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("workers", 0, "workers must be at least 1, not 0"),
        ("chunk_size", 0, "chunk_size must be at least 1, not 0"),
        ("top_k", 21, "top_k must be between 0 and 20, not 21"),
        ("engine", "dask", "engine must be one of local, spark, not 'dask'"),
        ("max_internal_error_share", 1.5, "between 0 and 1"),
    ],
)
def test_a_bad_value_is_a_user_error_naming_the_option(option, value, message):
    with pytest.raises(UserError) as caught:
        PredictConfig(Path("data"), "model.skops", Path("out.csv"), **{option: value})
    assert message in str(caught.value)


def test_workers_default_to_the_cpu_count_at_most_4_and_paths_become_paths():
    config = PredictConfig("data", "model.skops", "out.csv")
    assert config.workers == default_workers()
    assert 1 <= config.workers <= MAX_DEFAULT_WORKERS == 4
    assert isinstance(config.data_dir, Path) and isinstance(config.out, Path)


def test_the_cli_reports_it_with_exit_2_and_no_traceback(tmp_path):
    done = subprocess.run(
        [CONSOLE_SCRIPT, "predict", "--data", str(tmp_path), "--out", str(tmp_path / "p.csv"),
         "--workers", "0"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == "error: workers must be at least 1, not 0"
