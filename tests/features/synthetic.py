"""Canonical typed patients/measurements drawn with numpy, for feature tests and benchmarks.

Not a clinical simulator (that is ``relapse_ml.simulate``): values are plausible in
range and shape (CAR expansion then contraction, B-cell aplasia, LLOQ results,
replicates, missing cells) so that every feature path is exercised at scale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from relapse_ml.schema import load_contract

SCHEDULE = np.array([-7, 0, 1, 3, 5, 7, 10, 14, 21, 28, 35, 60, 90, 180])
_LIMITS = {"car_transgene": 5.0, "car_t_cells": 0.5, "b_cells": 1.0, "mrd_pct": 0.001}


def synthetic_cohort(
    n: int, seed: int = 0, rows_per_patient: int = 30
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return canonical typed ``(patients, measurements)`` for ``n`` patients.

    Parameters
    ----------
    n : int
        Number of patients.
    seed : int
        Seed of the random generator (same seed, same frames).
    rows_per_patient : int
        Measurement rows per patient (replicates arise from repeated draws).
    """
    rng = np.random.default_rng(seed)
    contract = load_contract()
    cols = contract.patients
    patients: dict[str, object] = {
        "patient_id": pd.array([f"P{i:07d}" for i in range(n)], dtype="str")
    }
    for col in cols.columns[1:]:
        if col.dtype == "category":
            vals = col.values or ()
            codes = rng.integers(0, len(vals), n)
            codes[rng.random(n) < (0 if col.required else 0.05)] = -1
            patients[col.name] = pd.Categorical.from_codes(codes, categories=list(vals))
        elif col.dtype in ("number", "integer"):
            lo, hi = float(col.minimum or 0), float(col.maximum or 100)
            x = (
                np.exp(rng.uniform(np.log(max(lo, 0.01)), np.log(hi), n))
                if hi / max(lo, 0.01) > 1e3
                else rng.uniform(lo, hi, n)
            )
            x = np.round(x) if col.dtype == "integer" else x
            x[rng.random(n) < (0 if col.required else 0.1)] = np.nan
            patients[col.name] = x
        elif col.dtype == "boolean":
            x = (rng.random(n) < 0.5).astype(np.float64)
            x[rng.random(n) < 0.1] = np.nan
            patients[col.name] = x
        elif col.dtype == "date":
            patients[col.name] = pd.to_datetime("2020-01-01") + pd.to_timedelta(
                rng.integers(0, 1500, n), unit="D"
            )
        else:
            patients[col.name] = pd.array([f"S{k}" for k in rng.integers(0, 9, n)], dtype="str")
    markers = list(contract.markers)
    total = n * rows_per_patient
    pid = np.repeat(np.arange(n), rows_per_patient)
    weights = np.ones(len(markers))
    weights[:3] = 4.0  # kinetics are sampled most often
    code = rng.choice(len(markers), total, p=weights / weights.sum())
    day = rng.choice(SCHEDULE, total)
    cmax = np.exp(rng.normal(np.log(2e4), 1.0, n))[pid]
    tmax = np.clip(rng.normal(9.0, 2.5, n), 3, 20)[pid]
    alpha = np.exp(rng.normal(np.log(0.16), 0.5, n))[pid]
    shape = np.where(
        day < 0, 0.0, np.where(day <= tmax, np.exp(np.log(3900.0) * (day / tmax - 1.0)), np.exp(-alpha * (day - tmax)) + 0.008)
    )  # fmt: skip
    noise = np.exp(rng.normal(0.0, 0.4, total))
    scale = np.exp(rng.normal(np.log(20.0), 1.2, total))
    value = np.where(np.isin(code, [3, 4, 5, 6, 7, 13, 14]), np.clip(scale, 0, 100), scale)
    value = np.where(code == 0, cmax * shape * noise, value)
    value = np.where(code == 1, cmax * shape * noise / 1000.0, value)
    recovering = rng.random(n)[pid] < 0.3
    value = np.where(code == 2, np.where(recovering & (day > 14), 50 * noise, 0.5 * noise), value)
    value = np.where(code == 9, np.exp(rng.normal(np.log(0.01), 2.0, total)), value)
    below = np.zeros(total, dtype=bool)
    for name, limit in _LIMITS.items():
        hit = (code == markers.index(name)) & (value < limit)
        below |= hit
        value = np.where(hit, limit, value)
    units = np.array([m.unit for m in contract.markers.values()], dtype=object)
    measurements = pd.DataFrame(
        {
            "patient_id": patients["patient_id"][pid],
            "day": day.astype(np.int64),
            "marker": pd.Categorical.from_codes(code, categories=markers),
            "value": value.astype(np.float64),
            "unit": pd.array(units[code], dtype="str"),
            "qualifier": pd.array(np.where(below, "<", ""), dtype="str"),
        }
    )
    return pd.DataFrame(patients), measurements
