"""Baseline latent state of each patient and its noisy pre-infusion read-outs.

Latent standard-normal factors (correlated):

* ``z_burden``: tumour burden (marrow blasts, MTV, LDH, baseline MRD);
* ``z_inflam``: systemic inflammation (CRP, ferritin, IL-6; InflaMix-like);
* ``z_suppr``: suppressive microenvironment (Treg, M-MDSC, TGF-b, IL-10);
* ``z_memory``: product stem/central-memory fitness; ``z_exhaust``: product exhaustion;
* ``z_escape``: propensity to antigen escape (antigen-negative subclone, splice
  isoforms, low antigen density).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from relapse_ml.simulate import _params as P
from relapse_ml.simulate._config import SimulationConfig

# Correlation of (burden, inflam, suppr, memory, exhaust, escape).
_CORR = np.array(
    [
        [1.0, 0.5, 0.3, 0.0, 0.1, 0.15],
        [0.5, 1.0, 0.35, 0.0, 0.1, 0.0],
        [0.3, 0.35, 1.0, -0.1, 0.2, 0.0],
        [0.0, 0.0, -0.1, 1.0, -0.4, 0.0],
        [0.1, 0.1, 0.2, -0.4, 1.0, 0.0],
        [0.15, 0.0, 0.0, 0.0, 0.0, 1.0],
    ]
)
_FACTORS = ("z_burden", "z_inflam", "z_suppr", "z_memory", "z_exhaust", "z_escape")


def _pct(logit: np.ndarray) -> np.ndarray:
    return 100.0 * expit(logit)


def draw_latent(n: int, rng: np.random.Generator, cfg: SimulationConfig) -> dict[str, np.ndarray]:
    """Draw disease, product, demographics, latent factors and baseline read-outs.

    Parameters
    ----------
    n : int
        Number of patients.
    rng : Generator
        The simulation's single generator (draws happen in a fixed order).
    cfg : SimulationConfig
        Knobs.

    Returns
    -------
    dict of str to ndarray
        One array of length ``n`` per latent or observed baseline quantity.
    """
    weights = cfg.disease_weights()
    p_dis = np.array([weights.get(d, 0.0) for d in P.DISEASES])
    disease = rng.choice(len(P.DISEASES), size=n, p=p_dis)
    # Product within disease: one uniform, inverse CDF over that disease's mix.
    u_prod = rng.random(n)
    product = np.zeros(n, dtype=np.int64)
    for d_idx, d_name in enumerate(P.DISEASES):
        mix = P.PRODUCT_MIX[d_name]
        cum = np.cumsum(list(mix.values()))
        codes = np.array([P.PRODUCT_NAMES.index(k) for k in mix])
        sel = disease == d_idx
        product[sel] = codes[np.minimum(np.searchsorted(cum, u_prod[sel]), len(codes) - 1)]
    target = np.array([p[1] for p in P.PRODUCTS])[product]
    cd28 = np.array([p[2] == "CD28" for p in P.PRODUCTS])[product]

    is_all = disease == 0
    # Age: B-ALL mostly paediatric/young adult (ELIANA median 12 y) plus an adult arm.
    paediatric = rng.random(n) < 0.7
    age_all = np.where(
        paediatric,
        np.exp(rng.normal(np.log(11.0), 0.6, n)),
        rng.normal(45.0, 14.0, n),
    )
    age_mean = P.per_disease({"B-ALL": 0, "LBCL": 62, "FL": 58, "MCL": 65, "CLL": 64, "MM": 62})
    age_other = rng.normal(age_mean[disease], 10.0)
    age = np.where(is_all, np.clip(age_all, 0.3, 80.0), np.clip(age_other, 19.0, 90.0))
    u_kmt2a = rng.random(n)
    kmt2a = is_all & (u_kmt2a < np.where(age < 1.0, 0.7, np.where(age < 18.0, 0.03, 0.08)))
    sex_u = rng.random(n)
    sex = np.where(sex_u < 0.59, "M", np.where(sex_u < 0.99, "F", "U"))
    lines_base = P.per_disease({"B-ALL": 1, "LBCL": 2, "FL": 2, "MCL": 2, "CLL": 3, "MM": 3})
    lines_mean = P.per_disease(
        {"B-ALL": 1.5, "LBCL": 0.8, "FL": 1.2, "MCL": 1.5, "CLL": 1.5, "MM": 2.5}
    )
    lines = np.minimum(lines_base[disease] + rng.poisson(lines_mean[disease]), 20)

    z = rng.standard_normal((n, 6)) @ np.linalg.cholesky(_CORR).T
    out: dict[str, np.ndarray] = {name: z[:, i].copy() for i, name in enumerate(_FACTORS)}
    # Heavily pre-treated patients make less fit products.
    lines_c = lines - (lines_base[disease] + lines_mean[disease])
    out["z_memory"] -= 0.12 * lines_c
    out["z_exhaust"] += 0.08 * lines_c
    out.update(
        disease=disease,
        product=product,
        target=target,
        cd28=cd28,
        age=age,
        kmt2a=kmt2a,
        sex=sex,
        prior_lines=lines.astype(float),
    )
    _baseline_readouts(n, rng, out)
    return out


def _baseline_readouts(n: int, rng: np.random.Generator, out: dict[str, np.ndarray]) -> None:
    """Add the pre-infusion patient-table values (noisy functions of the latents)."""
    disease, product, target = out["disease"], out["product"], out["target"]
    zb, zi, zs = out["z_burden"], out["z_inflam"], out["z_suppr"]
    zm, zx, ze = out["z_memory"], out["z_exhaust"], out["z_escape"]
    noise = rng.standard_normal((n, 22))

    # Tumour burden. Baseline marrow tumour fraction (latent, also drives MRD).
    marrow_off = P.per_disease(
        {"B-ALL": -1.0, "LBCL": -4.0, "FL": -3.0, "MCL": -2.0, "CLL": -0.3, "MM": -1.5}
    )
    out["marrow_fraction"] = expit(marrow_off[disease] + 1.3 * zb)
    blasts = 100.0 * expit(marrow_off[disease] + 1.3 * zb + 0.3 * noise[:, 0])
    out["marrow_blasts_pct"] = np.where(np.isin(disease, (0, 3, 4)), blasts, np.nan)
    mtv_med = P.per_disease({"B-ALL": 0, "LBCL": 150, "FL": 60, "MCL": 90, "CLL": 0, "MM": 0})
    mtv = np.exp(np.log(np.maximum(mtv_med[disease], 1.0)) + 1.1 * zb + 0.3 * noise[:, 1])
    out["metabolic_tumor_volume_ml"] = np.where(
        np.isin(disease, (1, 2, 3)), np.clip(mtv, 1.0, 10000.0), np.nan
    )
    ldh_med = P.per_disease(
        {"B-ALL": 300, "LBCL": 280, "FL": 220, "MCL": 260, "CLL": 250, "MM": 200}
    )
    out["ldh_u_per_l"] = np.clip(
        ldh_med[disease] * np.exp(0.45 * zb + 0.1 * zi + 0.18 * noise[:, 2]), 80.0, 20000.0
    )
    p_bridge = P.per_disease(
        {"B-ALL": 0.5, "LBCL": 0.55, "FL": 0.35, "MCL": 0.45, "CLL": 0.4, "MM": 0.7}
    )
    out["bridging_therapy"] = rng.random(n) < expit(
        np.log(p_bridge[disease] / (1 - p_bridge[disease])) + 0.6 * zb
    )

    # Product fitness (Fraietta 2018; Finney 2019; Deng 2020; Galli 2023).
    out["product_memory_pct"] = _pct(-0.6 + 0.75 * zm + 0.25 * noise[:, 3])
    out["product_pd1_pct"] = _pct(-1.4 + 0.7 * zx + 0.3 * noise[:, 4])
    out["product_tim3_pct"] = _pct(-1.8 + 0.7 * zx + 0.3 * noise[:, 5])
    out["product_lag3_pct"] = _pct(-2.0 + 0.7 * zx + 0.3 * noise[:, 6])
    out["product_cd4_cd8_ratio"] = np.clip(
        np.exp(np.log(1.44) + 0.3 * zx - 0.2 * zm + 0.5 * noise[:, 7]), 0.05, 50.0
    )
    dose = np.array([p[3] for p in P.PRODUCTS])[product]
    out["car_dose_per_kg"] = np.clip(dose * np.exp(0.35 * noise[:, 8]), 1.0e5, 5.0e8)
    v2v = np.array([p[4] for p in P.PRODUCTS])[product]
    out["vein_to_vein_days"] = np.clip(np.round(v2v * np.exp(0.25 * noise[:, 9])), 14, 200)

    # Antigen: dim/negative fraction by flow, escape isoforms, density (Majzner; Sotillo).
    dim_fraction = expit(-3.6 + 0.9 * ze + 0.35 * noise[:, 10])
    out["antigen_pos_pct"] = 100.0 * (1.0 - dim_fraction)
    splice_off = np.where(target == "BCMA", -4.2, -3.0)
    out["antigen_splice_variant_pct"] = _pct(splice_off + 0.85 * ze + 0.35 * noise[:, 11])
    dens_mu = np.array([P.DENSITY_LOG10[t] for t in target])
    dens_mu = dens_mu - np.where(disease == 1, 0.2, 0.0)  # LBCL CD19 lower (Nat Med 2021)
    log10_density = dens_mu - 0.25 * ze + 0.12 * noise[:, 12]
    out["density_true"] = 10.0**log10_density
    out["antigen_density"] = 10.0 ** (log10_density + 0.06 * noise[:, 13])
    threshold = np.array([P.DENSITY_THRESHOLD[t] for t in target])
    threshold = np.where((disease == 1) & (target == "CD19"), P.LBCL_CD19_THRESHOLD, threshold)
    out["low_density"] = np.clip(np.log(threshold / out["density_true"]) + 0.5, 0.0, 3.0)
    # Escape-capable antigen-negative subclone (fraction of tumour cells).
    out["neg_clone_fraction"] = 10.0 ** (-4.6 + 0.7 * ze + 0.25 * noise[:, 14])

    # Suppressive microenvironment (Jain 2021; Good 2022).
    out["treg_pct_cd4"] = _pct(-2.6 + 0.5 * zs + 0.25 * noise[:, 15])
    out["mdsc_pct_pbmc"] = _pct(-3.2 + 0.6 * zs + 0.3 * noise[:, 16])
    out["tgfb_pg_ml"] = np.exp(np.log(2000.0) + 0.4 * zs + 0.3 * noise[:, 17])
    out["il10_pg_ml"] = np.exp(np.log(5.0) + 0.5 * zs + 0.25 * zi + 0.35 * noise[:, 18])

    # Inflammation baselines (latent levels; measured at day -7 and 0).
    out["crp_base"] = np.exp(np.log(8.0) + 0.8 * zi + 0.2 * zb + 0.3 * noise[:, 19])
    out["ferritin_base"] = np.exp(np.log(600.0) + 0.7 * zi + 0.2 * zb + 0.3 * noise[:, 20])
    out["il6_base"] = np.exp(np.log(6.0) + 0.7 * zi + 0.3 * noise[:, 21])
