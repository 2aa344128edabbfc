"""Benchmark ``relapse-ml predict``: flat memory of the process tree, throughput vs a same-run baseline.

Builds large simulated Parquet cohorts (a few distinct simulated blocks,
replicated with new id prefixes and appended with a ParquetWriter, so building
is quick and fits in memory), trains a model, then in separate processes (so
the build does not count):

- scores each cohort with ``run_predict`` (chunks, explanations, rejects,
  drift; ``--workers`` processes) at every ``--sizes``, sampling every 0.1 s
  the summed RSS (and PSS, which counts shared library pages once) of the
  whole process tree: the main process and its workers;
- the baseline, in the same run: one process loads a whole folder in memory
  (``validate_folder``) and scores it at once with the same
  ``score_patients`` (TreeSHAP explanations, drivers, OOD).

The ratio streaming / baseline patients/s is what holds across machines.

Usage::

    python benchmarks/bench_predict.py --sizes 200000,2000000
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BLOCK = 100_000
DISTINCT_BLOCKS = 4
TARGET_TREE_RSS_MB = 1024
TARGET_GROWTH = 0.10


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
    """Write ``n`` simulated patients as Parquet; return the measurement rows.

    At most :data:`DISTINCT_BLOCKS` blocks are simulated; further blocks repeat
    them under new id prefixes (the engine's work per patient is the same).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from relapse_ml.simulate import simulate_cohort

    folder.mkdir(parents=True, exist_ok=True)
    writers: dict[str, pq.ParquetWriter] = {}
    schemas: dict[str, pa.Schema] = {}
    cache: dict[int, tuple] = {}
    n_rows = 0
    for block, start in enumerate(range(0, n, BLOCK)):
        size = min(BLOCK, n - start)
        source = block % DISTINCT_BLOCKS
        if (source, size) not in cache:
            cohort = simulate_cohort(size, seed + source)
            cache[(source, size)] = (cohort.patients, cohort.measurements)
        prefix = f"B{block:03d}-"
        for name, frame in zip(("patients", "measurements"), cache[(source, size)], strict=True):
            frame = frame.copy()
            frame["patient_id"] = prefix + frame["patient_id"].astype(str)
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if name not in writers:
                schemas[name] = table.schema.remove_metadata()
                writers[name] = pq.ParquetWriter(folder / f"{name}.parquet", schemas[name])
            writers[name].write_table(table.cast(schemas[name]))
            if name == "measurements":
                n_rows += len(frame)
    for writer in writers.values():
        writer.close()
    return n_rows


def train_model(folder: Path) -> Path:
    """A gradient-boosting model (one candidate) on 3,000 simulated patients."""
    from relapse_ml.artifact import save_model
    from relapse_ml.config import load_train_config
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
    from relapse_ml.batch.config import PredictConfig
    from relapse_ml.workflows.predict import run_predict

    summary = run_predict(
        PredictConfig(
            Path(data), model, Path(out), chunk_size=chunk_size, progress=False, workers=workers
        )
    )
    return {
        "patients": summary.n_input,
        "scored": summary.n_scored,
        "rejected": summary.n_rejected,
        "elapsed_s": summary.elapsed_s,
        "patients_per_s": summary.patients_per_s,
        "peak_rss_mb": _peak_rss_mb(),
    }


def baseline(data: str, model_path: str) -> dict:
    """Child process: the whole folder in memory, scored at once by the same scorer."""
    from relapse_ml.artifact import load_model
    from relapse_ml.serving.scoring import score_patients
    from relapse_ml.validation import validate_folder

    model = load_model(Path(model_path))
    start = time.perf_counter()
    validated = validate_folder(Path(data), include_outcomes=False)
    scored = score_patients(model, validated.patients, validated.measurements)
    elapsed = time.perf_counter() - start
    return {
        "patients": len(scored),
        "elapsed_s": elapsed,
        "patients_per_s": len(scored) / elapsed,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _tree_memory_mb(root_pid: int) -> tuple[float, float]:
    """Current summed RSS and PSS of ``root_pid`` and all its descendants, in MB."""
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
    pss = 0.0
    for pid in tree:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += float(line.split()[1]) / 1024
        except OSError:
            continue
    return sum(rss.get(pid, 0.0) for pid in tree), pss


def _child(*args: str) -> dict:
    """Run a child job; sample the RSS of its whole process tree (it may start workers)."""
    process = subprocess.Popen(
        [sys.executable, __file__, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = [0.0, 0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            rss, pss = _tree_memory_mb(process.pid)
            peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"child failed ({process.returncode}):\n{stderr[-3000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_tree_rss_mb"], result["peak_tree_pss_mb"] = peak
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes", type=str, default="200000,2000000", help="patients, comma-separated"
    )
    parser.add_argument("--chunk-size", type=int, default=5_000)
    parser.add_argument("--workers", type=int, default=2, help="scoring processes")
    parser.add_argument("--baseline-patients", type=int, default=50_000)
    parser.add_argument("--model", type=str, default=None, help="a .skops model (else trained)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "score":
            print(json.dumps(score(rest[0], rest[1], rest[2], int(rest[3]), int(rest[4]))))
        else:
            print(json.dumps(baseline(rest[0], rest[1])))
        return

    with tempfile.TemporaryDirectory(prefix="bench-predict-") as tmp:
        root = Path(tmp)
        model = args.model or str(train_model(root))
        build_cohort(root / "base", args.baseline_patients, seed=5000)
        base = _child("--child", "baseline", str(root / "base"), model)
        print(
            f"baseline {base['patients']:>9,} patients, one process, whole file in memory: "
            f"{base['elapsed_s']:.1f} s, {base['patients_per_s']:,.0f} patients/s, "
            f"peak RSS {base['peak_rss_mb']:.0f} MB",
            flush=True,
        )
        sizes = sorted(int(x) for x in args.sizes.split(","))
        results = {}
        for n in sizes:
            start = time.perf_counter()
            rows = build_cohort(root / f"cohort{n}", n)
            print(
                f"built {n:,} patients / {rows:,} measurement rows in "
                f"{time.perf_counter() - start:.0f} s",
                flush=True,
            )
            r = results[n] = _child(
                "--child",
                "score",
                str(root / f"cohort{n}"),
                model,
                str(root / f"out{n}" / "pred.parquet"),
                str(args.chunk_size),
                str(args.workers),
            )
            print(
                f"predict  {n:>9,} patients: {r['elapsed_s']:.1f} s, "
                f"{r['patients_per_s']:,.0f} patients/s "
                f"({r['patients_per_s'] / base['patients_per_s']:.2f}x the baseline); "
                f"process tree peak (main + {args.workers} workers, sampled): "
                f"RSS {r['peak_tree_rss_mb']:.0f} MB, PSS {r['peak_tree_pss_mb']:.0f} MB; "
                f"main alone {r['peak_rss_mb']:.0f} MB "
                f"(scored {r['scored']:,}, rejected {r['rejected']:,})",
                flush=True,
            )
            shutil.rmtree(root / f"cohort{n}")
            shutil.rmtree(root / f"out{n}")
        small, big = results[sizes[0]], results[sizes[-1]]
        growth = big["peak_tree_rss_mb"] / small["peak_tree_rss_mb"] - 1
        worst = max(r["peak_tree_rss_mb"] for r in results.values())
        print(
            f"tree RSS growth {sizes[0]:,} -> {sizes[-1]:,} patients: {growth:+.1%} "
            f"(target <= {TARGET_GROWTH:.0%}: {'met' if growth <= TARGET_GROWTH else 'NOT met'}); "
            f"worst peak {worst:.0f} MB (target <= {TARGET_TREE_RSS_MB} MB: "
            f"{'met' if worst <= TARGET_TREE_RSS_MB else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
