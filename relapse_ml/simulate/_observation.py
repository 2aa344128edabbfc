"""Registry-style observation of the latent trajectories: the measurements table.

Visits follow a dense early schedule then monthly / 3-monthly / yearly ones, with
jittered days and missed visits (centre-modulated); each visit samples a panel of
markers with its own probability. Values get log-normal (or logit-normal for %)
analytic noise plus a per-centre bias, are rounded like lab reports, and values
below the LLOQ are reported as the LLOQ with qualifier ``<``. A few rows are
same-day replicates.

No value depends on the realised event (relapse, death or censoring day): marrow
disease and its antigen-positive share follow the latent relapse hazards, and every
potential measurement (visit, panel, noise) is drawn for the whole schedule before
follow-up is known. The realised time only stops observation: rows after the
patient's ``time_days`` are dropped at the end.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from relapse_ml.schema import load_contract
from relapse_ml.simulate import _kinetics as K
from relapse_ml.simulate import _params as P
from relapse_ml.simulate._config import SimulationConfig
from relapse_ml.simulate._outcomes import cause_hazards

_EXHAUSTION_OFFSET = {
    "pd1_pct_car": -0.8,
    "tim3_pct_car": -1.3,
    "lag3_pct_car": -1.2,
    "pd1_tim3_pct_car": -2.2,
}
_DECIMALS = {
    "car_transgene": 0,
    "car_t_cells": 2,
    "b_cells": 1,
    "antigen_pos_pct": 2,
    "antigen_density": 0,
    "mrd_pct": 5,
    "il6_pg_ml": 1,
    "il10_pg_ml": 1,
    "tgfb_pg_ml": 0,
    "treg_pct_cd4": 2,
    "mdsc_pct_pbmc": 2,
    "ferritin_ng_ml": 0,
    "crp_mg_l": 1,
}
_MARROW = (0, 3, 4, 5)  # B-ALL, MCL, CLL, MM: marrow MRD is routine
# Marrow tumour fraction per unit relapse hazard (per day): relapse risk scales with
# the regrowing clone, so a hazard of 0.0033/day shows as 0.01 % MRD (the usual
# positivity cut-off) and 3.3e-4/day as 0.001 % (the LLOQ).
MRD_PER_HAZARD = 0.03
_REMISSION_DECAY_DAYS = 60.0  # residual disease left at day 28 keeps being cleared


def _schedule(cfg: SimulationConfig) -> dict[str, tuple[tuple[int, ...], float]]:
    """Marker -> (nominal visit days, probability it is taken at an attended visit)."""
    late = cfg.late_visits
    early_car = tuple(d for d in cfg.early_visits if d > 0)
    return {
        "car_transgene": (early_car + late, 0.8),
        "car_t_cells": ((7, 10, 14, 21, 28, 90), 0.45),
        "b_cells": ((-7, 14, 28, *(d for d in late if d not in (120, 270))), 0.7),
        "exhaustion": ((7, 14, 28), 0.4),
        "mrd_pct": ((-7, 28, 90, 180, 365, 730), 0.8),
        "il6_pg_ml": ((-7, 0, 3, 7, 14), 0.55),
        "crp_mg_l": ((-7, 0, 3, 7, 10, 14, 21, 28, 90, 180, 365), 0.7),
        "ferritin_ng_ml": ((-7, 0, 7, 14, 28, 90), 0.65),
        "il10_pg_ml": ((-7, 28), 0.45),
        "tgfb_pg_ml": ((-7, 28), 0.35),
        "treg_pct_cd4": ((-7, 7, 28), 0.45),
        "mdsc_pct_pbmc": ((-7, 7, 28), 0.45),
    }


def _visit_days(rng: np.random.Generator, visits: np.ndarray, n: int) -> np.ndarray:
    """Jittered actual days (n x V): +-1-2 d early, +-5 d monthly, +-14 d later."""
    width = np.where(
        visits < 0,
        3,
        np.where(visits == 0, 0, np.where(visits <= 28, 1, np.where(visits <= 120, 5, 14))),
    )
    width = np.where((visits >= 21) & (visits <= 28), 2, width)
    jitter = np.round((rng.random((n, visits.size)) * 2.0 - 1.0) * width).astype(np.int64)
    days = visits[None, :] + jitter
    days = np.where(visits[None, :] > 0, np.maximum(days, 1), days)
    return np.clip(days, -60, 3650)


def _true_values(
    marker: str, lat: dict[str, np.ndarray], idx: np.ndarray, day: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """Latent (noise-free) value of ``marker`` for rows (patient ``idx``, ``day``)."""
    if marker == "car_transgene":
        return K.car_level(lat, idx, day)
    if marker == "car_t_cells":
        return K.car_level(lat, idx, day) / P.COPIES_PER_CELL_UL * np.exp(0.3 * u)
    if marker == "b_cells":
        return K.b_cell_level(lat, idx, day, u)
    if marker in _EXHAUSTION_OFFSET:
        return K.exhaustion_pct(lat, idx, day, _EXHAUSTION_OFFSET[marker], u)
    if marker in ("il6_pg_ml", "crp_mg_l", "ferritin_ng_ml"):
        return K.cytokine_level(lat, idx, day, marker)
    zs, zi = lat["z_suppr"][idx], lat["z_inflam"][idx]
    if marker == "il10_pg_ml":
        return np.exp(np.log(5.0) + 0.5 * zs + 0.25 * zi + 0.2 * u)
    if marker == "tgfb_pg_ml":
        return np.exp(np.log(2000.0) + 0.4 * zs + 0.2 * u)
    if marker == "treg_pct_cd4":
        return 100.0 * expit(-2.6 + 0.5 * zs + 0.2 * u)
    if marker == "mdsc_pct_pbmc":
        return 100.0 * expit(-3.2 + 0.6 * zs + 0.2 * u)
    frac = residual_fraction(lat, idx, day)
    if marker == "mrd_pct":
        # Aspirate sampling (patchy marrow, haemodilution) on top of the latent fraction.
        return 100.0 * np.minimum(frac * np.exp(0.6 * u), 1.0)
    pos = positive_share(lat, idx, day, u)
    if marker == "antigen_pos_pct":
        return 100.0 * pos
    if marker == "antigen_density":
        return lat["density_true"][idx] * (0.3 + 0.6 * pos) * np.exp(0.1 * u)
    raise KeyError(marker)


def residual_components(
    lat: dict[str, np.ndarray], idx: np.ndarray, day: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Latent antigen-positive and antigen-negative marrow tumour fractions after infusion.

    Each is the day-28 residual disease, still being cleared, plus a regrowing part
    proportional to the latent relapse hazards of its phenotype (antigen-positive
    causes; escape and lineage switch for the negative part).
    """
    t = day.astype(float)
    decay = np.exp(-np.maximum(t - P.RESPONSE_DAY, 0.0) / _REMISSION_DECAY_DAYS)
    h = cause_hazards(lat, idx, t)
    pos = lat["resid28_pos"][idx] * decay + MRD_PER_HAZARD * (h[:, 1] + h[:, 2])
    neg = lat["resid28_neg"][idx] * decay + MRD_PER_HAZARD * (h[:, 0] + h[:, 3])
    return pos, neg


