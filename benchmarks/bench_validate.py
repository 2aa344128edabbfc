"""Benchmark: validate a 3,000,000-row measurements table (target >= 1,000,000 rows/s).

Baselines in the same run:
- a bare ``pandas.read_csv`` of the same file (no checks at all): the ratio says
  what validation costs on top of merely reading;
- a naive row-by-row Python validator on a 100,000-row slice, extrapolated per row.

Prints rows/s, the ratios and peak memory (RSS, and the measurements table size).
Run: ``python benchmarks/bench_validate.py [--rows 3000000] [--format csv|parquet]``.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _memory import peak_rss_mb

from relapse_ml.io import write_table
from relapse_ml.schema import load_contract
from relapse_ml.validation import validate_folder


def make_tables(n_rows: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Valid synthetic patients and measurements, ~30 rows per patient."""
    rng = np.random.default_rng(seed)
    contract = load_contract()
    n_patients = max(1, n_rows // 30)
    ids = np.array([f"P{i:07d}" for i in range(n_patients)])
    patients = pd.DataFrame(
        {
            "patient_id": ids,
            "disease": rng.choice(["B-ALL", "LBCL", "MM"], n_patients),
            "target_antigen": "CD19",
            "costim_domain": rng.choice(["4-1BB", "CD28"], n_patients),
            "age_years": np.round(rng.uniform(1, 90, n_patients), 1),
        }
    )
    markers = np.array(list(contract.markers))
    units = np.array([contract.markers[m].unit for m in markers])
    code = rng.integers(0, len(markers), n_rows)
    value = np.round(rng.lognormal(2, 1, n_rows), 3)
    value[units[code] == "%"] = np.round(rng.uniform(0, 100, (units[code] == "%").sum()), 2)
    measurements = pd.DataFrame(
        {
            "patient_id": ids[np.sort(rng.integers(0, n_patients, n_rows))],
            "day": rng.integers(-30, 400, n_rows),
            "marker": markers[code],
            "value": value,
            "unit": units[code],
            "qualifier": np.where(rng.random(n_rows) < 0.05, "<", ""),
        }
    )
    return {"patients": patients, "measurements": measurements}


def naive_validate(frame: pd.DataFrame, known: set[str]) -> int:
    """Row-by-row validator: the obvious loop a first version would write."""
    contract = load_contract()
    problems = 0
    for row in frame.itertuples(index=False):
        try:
            value = float(row.value)
            day = float(row.day)
        except ValueError:
            problems += 1
            continue
        marker = contract.markers.get(row.marker)
        if (
            row.patient_id not in known
            or marker is None
            or marker.unit != row.unit
            or not math.isfinite(value)
            or value < 0
            or day != int(day)
            or not -60 <= day <= 3650
            or row.qualifier not in ("", "<")
        ):
            problems += 1
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    args = parser.parse_args()
    tables = make_tables(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, frame in tables.items():
            write_table(frame, folder / f"{name}.{args.format}")
        path = folder / f"measurements.{args.format}"
        size_mb = path.stat().st_size / 2**20

        start = time.perf_counter()
        bare = (
            pd.read_csv(path, dtype=str, keep_default_na=False)
            if args.format == "csv"
            else pd.read_parquet(path)
        )
        bare_s = time.perf_counter() - start
        input_mb = bare.memory_usage(deep=True).sum() / 2**20
        del bare

        naive_rows = min(100_000, args.rows)
        slice_ = (
            pd.read_csv(path, dtype=str, keep_default_na=False, nrows=naive_rows)
            if args.format == "csv"
            else pd.read_parquet(path).head(naive_rows)
        )
        known = set(tables["patients"]["patient_id"])
        start = time.perf_counter()
        naive_validate(slice_, known)
        naive_rows_per_s = naive_rows / (time.perf_counter() - start)

        start = time.perf_counter()
        data = validate_folder(folder)
        elapsed = time.perf_counter() - start
    assert data.report.is_valid, data.report.render()[:2000]
    rows_per_s = args.rows / elapsed
    print(
        f"validate {args.rows:,} measurement rows ({args.format}, {size_mb:.0f} MiB on disk, {input_mb:.0f} MiB as text frame) + {len(tables['patients']):,} patients"
    )
    print(
        f"  relapse-ml validate_folder: {elapsed:6.2f} s  {rows_per_s:,.0f} rows/s   (target >= 1,000,000 rows/s: {'MET' if rows_per_s >= 1e6 else 'NOT MET'})"
    )
    print(
        f"  baseline bare pandas read:  {bare_s:6.2f} s  {args.rows / bare_s:,.0f} rows/s   ratio validate/bare-read time = {elapsed / bare_s:.2f}x"
    )
    print(
        f"  baseline naive row loop:    {naive_rows_per_s:,.0f} rows/s (on {naive_rows:,} rows)   speed-up = {rows_per_s / naive_rows_per_s:.1f}x"
    )
    print(f"  peak RSS: {peak_rss_mb():,.0f} MiB")


if __name__ == "__main__":
    main()
