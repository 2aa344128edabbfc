"""Benchmark: `relapse-ml train` on 3,000 simulated patients (target <= 120 s), and its quality.

Runs the full training workflow (three families, repeated CV, calibration,
bootstrap CIs, SHAP summary, MLflow logging and registration into a fresh SQLite
store) and prints wall time and peak RSS, against a baseline in the same run: a
single untuned logistic regression on the same features (no CV, no calibration,
no logging). Quality targets on the simulated cohort: test AUROC >= 0.95 x the
oracle AUROC (true risk), calibration slope within 0.85-1.15, AUROC at least
0.08 above the clinical-only baseline.

Run: ``python benchmarks/bench_train.py [--n 3000] [--seed 1]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _memory import peak_rss_mb

from relapse_ml.config import load_train_config
from relapse_ml.evaluation import auroc
from relapse_ml.features import LandmarkFeatures, attach_measurements
from relapse_ml.modeling import default_model_families, make_preprocessor, split_train_test
from relapse_ml.task import build_landmark_task
from relapse_ml.validation import validate_folder
from relapse_ml.workflows.simulate import run_simulate
from relapse_ml.workflows.train import run_train


def baseline_fit(folder: Path, config) -> tuple[float, float]:
    """One untuned logistic regression on the landmark features: (seconds, test AUROC)."""
    from sklearn.pipeline import Pipeline

    start = time.perf_counter()
    data = validate_folder(folder, require_outcomes=True)
    task = build_landmark_task(data.outcomes, config.landmark_day, config.task.horizon_days)
    patients = data.patients.set_index("patient_id").loc[list(task.patient_ids)].reset_index()
    X = attach_measurements(patients, data.measurements)
    train, test = split_train_test(patients, task.label, seed=config.seed)
    features = LandmarkFeatures.from_config(config.features).set_output(transform="pandas")
    f_train = features.fit_transform(X.iloc[train])
    family = next(f for f in default_model_families() if f.name == "logistic")
    model = Pipeline(
        [
            ("preprocess", make_preprocessor(features.feature_catalogue_, family)),
            ("classifier", family.make_estimator({}, 0)),
        ]
    )
    model.fit(f_train, task.label[train], classifier__sample_weight=task.weight[train])
    risk = model.predict_proba(features.transform(X.iloc[test]))[:, 1]
    return time.perf_counter() - start, auroc(task.label[test], risk, task.weight[test])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    config = load_train_config(None, experiment="benchmark")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "cohort"
        run_simulate(n=args.n, seed=args.seed, out_dir=folder, fmt="csv")
        base_s, base_auroc = baseline_fit(folder, config)
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        os.chdir(tmp)
        start = time.perf_counter()
        summary = run_train(folder, config)
        elapsed = time.perf_counter() - start
    m = summary.metrics
    checks = {
        "wall time <= 120 s": elapsed <= 120,
        "auroc >= 0.95 x oracle": m["auroc_oracle_ratio"] >= 0.95,
        "calibration slope in 0.85-1.15": 0.85 <= m["calibration_slope"] <= 1.15,
        "auroc >= baseline + 0.08": m["auroc"] - m["baseline_auroc"] >= 0.08,
    }
    print(
        f"train on {args.n:,} simulated patients (seed {args.seed}): three families, repeated CV, calibration, CIs, SHAP summary, MLflow logging"
    )
    print(f"  relapse-ml train:        {elapsed:6.1f} s   peak RSS {peak_rss_mb():,.0f} MiB")
    print(
        f"  baseline (1 untuned LR): {base_s:6.1f} s   ratio train/baseline = {elapsed / base_s:.1f}x   (baseline test AUROC {base_auroc:.3f})"
    )
    print(f"  chosen: version {summary.version} @{summary.alias}")
    for name in ("auroc", "auprc", "brier", "calibration_slope", "calibration_intercept", "ici"):
        print(
            f"  {name:<22} {m[name]:.3f}  (95% CI {m[name + '_ci_low']:.3f} to {m[name + '_ci_high']:.3f})"
        )
    print(
        f"  oracle_auroc           {m['oracle_auroc']:.3f}   auroc/oracle = {m['auroc_oracle_ratio']:.3f}"
    )
    print(
        f"  baseline_auroc         {m['baseline_auroc']:.3f}   gain = {m['auroc'] - m['baseline_auroc']:+.3f}"
    )
    for check, ok in checks.items():
        print(f"  target {check}: {'MET' if ok else 'NOT MET'}")
    if not all(np.array(list(checks.values()))):
        sys.exit(1)


if __name__ == "__main__":
    main()
