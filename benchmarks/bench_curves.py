"""Benchmark: risk curves (non-relapse death competing) at three landmarks and three horizons, and which relapse.

On one simulated cohort (with non-relapse deaths), in one run:

* training time of the default recipe (3 landmarks x 3 horizons) against the
  single task (landmark 28, horizon 365) with the same selection settings: target
  ratio <= 3, plus peak memory;
* calibration of ``risk_by_day_365`` at landmark 28 on the held-out patients: the
  mean predicted risk against the simulator's true cumulative incidence for the same
  patients (target: within 0.02) and against the Aalen-Johansen estimate with its
  95% CI (target: inside); today's censoring-only rule (deaths counted as censoring)
  on the same patients, shown to overshoot the truth;
* every (landmark, horizon) pair's held-out AUROC against its oracle (target >= 0.93x);
* monotone curves, and relapse + death <= 1, for every held-out patient;
* scoring time per patient (5,000 new patients, the batch engine's chunk size) with
  curves against the single-horizon path (the same model without its curve): target
  ratio <= 1.3;
* which relapse: ``risk_antigen_negative + risk_antigen_positive == risk`` for every
  held-out patient, ``auroc_antigen_negative`` against its oracle (target >= 0.9x), and
  scoring with the phenotype part against the relapse risk alone (target <= 1.3x).

Run: ``python benchmarks/bench_curves.py [--n 3000] [--seed 1]``.
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _memory import peak_rss_mb

from relapse_ml.config import load_train_config
from relapse_ml.evaluation.competing import aalen_johansen_incidence, event_codes
from relapse_ml.serving.scoring import score_patients
from relapse_ml.task import build_landmark_task
from relapse_ml.training import train_relapse_model
from relapse_ml.training.steps import held_out_patients
from relapse_ml.validation import validate_folder
from relapse_ml.workflows.simulate import run_simulate
from relapse_ml.workflows.train import read_truth


def timed_training(data, config, truth):
    start = time.perf_counter()
    result = train_relapse_model(
        data.patients, data.measurements, data.outcomes, config, truth=truth
    )
    return time.perf_counter() - start, result


def held_out_at(data, config, landmark):
    """Held-out patients at risk at ``landmark``: their tables and outcomes."""
    test_ids = held_out_patients(data.patients, data.outcomes, config)
    outcomes = data.outcomes[
        data.outcomes["patient_id"].isin(test_ids) & (data.outcomes["time_days"] > landmark)
    ].reset_index(drop=True)
    ids = set(outcomes["patient_id"])
    patients = data.patients[data.patients["patient_id"].isin(ids)]
    patients = patients.set_index("patient_id").loc[outcomes["patient_id"]].reset_index()
    measurements = data.measurements[data.measurements["patient_id"].isin(ids)]
    return patients, measurements, outcomes


def scoring_times(model, patients, measurements, repeats=3):
    """Seconds per patient (best of ``repeats``): risk alone, with the curve, with the phenotype."""
    variants = {
        "risk alone": dict(curve=None, phenotype=None),
        "with curves": dict(phenotype=None),
        "with phenotype": dict(curve=None),
        "everything": {},
    }
    times = {}
    for name, removed in variants.items():
        variant = copy.copy(model)
        for attribute, value in removed.items():
            setattr(variant, attribute, value)
        best = np.inf
        for _ in range(repeats):
            start = time.perf_counter()
            score_patients(variant, patients, measurements)
            best = min(best, time.perf_counter() - start)
        times[name] = best / len(patients)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "cohort"
        run_simulate(n=args.n, seed=args.seed, out_dir=folder, fmt="csv")
        data = validate_folder(folder, require_outcomes=True)
        truth = read_truth(folder)
    full = load_train_config(None, experiment="benchmark")
    single = load_train_config(None, task={"landmarks_days": [28], "horizons_days": [365]})
    single_s, _ = timed_training(data, single, truth)
    full_s, result = timed_training(data, full, truth)
    m = result.metrics
    model = result.model.at(28)

    patients, measurements, outcomes = held_out_at(data, full, 28)
    scores = score_patients(model, patients, measurements)
    predicted = scores["risk_by_day_365"].to_numpy()
    true = truth.set_index("patient_id").loc[outcomes["patient_id"], "true_risk_L28_H365"]
    true_mean = float(np.nanmean(true.to_numpy(dtype=float)))
    events = event_codes(outcomes["relapse"], outcomes["death_without_relapse"])
    aj = aalen_johansen_incidence(outcomes["time_days"], events, 365, landmark=28)
    without_deaths = outcomes.drop(columns="death_without_relapse")
    task = build_landmark_task(without_deaths, 28, 365)
    censoring_only = float(np.average(task.label, weights=task.weight))

    curves = {h: scores[f"risk_by_day_{h}"].to_numpy() for h in (180, 365, 730)}
    deaths = {h: scores[f"death_without_relapse_by_day_{h}"].to_numpy() for h in (180, 365, 730)}
    monotone = bool(
        np.all(curves[180] <= curves[365] + 1e-12)
        and np.all(curves[365] <= curves[730] + 1e-12)
        and np.all(deaths[180] <= deaths[365] + 1e-12)
        and np.all(deaths[365] <= deaths[730] + 1e-12)
        and np.all(curves[730] + deaths[730] <= 1 + 1e-12)
    )
    with tempfile.TemporaryDirectory() as tmp:
        # Per-patient cost at the batch engine's chunk size (5,000 new patients).
        run_simulate(n=5000, seed=args.seed + 1, out_dir=Path(tmp), fmt="csv")
        new = validate_folder(Path(tmp), include_outcomes=False)
    times = scoring_times(model, new.patients, new.measurements)
    score_ratio = times["with curves"] / times["risk alone"]
    phenotype_ratio = times["with phenotype"] / times["risk alone"]
    # Which relapse: the two kinds add up to the risk; discrimination against the oracle.
    parts = scores["risk_antigen_negative"] + scores["risk_antigen_positive"]
    adds_up = bool(np.max(np.abs(parts - scores["risk"])) <= 1e-6)

    pairs = sorted(
        (int(k.split("_L")[1].split("_H")[0]), int(k.split("_H")[1]))
        for k in m
        if k.startswith("auroc_oracle_ratio_L")
    )
    ratios = {pair: m[f"auroc_oracle_ratio_L{pair[0]}_H{pair[1]}"] for pair in pairs}
    checks = {
        "training time <= 3x the single task": full_s / single_s <= 3,
        "mean risk_by_day_365 at L28 within 0.02 of the truth": abs(predicted.mean() - true_mean)
        <= 0.02,
        "mean risk_by_day_365 at L28 inside the Aalen-Johansen 95% CI": aj.ci_low
        <= predicted.mean()
        <= aj.ci_high,
        "censoring-only rule overshoots the truth": censoring_only > true_mean,
        "every (L, H): AUROC >= 0.93 x oracle": all(r >= 0.93 for r in ratios.values()),
        "curves monotone, relapse + death <= 1, every held-out patient": monotone,
        "scoring with curves <= 1.3x the single-horizon path": score_ratio <= 1.3,
        "risk_antigen_negative + risk_antigen_positive == risk (1e-6), every held-out patient": adds_up,
        "auroc_antigen_negative >= 0.9 x oracle": m.get("auroc_antigen_negative_oracle_ratio", 0)
        >= 0.9,
        "scoring with the phenotype part <= 1.3x the relapse risk alone": phenotype_ratio <= 1.3,
    }
    print(f"risk curves on {args.n:,} simulated patients (seed {args.seed}), default recipe")
    print(
        f"  training: 3 landmarks x 3 horizons {full_s:6.1f} s; single task {single_s:6.1f} s; "
        f"ratio {full_s / single_s:.2f}x; peak RSS {peak_rss_mb():,.0f} MiB"
    )
    print(
        f"  landmark 28, {len(outcomes)} held-out patients: mean risk_by_day_365 "
        f"{predicted.mean():.3f}; truth {true_mean:.3f} (difference "
        f"{predicted.mean() - true_mean:+.3f}); Aalen-Johansen {aj.estimate:.3f} "
        f"(95% CI {aj.ci_low:.3f} to {aj.ci_high:.3f}); censoring-only rule {censoring_only:.3f} "
        f"({censoring_only - true_mean:+.3f} over the truth)"
    )
    for (landmark, horizon), ratio in ratios.items():
        suffix = f"_L{landmark}_H{horizon}"
        print(
            f"  L{landmark:<3} H{horizon:<3}  auroc {m['auroc' + suffix]:.3f}  oracle "
            f"{m['oracle_auroc' + suffix]:.3f}  ratio {ratio:.3f}  observed "
            f"{m['observed_incidence' + suffix]:.3f}  predicted {m['mean_predicted_risk' + suffix]:.3f}"
            f"  death observed {m['observed_death_incidence' + suffix]:.3f} predicted "
            f"{m['mean_predicted_death' + suffix]:.3f}"
        )
    print(
        "  scoring 5,000 new patients, per patient: "
        + ", ".join(f"{name} {t * 1e3:.3f} ms" for name, t in times.items())
        + f"; curves {score_ratio:.2f}x, phenotype {phenotype_ratio:.2f}x the risk alone"
    )
    print(
        f"  which relapse at L28: auroc_antigen_negative {m['auroc_antigen_negative']:.3f}, oracle "
        f"{m.get('oracle_auroc_antigen_negative', float('nan')):.3f}, ratio "
        f"{m.get('auroc_antigen_negative_oracle_ratio', float('nan')):.3f}; phenotype model AUROC "
        f"{m['phenotype_auroc']:.3f} (95% CI {m['phenotype_auroc_ci_low']:.3f} to "
        f"{m['phenotype_auroc_ci_high']:.3f}), calibration slope {m['phenotype_calibration_slope']:.2f}; "
        f"mean predicted antigen-negative incidence {m['mean_predicted_antigen_negative']:.3f} vs "
        f"observed {m['observed_antigen_negative_incidence']:.3f}; unknown status "
        f"{m['phenotype_unknown_share']:.1%} of relapses"
    )
    for check, ok in checks.items():
        print(f"  target {check}: {'MET' if ok else 'NOT MET'}")
    if not all(checks.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
