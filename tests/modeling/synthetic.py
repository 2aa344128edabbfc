"""Synthetic patients frames for the modelling tests (contract columns only)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from relapse_ml.schema import load_contract

NUMERIC_COLUMNS = (
    "age_years",
    "prior_lines",
    "ldh_u_per_l",
    "marrow_blasts_pct",
    "metabolic_tumor_volume_ml",
    "car_dose_per_kg",
    "product_memory_pct",
    "product_pd1_pct",
    "antigen_pos_pct",
    "treg_pct_cd4",
)
FEATURE_COLUMNS = (*NUMERIC_COLUMNS, "bridging_therapy", "disease", "costim_domain")


def synthetic_patients(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Return (patients frame, 0/1 outcome, IPCW-like weights) with a known risk.

    Risk rises with LDH (log), blasts, TMV, PD-1 and prior lines, falls with
    memory phenotype and dose; a CD28 and an interaction term add non-linearity.
    About 20% of the burden values are missing.
    """
    contract = load_contract()
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, len(NUMERIC_COLUMNS)))
    frame = pd.DataFrame(
        {
            "patient_id": [f"P{i:05d}" for i in range(n)],
            "site": rng.choice(["S1", "S2", "S3", "S4", "S5"], size=n),
            "infusion_date": pd.Timestamp("2018-01-01")
            + pd.to_timedelta(rng.integers(0, 5 * 365, size=n), unit="D"),
            "age_years": np.clip(55 + 12 * z[:, 0], 18, 90).round(),
            "prior_lines": np.clip(np.round(3 + 1.5 * z[:, 1]), 0, 10),
            "ldh_u_per_l": np.exp(5.6 + 0.5 * z[:, 2]),
            "marrow_blasts_pct": np.clip(20 + 15 * z[:, 3], 0, 100),
            "metabolic_tumor_volume_ml": np.exp(4.5 + 1.0 * z[:, 4]),
            "car_dose_per_kg": np.exp(np.log(2e6) + 0.4 * z[:, 5]),
            "product_memory_pct": np.clip(30 + 10 * z[:, 6], 0, 100),
            "product_pd1_pct": np.clip(20 + 8 * z[:, 7], 0, 100),
            "antigen_pos_pct": np.clip(90 + 5 * z[:, 8], 0, 100),
            "treg_pct_cd4": np.clip(8 + 3 * z[:, 9], 0, 100),
            "bridging_therapy": rng.integers(0, 2, size=n).astype(np.float64),
        }
    )
    disease = rng.choice(contract.patients.column("disease").values, size=n)
    costim = rng.choice(contract.patients.column("costim_domain").values, size=n)
    frame["disease"] = pd.Categorical(
        disease, categories=contract.patients.column("disease").values
    )
    frame["costim_domain"] = pd.Categorical(
        costim, categories=contract.patients.column("costim_domain").values
    )
    logit = (
        -1.0
        + 0.8 * z[:, 2]
        + 0.5 * z[:, 3]
        + 0.5 * z[:, 4]
        + 0.4 * z[:, 1]
        - 0.6 * z[:, 6]
        + 0.5 * z[:, 7]
        - 0.3 * z[:, 5]
        + 0.6 * (costim == "CD28")
        + 0.5 * z[:, 2] * z[:, 7]
    )
    y = (rng.random(n) < expit(logit)).astype(np.int64)
    for col in ("ldh_u_per_l", "marrow_blasts_pct", "metabolic_tumor_volume_ml"):
        frame.loc[rng.random(n) < 0.2, col] = np.nan
    frame.loc[rng.random(n) < 0.05, "bridging_therapy"] = np.nan
    weights = rng.uniform(0.8, 1.6, size=n)
    return frame, y, weights
