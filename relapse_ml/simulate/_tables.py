"""Assemble the contract tables (values ready to write) and the truth table."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from relapse_ml.schema import Contract
from relapse_ml.simulate import _params as P
from relapse_ml.simulate._config import SimulationConfig
from relapse_ml.simulate._outcomes import NEGATIVE_MECHANISMS
from relapse_ml.simulate._truth import (
    TRUTH_PAIRS,
    antigen_negative_column,
    antigen_negative_share_column,
    antigen_positive_column,
    death_column,
    risk_column,
)

# Decimals a registry would report for each numeric patient column.
_PATIENT_DECIMALS = {
    "age_years": 1,
    "ldh_u_per_l": 0,
    "marrow_blasts_pct": 1,
    "metabolic_tumor_volume_ml": 1,
    "product_cd4_cd8_ratio": 2,
    "product_memory_pct": 1,
    "product_pd1_pct": 1,
    "product_tim3_pct": 1,
    "product_lag3_pct": 1,
    "antigen_pos_pct": 1,
    "antigen_density": 0,
    "antigen_splice_variant_pct": 2,
    "treg_pct_cd4": 2,
    "mdsc_pct_pbmc": 2,
    "tgfb_pg_ml": 0,
    "il10_pg_ml": 1,
    "steroid_dex_mg": 1,
    "car_dose_per_kg": -3,
}


def _bool_text(values: np.ndarray) -> np.ndarray:
    return np.where(values.astype(bool), "true", "false").astype(object)


def build_patients(
    rng: np.random.Generator,
    lat: dict[str, np.ndarray],
    cfg: SimulationConfig,
    contract: Contract,
    patient_id: np.ndarray,
    site: np.ndarray,
    infusion_date: np.ndarray,
) -> pd.DataFrame:
    """Patients table: contract columns in contract order, optional values partly missing."""
    n = patient_id.size
    product = lat["product"]
    raw: dict[str, np.ndarray] = {
        "patient_id": patient_id,
        "site": np.array([f"SITE{s + 1:02d}" for s in range(cfg.n_sites)], dtype=object)[site],
        "infusion_date": infusion_date,
        "disease": np.array(P.DISEASES, dtype=object)[lat["disease"]],
        "target_antigen": lat["target"].astype(object),
        "costim_domain": np.array([p[2] for p in P.PRODUCTS], dtype=object)[product],
        "age_years": lat["age"],
        "sex": lat["sex"].astype(object),
        "prior_lines": lat["prior_lines"],
        "bridging_therapy": lat["bridging_therapy"],
        "crs_grade": lat["crs_grade"],
        "icans_grade": lat["icans_grade"],
        "tocilizumab": lat["tocilizumab"],
        "steroid_dex_mg": lat["steroid_dex_mg"],
    }
    spec = contract.patients
    for col in spec.column_names:
        if col not in raw:
            raw[col] = lat[col]
    missing_rate = dict(cfg.patient_missing)
    site_shift = rng.normal(0.0, cfg.site_missing_sd, (cfg.n_sites, len(spec.columns)))
    u = rng.random((n, len(spec.columns)))
    frame: dict[str, object] = {}
    for j, col in enumerate(spec.columns):
        values = raw[col.name]
        rate = missing_rate.get(col.name, 0.0)
        if col.required or rate <= 0.0:
            missing = np.zeros(n, dtype=bool)
        else:
            missing = u[:, j] < expit(logit(rate) + site_shift[site, j])
        if col.dtype == "boolean":
            out = pd.Series(_bool_text(values), dtype=object)
        elif col.dtype == "integer":
            out = pd.Series(np.round(values.astype(float)), dtype="Int64")
        elif col.dtype == "number":
            out = pd.Series(np.round(values.astype(float), _PATIENT_DECIMALS.get(col.name, 3)))
            if col.minimum is not None:
                out = out.clip(lower=float(col.minimum), upper=float(col.maximum))
        else:
            out = pd.Series(values, dtype=object)
        out = out.mask(missing)
        # Values a centre never measures for this disease stay missing (e.g. MTV in B-ALL).
        frame[col.name] = out
    return pd.DataFrame(frame)


def build_outcomes(
    rng: np.random.Generator,
    lat: dict[str, np.ndarray],
    cfg: SimulationConfig,
    contract: Contract,
    patient_id: np.ndarray,
) -> pd.DataFrame:
    """Outcomes table: relapse, time_days, antigen status at relapse, death without relapse."""
    n = patient_id.size
    relapse = lat["relapse"]
    mech = lat["mechanism"]
    negative = np.isin(mech, NEGATIVE_MECHANISMS)
    # Primary refractory disease with a large antigen-negative fraction tests negative.
    negative |= (mech == "primary_refractory") & (lat["z_escape"] > 1.8)
    status = np.where(negative, "negative", "positive").astype(object)
    # Not tested / not reported, independently of everything (missing completely at
    # random, so also at random given the covariates); see SimulationConfig.
    unknown = rng.random(n) < cfg.unknown_antigen_prob
    status = np.where(unknown, "unknown", status)
    status = np.where(relapse, status, None)
    columns = {
        "patient_id": patient_id,
        "relapse": _bool_text(relapse),
        "time_days": lat["time_days"].astype(np.int64),
        "relapse_antigen": pd.Series(status, dtype=object),
        "death_without_relapse": _bool_text(lat["death_without_relapse"]),
    }
    # Contract order; a column the contract does not (yet) list goes last.
    order = [c for c in contract.outcomes.column_names if c in columns]
    order += [c for c in columns if c not in order]
    return pd.DataFrame({c: columns[c] for c in order})


TRUTH_COLUMNS = (
    "patient_id",
    "true_risk",
    "mechanism",
    "observed_mechanism",
    "dominant_mechanism",
    "risk_escape",
    "risk_persistence",
    "primary_refractory",
    "latent_relapse_day",
    "latent_death_day",
    "t_loss_day",
    "cmax_copies_ug",
    "tmax_day",
    "product",
    "kmt2a",
    "z_burden",
    "z_escape",
    "z_memory",
    "z_exhaust",
    "z_suppr",
    "z_inflam",
    *(risk_column(lm, hz) for lm, hz in TRUTH_PAIRS),
    *(death_column(lm, hz) for lm, hz in TRUTH_PAIRS),
    *(antigen_negative_column(lm, hz) for lm, hz in TRUTH_PAIRS),
    *(antigen_positive_column(lm, hz) for lm, hz in TRUTH_PAIRS),
    *(antigen_negative_share_column(lm, hz) for lm, hz in TRUTH_PAIRS),
)


def _day_or_nan(day: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(day), day, np.nan)


def build_truth(
    lat: dict[str, np.ndarray], incidences: dict[str, np.ndarray], primary: str, patient_id
) -> pd.DataFrame:
    """Latent truth: conditional incidences, realised mechanism and events, the drivers.

    ``incidences`` maps every truth incidence column (``conditional_incidences``) to
    its values; ``primary`` names the one copied to ``true_risk``. Rounded to 6
    decimals so that the identities survive: the relapse incidence is the rounded
    sum of the rounded antigen-negative and antigen-positive ones (so
    ``round(negative + positive, 6) == risk`` exactly, all three stay non-decreasing
    in H, and risk moves by at most 1e-6), and death is capped at ``1 - risk``.
    """
    rounded = {name: np.round(values, 6) for name, values in incidences.items()}
    for lm, hz in TRUTH_PAIRS:
        neg = rounded[antigen_negative_column(lm, hz)]
        pos = rounded[antigen_positive_column(lm, hz)]
        risk = np.round(neg + pos, 6)
        rounded[risk_column(lm, hz)] = risk
        # Rounding must not push relapse + death above 1.
        death = rounded[death_column(lm, hz)]
        rounded[death_column(lm, hz)] = np.minimum(death, np.round(1.0 - risk, 6))
    frame = {
        "patient_id": patient_id,
        "true_risk": rounded[primary],
        # Latent (uncensored) mechanism, and the one the outcomes table shows.
        "mechanism": lat["mechanism"].astype(object),
        "observed_mechanism": np.where(lat["relapse"], lat["mechanism"], "none").astype(object),
        "dominant_mechanism": lat["dominant_mechanism"].astype(object),
        "risk_escape": np.round(lat["risk_escape"], 6),
        "risk_persistence": np.round(lat["risk_persistence"], 6),
        "primary_refractory": _bool_text(lat["refractory"]),
        "latent_relapse_day": _day_or_nan(lat["latent_relapse_day"]),
        "latent_death_day": _day_or_nan(lat["latent_death_day"]),
        "t_loss_day": np.round(lat["t_loss"], 1),
        "cmax_copies_ug": np.round(lat["cmax"], 1),
        "tmax_day": np.round(lat["tmax"], 2),
        "product": np.array(P.PRODUCT_NAMES, dtype=object)[lat["product"]],
        "kmt2a": _bool_text(lat["kmt2a"]),
        **{z: np.round(lat[z], 4) for z in TRUTH_COLUMNS if z.startswith("z_")},
        **rounded,
    }
    return pd.DataFrame({c: frame[c] for c in TRUTH_COLUMNS})
