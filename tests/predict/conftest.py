"""Fixtures for batch prediction tests: a small trained model and simulated cohorts."""

from __future__ import annotations

from pathlib import Path

import pytest

from relapse_ml.workflows.simulate import run_simulate


@pytest.fixture(scope="session")
def cohort_dirs(tmp_path_factory) -> dict[str, Path]:
    """The same 150 simulated patients as a CSV folder and as a Parquet folder."""
    out = {}
    for fmt in ("csv", "parquet"):
        folder = tmp_path_factory.mktemp(f"cohort_{fmt}")
        run_simulate(n=150, seed=5, out_dir=folder, fmt=fmt)
        (folder / f"outcomes.{fmt}").unlink()
        out[fmt] = folder
    return out
