"""Workflow: simulate a cohort and write it as a data folder (plus truth.csv)."""

from __future__ import annotations

from pathlib import Path

from relapse_ml.io import write_table
from relapse_ml.simulate import SimulationConfig, simulate_cohort

FORMATS = ("csv", "parquet")


def run_simulate(
    n: int,
    seed: int,
    out_dir: Path,
    fmt: str = "csv",
    config: SimulationConfig | None = None,
) -> list[Path]:
    """Simulate ``n`` patients and write the contract tables and the truth table.

    Parameters
    ----------
    n : int
        Number of patients.
    seed : int
        Random seed; the same seed writes byte-identical files.
    out_dir : Path
        Destination folder (created if missing).
    fmt : {"csv", "parquet"}
        Format of ``patients``, ``measurements`` and ``outcomes``; ``truth`` is
        always CSV (it is not part of the data contract).
    config : SimulationConfig, optional
        Simulator knobs.

    Returns
    -------
    list of Path
        The written files: patients, measurements, outcomes, truth.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    out_dir = Path(out_dir)
    cohort = simulate_cohort(n, seed, config)
    written = [
        write_table(cohort.patients, out_dir / f"patients.{fmt}"),
        write_table(cohort.measurements, out_dir / f"measurements.{fmt}"),
        write_table(cohort.outcomes, out_dir / f"outcomes.{fmt}"),
        write_table(cohort.truth, out_dir / "truth.csv"),
    ]
    return written
