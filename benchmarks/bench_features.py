"""Benchmark: landmark features for 100,000 patients x ~30 measurement rows (3,000,000 rows).

Prints rows/s of the vectorised pipeline (attach_measurements + LandmarkFeatures),
the ratio against the naive per-patient ``groupby().apply()`` implementation of the
same features (``tests.features.naive_features``, run in the same process on a
subset of patients and extrapolated per measurement row), and peak memory traced
by tracemalloc against the input frames' memory.  Targets (issue 3): >= 1,000,000
rows/s, >= 20x the naive baseline, peak memory <= 3x the input.

Usage: python benchmarks/bench_features.py [--patients 100000] [--naive-patients 2000]
"""

from __future__ import annotations

import argparse
import gc
import resource
import time
import tracemalloc

from relapse_ml.features import FeatureConfig, LandmarkFeatures, attach_measurements
from tests.features.naive_features import naive_features
from tests.features.synthetic import synthetic_cohort


def vectorised(patients, measurements, config):
    """The measured pipeline: attach once, then every group in one pass."""
    X = attach_measurements(patients, measurements)
    return LandmarkFeatures.from_config(config).set_output(transform="pandas").fit_transform(X)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--naive-patients", type=int, default=2_000)
    parser.add_argument("--landmark-day", type=int, default=28)
    args = parser.parse_args()
    config = FeatureConfig.from_dict({"landmark_day": args.landmark_day})

    # Canonical typed frames drawn with numpy (relapse_ml.simulate was not available).
    patients, measurements = synthetic_cohort(args.patients, seed=0)
    rows = len(measurements)
    input_bytes = int(
        patients.memory_usage(deep=True).sum() + measurements.memory_usage(deep=True).sum()
    )
    print(f"input: {len(patients):,} patients, {rows:,} measurement rows, "
          f"{input_bytes / 1e6:.1f} MB in memory (deep)")  # fmt: skip

    vectorised(patients.iloc[:1000], measurements.iloc[:30_000], config)  # warm-up
    gc.collect()
    t0 = time.perf_counter()
    X = attach_measurements(patients, measurements)
    t1 = time.perf_counter()
    est = LandmarkFeatures.from_config(config).set_output(transform="pandas").fit(X)
    features = est.transform(X)
    t2 = time.perf_counter()
    fast_rate = rows / (t2 - t0)
    print(f"vectorised: attach {t1 - t0:.2f} s + features {t2 - t1:.2f} s = {t2 - t0:.2f} s "
          f"-> {fast_rate:,.0f} rows/s; output {features.shape[0]:,} x {features.shape[1]}")  # fmt: skip
    del X, features, est
    gc.collect()

    sub_ids = patients["patient_id"].iloc[: args.naive_patients]
    sub_p = patients.iloc[: args.naive_patients]
    sub_m = measurements[measurements["patient_id"].isin(sub_ids)]
    t3 = time.perf_counter()
    naive_features(sub_p, sub_m, config)
    t4 = time.perf_counter()
    naive_rate = len(sub_m) / (t4 - t3)
    print(f"naive groupby().apply(): {len(sub_p):,} patients / {len(sub_m):,} rows in "
          f"{t4 - t3:.2f} s -> {naive_rate:,.0f} rows/s (extrapolated to {rows:,} rows: "
          f"{rows / naive_rate:,.0f} s)")  # fmt: skip
    ratio = fast_rate / naive_rate
    print(f"speed-up vs naive: {ratio:,.0f}x")

    gc.collect()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    vectorised(patients, measurements, config)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak memory (tracemalloc, numpy/pandas/Python allocations): {peak / 1e6:.1f} MB "
          f"= {peak / input_bytes:.2f}x input; process max RSS {rss_after / 1e3:.0f} MB "
          f"(grew {(rss_after - rss_before) / 1e3:.0f} MB during the traced run)")  # fmt: skip
    ok = fast_rate >= 1e6 and ratio >= 20 and peak <= 3 * input_bytes
    print(f"targets (>= 1,000,000 rows/s, >= 20x naive, peak <= 3x input): "
          f"{'MET' if ok else 'NOT MET'}")  # fmt: skip


if __name__ == "__main__":
    main()
