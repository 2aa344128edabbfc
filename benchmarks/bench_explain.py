"""Benchmark: batch scoring with explanations, and one patient's clinician report.

Trains a gradient-boosting model (the usual champion) on a simulated cohort,
simulates a new cohort and measures, in the same run:

- ``score_patients`` (features + exact TreeSHAP + calibrated-scale mapping +
  OOD + plain-language drivers) in patients/s, and ``explain_patients`` alone;
- the model-agnostic baseline ``shap.Explainer(risk_of_preprocessed, background)``
  (shap picks its permutation explainer) on the same model and patients, run on
  a subset and extrapolated;
- one patient's report, ``run_explain`` end to end (validate the folder, load
  the saved model, explain, render, write), in seconds;
- peak memory: tracemalloc peak during batch scoring and the process peak RSS.

Targets (issue 5): >= 5,000 patients/s for batch explanations; <= 2 s per report.

Usage: python benchmarks/bench_explain.py [--patients 20000] [--train 3000] [--agnostic 20]
       [--family hist_gradient_boosting]
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import shap
from _memory import peak_rss_mb

from relapse_ml.artifact import save_model
from relapse_ml.config import load_train_config
from relapse_ml.explain import explain_patients
from relapse_ml.explain.explanation import risk_map
from relapse_ml.modeling import fitted_pipeline
from relapse_ml.serving.scoring import score_patients
from relapse_ml.training import train_relapse_model
from relapse_ml.validation import validate_folder
from relapse_ml.workflows.explain import run_explain
from relapse_ml.workflows.simulate import run_simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--train", type=int, default=3_000)
    parser.add_argument(
        "--agnostic", type=int, default=20, help="patients for the model-agnostic baseline"
    )
    parser.add_argument("--family", default="hist_gradient_boosting")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run_simulate(n=args.train, seed=1, out_dir=root / "train", fmt="parquet")
        train = validate_folder(root / "train", require_outcomes=True)
        config = load_train_config(
            selection={
                "families": [args.family],
                "n_candidates": 1,
                "cv_repeats": 1,
                "calibration_methods": ["sigmoid"],
            },
            evaluation={"n_bootstrap": 50},
        )
        t0 = time.perf_counter()
        model = train_relapse_model(
            train.patients, train.measurements, train.outcomes, config
        ).model
        print(
            f"trained {model.family} + {model.calibration_method} on {args.train} patients in {time.perf_counter() - t0:.1f} s"
        )
        fitted = fitted_pipeline(model.classifier).named_steps["classifier"]
        size = {
            k: v
            for k, v in fitted.get_params().items()
            if k in ("max_iter", "max_leaf_nodes", "n_estimators", "max_depth")
        }
        print(
            f"classifier {type(fitted).__name__} {size} (TreeSHAP cost grows with trees x leaves x depth^2)"
        )
        run_simulate(n=args.patients, seed=2, out_dir=root / "new", fmt="parquet")
        data = validate_folder(root / "new", include_outcomes=False)
        patients, measurements = data.patients, data.measurements
        n = len(patients)
        print(f"scoring cohort: {n} patients, {len(measurements)} measurement rows")

        score_patients(
            model, patients.iloc[:50], measurements
        )  # warm-up: builds the cached explainer
        gc.collect()
        t0 = time.perf_counter()
        scores = score_patients(model, patients, measurements, top_k=3)
        batch_s = time.perf_counter() - t0
        # Memory in a second pass: tracemalloc slows Python-level code, so it is not timed.
        gc.collect()
        tracemalloc.start()
        score_patients(model, patients, measurements, top_k=3)
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        model_input = model.model_input(patients, measurements)
        t0 = time.perf_counter()
        explanation = explain_patients(model, model_input)
        explain_s = time.perf_counter() - t0
        gap = np.abs(
            scores["baseline_risk"] + scores.filter(like="contrib_").sum(axis=1) - scores["risk"]
        ).max()

        # Model-agnostic baseline on the same model: the served risk as a function of the
        # preprocessed matrix, explained by shap.Explainer against a background sample.
        pipeline = fitted_pipeline(model.classifier)
        preprocess, classifier = (
            pipeline.named_steps["preprocess"],
            pipeline.named_steps["classifier"],
        )

        def served_risk(Z: np.ndarray) -> np.ndarray:
            if hasattr(classifier, "decision_function"):
                return risk_map(model, classifier.decision_function(Z))
            return risk_map(model, classifier.predict_proba(Z)[:, 1])

        # The model file keeps no training rows: the agnostic baseline's background is
        # 200 of the (simulated) patients being explained.
        background = np.asarray(
            preprocess.transform(explanation.feature_values.iloc[:200]), dtype=float
        )
        subset = np.asarray(
            preprocess.transform(explanation.feature_values.iloc[: args.agnostic]), dtype=float
        )
        # silent: shap's progress bar would clutter the figures.
        agnostic = shap.Explainer(served_risk, background)
        t0 = time.perf_counter()
        agnostic_values = agnostic(subset, silent=True)
        agnostic_s = time.perf_counter() - t0
        agnostic_rate = len(subset) / agnostic_s

        # One patient's report, end to end from files (validation, model load, explain, render, write).
        model_path = save_model(model, root / "model.skops")
        one = root / "one"
        run_simulate(n=1000, seed=3, out_dir=one, fmt="csv")
        pid = validate_folder(one).patients["patient_id"].iloc[0]
        report_times = []
        for _ in range(3):  # the first run is cold (fresh model load and explainer)
            t0 = time.perf_counter()
            run_explain(one, str(model_path), [pid], root / "report.html", root / "report.json")
            report_times.append(time.perf_counter() - t0)

    rate = n / batch_s
    print(
        f"score_patients (explain + OOD + drivers): {n} patients in {batch_s:.2f} s = {rate:,.0f} patients/s (target >= 5,000)"
    )
    print(f"explain_patients alone:                   {n / explain_s:,.0f} patients/s")
    print(
        f"model-agnostic shap.Explainer ({type(agnostic).__name__}): {len(subset)} patients in {agnostic_s:.2f} s = "
        f"{agnostic_rate:,.1f} patients/s; extrapolated to {n} patients: {n / agnostic_rate:,.0f} s"
    )
    print(
        f"speed-up of exact explanations over the model-agnostic baseline: {rate / agnostic_rate:,.0f}x"
    )
    print(
        f"additivity: max |baseline + contributions - risk| = {gap:.2e}; agnostic values shape {agnostic_values.values.shape}"
    )
    print(
        "one patient's report (run_explain from files: validate 1,000-patient folder, load model, explain, "
        f"render, write): {', '.join(f'{t:.2f}' for t in report_times)} s over 3 runs (target <= 2 s)"
    )
    print(
        f"peak traced memory during batch scoring: {traced_peak / 2**20:,.0f} MiB; process peak RSS: {peak_rss_mb():,.0f} MiB"
    )


if __name__ == "__main__":
    main()