def residual_fraction(lat: dict[str, np.ndarray], idx: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Latent marrow tumour fraction: baseline, then residual plus hazard-driven regrowth."""
    t = day.astype(float)
    base = lat["marrow_fraction"][idx]
    pos, neg = residual_components(lat, idx, t)
    post = np.where(lat["refractory"][idx], base * 0.7, pos + neg)
    return np.clip(np.where(t <= 0, base, post), 0.0, 1.0)


def positive_share(
    lat: dict[str, np.ndarray], idx: np.ndarray, day: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """Antigen-positive share of residual tumour cells (the latent negative clone is selected)."""
    pos, neg = residual_components(lat, idx, day)
    share = np.clip(pos / (pos + neg), 1e-4, 1.0 - 1e-4)
    return expit(logit(share) + 0.3 * u)


def build_measurements(
    rng: np.random.Generator,
    lat: dict[str, np.ndarray],
    cfg: SimulationConfig,
    site: np.ndarray,
    marker_units: dict[str, str],
) -> pd.DataFrame:
    """Sample, perturb and censor all measurements (one vectorised pass per marker)."""
    n = site.size
    n_sites = cfg.n_sites
    markers = list(marker_units)
    site_bias = rng.normal(0.0, cfg.site_bias_sd, (n_sites, len(markers)))
    site_miss = rng.normal(0.0, cfg.site_missing_sd, n_sites)
    visits = np.array(sorted(set(cfg.early_visits) | set(cfg.late_visits)), dtype=np.int64)
    days = _visit_days(rng, visits, n)
    miss_p = expit(logit(cfg.missed_visit_prob) + site_miss[site])
    # Follow-up is not applied yet: the draws must not depend on the realised event.
    attended = rng.random((n, visits.size)) >= miss_p[:, None]
    take_shift = site_miss[site] * 0.5
    lloq = dict(cfg.lloq)
    marrow = np.isin(lat["disease"], _MARROW)
    flow_detect = {}

    schedule = _schedule(cfg)
    vpos = {int(v): i for i, v in enumerate(visits)}
    # Exhaustion panel: one draw per visit for the four markers, only with CAR T detectable.
    ex_visits, ex_p = schedule["exhaustion"]
    for v in ex_visits:
        col = vpos[v]
        level = K.car_level(lat, np.arange(n), days[:, col]) / P.COPIES_PER_CELL_UL
        take = rng.random(n) < expit(logit(ex_p) - take_shift)
        flow_detect[v] = attended[:, col] & take & (level >= 2.0)

    pieces_idx, pieces_day, pieces_mk, pieces_val = [], [], [], []
    mrd_taken: dict[int, np.ndarray] = {}
    # mrd_pct first: the residual antigen panel is only run on samples with MRD taken.
    mrd_code = markers.index("mrd_pct")
    order_codes = [mrd_code] + [i for i in range(len(markers)) if i != mrd_code]
    for m_code in order_codes:
        marker = markers[m_code]
        idx_parts, day_parts = [], []
        if marker in _EXHAUSTION_OFFSET:
            for v in ex_visits:
                sel = np.flatnonzero(flow_detect[v])
                idx_parts.append(sel)
                day_parts.append(days[sel, vpos[v]])
        elif marker in ("antigen_pos_pct", "antigen_density"):
            for v, taken in mrd_taken.items():
                col = vpos[v]
                frac = residual_fraction(lat, np.arange(n), days[:, col])
                ok = taken & (frac >= 1e-4) & (rng.random(n) < 0.85) & (v > 0)
                sel = np.flatnonzero(ok)
                idx_parts.append(sel)
                day_parts.append(days[sel, vpos[v]])
        else:
            v_days, p = schedule[marker]
            for v in v_days:
                col = vpos[v]
                p_take = expit(logit(p) - take_shift)
                if marker == "mrd_pct":
                    p_take = np.where(marrow, p_take, 0.08)
                take = attended[:, col] & (rng.random(n) < p_take)
                if marker == "mrd_pct":
                    mrd_taken[v] = take
                sel = np.flatnonzero(take)
                idx_parts.append(sel)
                day_parts.append(days[sel, col])
        idx = np.concatenate(idx_parts) if idx_parts else np.zeros(0, np.int64)
        day = np.concatenate(day_parts) if day_parts else np.zeros(0, np.int64)
        rep = rng.random(idx.size) < cfg.replicate_prob
        idx = np.concatenate([idx, idx[rep]])
        day = np.concatenate([day, day[rep]])
        u = rng.standard_normal(idx.size)
        truth = _true_values(marker, lat, idx, day, u)
        noise = rng.standard_normal(idx.size)
        bias = site_bias[site[idx], m_code]
        if marker_units[marker] == "%":
            p = np.clip(truth / 100.0, 1e-6, 1 - 1e-6)
            value = 100.0 * expit(logit(p) + cfg.lab_log_sd * noise + bias)
        else:
            sd = cfg.qpcr_log_sd if marker == "car_transgene" else cfg.lab_log_sd
            value = truth * np.exp(sd * noise + bias)
        value = np.round(value, _DECIMALS.get(marker, 1))
        pieces_idx.append(idx)
        pieces_day.append(day)
        pieces_mk.append(np.full(idx.size, m_code, dtype=np.int64))
        pieces_val.append(value)

    idx = np.concatenate(pieces_idx)
    day = np.concatenate(pieces_day)
    # The realised event only stops observation (relapse, death, end of follow-up).
    seen = day <= lat["time_days"][idx]
    idx, day = idx[seen], day[seen]
    mk = np.concatenate(pieces_mk)[seen]
    value = np.concatenate(pieces_val)[seen]
    limit = np.array([lloq.get(m, 0.0) for m in markers])[mk]
    below = value < limit
    value = np.where(below, limit, value)
    # Heavy log-normal tails must not cross the contract's plausible maxima (the
    # CRP bump can exceed 2,000 mg/L): report the maximum, like a lab's upper limit.
    maxima = np.array([load_contract().markers[m].maximum for m in markers])
    value = np.clip(value, 0.0, maxima[mk])
    order = np.lexsort((mk, day, idx))
    return pd.DataFrame(
        {
            "idx": idx[order],
            "day": day[order].astype(np.int64),
            "marker": np.array(markers, dtype=object)[mk[order]],
            "value": value[order].astype(float),
            "unit": np.array([marker_units[m] for m in markers], dtype=object)[mk[order]],
            "qualifier": np.where(below[order], "<", ""),
        }
    )
