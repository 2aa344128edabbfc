"""Benchmark ``relapse-ml predict``: streaming scoring with explanations vs a whole-file baseline.

Builds a large simulated Parquet cohort (100k-patient blocks with distinct seeds
and id prefixes, appended with a ParquetWriter so building fits in memory),
trains a model, then in separate processes (so the build does not count in the
peak memory):

- scores the cohort with ``run_predict`` (chunks, explanations, rejects, drift)
  at two sizes (``--patients`` and a fifth of it) to show that peak RSS is flat;
- the baseline: load a whole folder in memory (``validate_folder``), predict
  (``pyfunc.predict``-style, all at once) and explain with the model-agnostic
  ``shap.Explainer`` on the classifier's probability, on sizes it can handle,
  extrapolated to patients/s.

Usage::

    python benchmarks/bench_predict.py --patients 1000000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BLOCK = 100_000
TARGET_RATE = 5_000
TARGET_RSS_MB = 2048


def _peak_rss_mb() -> float:
    """Peak resident memory of this process in MB.

    Linux: VmHWM of /proc/self/status, which starts afresh at exec; ``ru_maxrss``
    of a child started with fork+exec may still report the parent's peak.
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_cohort(folder: Path, n: int, seed: int = 1000) -> int:
    """Write ``n`` simulated patients as Parquet in blocks; return the measurement rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from relapse_ml.simulate import simulate_cohort

    folder.mkdir(parents=True, exist_ok=True)
    writers: dict[str, pq.ParquetWriter] = {}
    schemas: dict[str, pa.Schema] = {}
    n_rows = 0
    for block, start in enumerate(range(0, n, BLOCK)):
        size = min(BLOCK, n - start)
        cohort = simulate_cohort(size, seed + block)
        prefix = f"B{block:03d}-"
        for name, frame in (("patients", cohort.patients), ("measurements", cohort.measurements)):
            frame = frame.copy()
            frame["patient_id"] = prefix + frame["patient_id"].astype(str)
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if name not in writers:
                schemas[name] = table.schema.remove_metadata()
                writers[name] = pq.ParquetWriter(folder / f"{name}.parquet", schemas[name])
            writers[name].write_table(table.cast(schemas[name]))
        n_rows += len(cohort.measurements)
    for writer in writers.values():
        writer.close()
    return n_rows


def train_model(folder: Path) -> Path:
    """A gradient-boosting model (one candidate) on 3,000 simulated patients."""
    from relapse_ml.config import load_train_config
    from relapse_ml.serving.artifact import save_model
    from relapse_ml.training import train_relapse_model
    from relapse_ml.validation import validate_folder
    from relapse_ml.workflows.simulate import run_simulate

    run_simulate(n=3000, seed=7, out_dir=folder / "train", fmt="parquet")
    data = validate_folder(folder / "train", require_outcomes=True)
    config = load_train_config(
        selection={"families": ["hist_gradient_boosting"], "n_candidates": 1, "cv_repeats": 1},
        evaluation={"n_bootstrap": 50},
    )
    result = train_relapse_model(data.patients, data.measurements, data.outcomes, config)
    return save_model(result.model, folder / "model.skops")


def score(data: str, model: str, out: str, chunk_size: int, workers: int) -> dict:
    """Child process: the streaming job."""
    from relapse_ml.workflows.predict import run_predict

    summary = run_predict(
        Path(data), model, Path(out), chunk_size=chunk_size, progress=False, workers=workers
    )
    return {
        "patients": summary.n_input,
        "scored": summary.n_scored,
        "rejected": summary.n_rejected,
        "elapsed_s": summary.elapsed_s,
        "patients_per_s": summary.patients_per_s,
        "peak_rss_mb": _peak_rss_mb(),
    }


def baseline(data: str, model_path: str, n_shap: int) -> dict:
    """Child process: whole folder in memory, predict, model-agnostic SHAP on a subset."""
    import numpy as np
    import shap

    from relapse_ml.serving.artifact import load_model
    from relapse_ml.validation import validate_folder

    model = load_model(Path(model_path))
    start = time.perf_counter()
    validated = validate_folder(Path(data), include_outcomes=False)
    model_input = model.model_input(validated.patients, validated.measurements)
    risk = model.risk(model_input)
    load_predict_s = time.perf_counter() - start
    n = len(risk)
    pipeline = model.classifier.estimator_
    features = pipeline.named_steps["features"].transform(model_input)
    Z = np.asarray(pipeline.named_steps["preprocess"].transform(features), dtype=np.float64)
    classifier = pipeline.named_steps["classifier"]

    def served_risk(z: np.ndarray) -> np.ndarray:
        native = classifier.predict_proba(z)[:, 1]
        return model.classifier.calibrate(model.classifier.native_to_margin(native))

    rng = np.random.default_rng(0)
    masker = shap.maskers.Independent(Z[rng.choice(n, size=min(100, n), replace=False)])
    explainer = shap.Explainer(served_risk, masker, seed=0)
    start = time.perf_counter()
    explainer(Z[:n_shap])
    shap_s = time.perf_counter() - start
    per_patient = load_predict_s / n + shap_s / n_shap
    return {
        "patients": n,
        "load_predict_s": load_predict_s,
        "shap_patients": n_shap,
        "shap_s": shap_s,
        "patients_per_s": 1 / per_patient,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _tree_rss_mb(root_pid: int) -> float:
    """Current RSS of ``root_pid`` and all its descendants (worker processes), in MB."""
    parents: dict[int, int] = {}
    rss: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        parents[int(entry.name)] = int(fields.get("PPid", "0").strip() or 0)
        rss[int(entry.name)] = float(fields.get("VmRSS", "0 kB").split()[0]) / 1024
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        pid = frontier.pop()
        children = [c for c, p in parents.items() if p == pid and c not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(rss.get(pid, 0.0) for pid in tree)


def _child(*args: str) -> dict:
    """Run a child job; sample the RSS of its whole process tree (it may start workers)."""
    process = subprocess.Popen(
        [sys.executable, __file__, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            peak[0] = max(peak[0], _tree_rss_mb(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"child failed ({process.returncode}):\n{stderr[-3000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_tree_rss_mb"] = peak[0]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--chunk-size", type=int, default=5_000)
    parser.add_argument("--workers", type=int, default=2, help="scoring processes")
    parser.add_argument("--baseline-patients", type=int, default=2_000)
    parser.add_argument("--baseline-shap", type=int, default=50)
    parser.add_argument("--model", type=str, default=None, help="a .skops model (else trained)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "score":
            print(json.dumps(score(rest[0], rest[1], rest[2], int(rest[3]), int(rest[4]))))
        else:
            print(json.dumps(baseline(rest[0], rest[1], int(rest[2]))))
        return

    with tempfile.TemporaryDirectory(prefix="bench-predict-") as tmp:
        root = Path(tmp)
        model = args.model or str(train_model(root))
        sizes = sorted({max(args.patients // 5, 1), args.patients})
        results = {}
        for n in sizes:
            start = time.perf_counter()
            rows = build_cohort(root / f"cohort{n}", n)
            print(
                f"built {n:,} patients / {rows:,} measurement rows in "
                f"{time.perf_counter() - start:.0f} s (parent RSS {_peak_rss_mb():.0f} MB)"
            )
            results[n] = _child(
                "--child",
                "score",
                str(root / f"cohort{n}"),
                model,
                str(root / f"out{n}" / "pred.parquet"),
                str(args.chunk_size),
                str(args.workers),
            )
            r = results[n]
            print(
                f"predict  {n:>9,} patients: {r['elapsed_s']:.1f} s, "
                f"{r['patients_per_s']:,.0f} patients/s, peak RSS {r['peak_rss_mb']:.0f} MB main "
                f"/ {r['peak_tree_rss_mb']:.0f} MB with {args.workers} worker(s), sampled "
                f"(scored {r['scored']:,}, rejected {r['rejected']:,})"
            )
            (root / f"cohort{n}" / "measurements.parquet").unlink()
        build_cohort(root / "base", args.baseline_patients, seed=5000)
        base = _child("--child", "baseline", str(root / "base"), model, str(args.baseline_shap))
        print(
            f"baseline {base['patients']:>9,} patients in memory: load+predict "
            f"{base['load_predict_s']:.2f} s; shap.Explainer on {base['shap_patients']} "
            f"patients {base['shap_s']:.1f} s -> {base['patients_per_s']:,.1f} patients/s "
            f"(extrapolated), peak RSS {base['peak_rss_mb']:.0f} MB"
        )
        big = results[args.patients]
        print(f"speed-up over baseline: {big['patients_per_s'] / base['patients_per_s']:,.1f}x")
        print(
            f"target >= {TARGET_RATE:,} patients/s: "
            f"{'met' if big['patients_per_s'] >= TARGET_RATE else 'NOT met'}; "
            f"peak RSS <= {TARGET_RSS_MB} MB at every size: "
            f"{'met' if all(r['peak_tree_rss_mb'] <= TARGET_RSS_MB for r in results.values()) else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
