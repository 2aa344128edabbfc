"""Benchmark the cohort simulator (target: 100,000 patients in <= 60 s on 2 cores).

Baseline, measured in the same run: the naive per-patient loop, i.e. calling
``simulate_cohort(1, seed)`` once per patient for ``--baseline-n`` patients,
extrapolated per patient. It runs the same model code, so the ratio is the gain
from simulating the cohort as whole arrays instead of patient by patient.

Usage: python benchmarks/bench_simulate.py [--n 100000] [--seed 1] [--baseline-n 200]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

from relapse_ml.simulate import simulate_cohort


def _peak_rss_mb() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="patients to simulate")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--baseline-n", type=int, default=200, help="patients in the naive loop")
    args = parser.parse_args(argv)

    rss_before = _peak_rss_mb()
    start = time.perf_counter()
    cohort = simulate_cohort(args.n, args.seed)
    wall = time.perf_counter() - start
    rss_after = _peak_rss_mb()
    rows = len(cohort.measurements)

    start = time.perf_counter()
    for i in range(args.baseline_n):
        simulate_cohort(1, args.seed + i)
    per_patient_loop = (time.perf_counter() - start) / args.baseline_n
    loop_estimate = per_patient_loop * args.n

    print(f"patients simulated        : {args.n:,}")
    print(f"wall time                 : {wall:.2f} s (target <= 60 s)")
    print(f"patients per second       : {args.n / wall:,.0f}")
    print(f"measurement rows          : {rows:,} ({rows / args.n:.1f} per patient)")
    print(f"measurement rows / second : {rows / wall:,.0f}")
    print(
        f"peak RSS                  : {rss_after:,.0f} MB (before simulating {rss_before:,.0f} MB)"
    )
    print(
        f"baseline (naive per-patient loop, {args.baseline_n} patients): "
        f"{per_patient_loop * 1e3:.2f} ms/patient -> {loop_estimate:,.0f} s for {args.n:,}"
    )
    print(f"speed-up vs baseline      : {loop_estimate / wall:,.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
