"""Fixed biological parameters of the simulator, each tied to /work/shared/spec/domain.md.

These are model constants, not user knobs (those live in :class:`SimulationConfig`).
Per-disease arrays are indexed in the contract's disease order
(B-ALL, LBCL, FL, MCL, CLL, MM); per-product arrays in ``PRODUCTS`` order.

Calibration targets chosen (all infused patients unless stated; 12 months = day 365).
Relapse rates are cumulative incidences with non-relapse death competing; published
PFS/RFS count death as an event too, so "1 - PFS" is matched by relapse plus NRM:

* B-ALL: CR/CRi 0.82 (Laetsch 2023) -> ~18 % primary refractory; among patients in
  remission at day 28, 12-month relapse 0.45 (RFS 0.59 in ELIANA responders; reviews
  43-55 %; real-world DOR 60.9 % at 12 mo). Relapse phenotype 50 % CD19+ / 41 %
  CD19- / 7 % lineage switch (Lamble 2023); 88 % CD19- while aplasia persists
  (Pulsipher 2022).
* LBCL: ~60 % progress by 12 months (12-mo PFS 30-47 % real world), ~half of the
  failures in the first month (Vercellino 2020) -> ~25 % primary refractory.
* MM: ide-cel-like median PFS ~9-12 mo (12-mo progression ~0.50); cilta-cel-like
  12-mo PFS ~0.70-0.75 (progression ~0.27).
* MCL: 12-mo PFS 53-59 % (brexu-cel real world, TRANSCEND MCL) -> progression ~0.36
  plus NRM ~0.09 (progression or death 0.41-0.47).
* FL: 24-mo PFS 57 %, median 40 mo -> 12-mo progression ~0.25.
* CLL: median PFS ~9-12 mo -> 12-mo progression ~0.52.
"""

from __future__ import annotations

import numpy as np

DISEASES = ("B-ALL", "LBCL", "FL", "MCL", "CLL", "MM")

# name, target, costim, median dose (CAR+ cells/kg), vein-to-vein median (d),
# log-Cmax shift, post-remission antigen-positive hazard shift (log)
PRODUCTS = (
    ("tisa", "CD19", "4-1BB", 3.0e6, 48.0, 0.0, 0.0),
    ("axi", "CD19", "CD28", 2.0e6, 29.0, 0.0, 0.0),
    ("liso", "CD19", "4-1BB", 1.2e6, 36.0, 0.0, 0.0),
    ("brexu", "CD19", "CD28", 2.0e6, 30.0, 0.0, 0.0),
    ("cd22", "CD22", "4-1BB", 1.0e6, 45.0, -0.2, 0.0),
    ("cd19cd22", "CD19/CD22", "4-1BB", 1.0e6, 45.0, -0.1, 0.0),
    ("ide", "BCMA", "4-1BB", 5.5e6, 40.0, 0.0, 0.0),
    # cilta-cel: far lower dose, deeper responses (CARTITUDE-1: >=CR 82.5 %).
    ("cilta", "BCMA", "4-1BB", 0.75e6, 35.0, 0.9, -1.05),
)
PRODUCT_NAMES = tuple(p[0] for p in PRODUCTS)

# Product mix within each disease (registry-like, products per real labels).
PRODUCT_MIX = {
    "B-ALL": {"tisa": 0.72, "brexu": 0.12, "cd22": 0.08, "cd19cd22": 0.08},
    "LBCL": {"axi": 0.5, "tisa": 0.2, "liso": 0.3},
    "FL": {"axi": 0.6, "tisa": 0.4},
    "MCL": {"brexu": 0.75, "liso": 0.25},
    "CLL": {"liso": 0.85, "axi": 0.15},
    "MM": {"ide": 0.5, "cilta": 0.5},
}


def per_disease(values: dict[str, float]) -> np.ndarray:
    """Return ``values`` as an array in ``DISEASES`` order."""
    return np.array([values[d] for d in DISEASES], dtype=float)


# --- Kinetics (Stein 2019; Awasthi 2020; label values) -----------------------------
# Typical Cmax (copies/ug): 24,000 for tisa-cel B-ALL; DLBCL about 5,000-6,000; MCL
# expands most among lymphomas; CLL/FL lower than ALL.
CMAX_TYPICAL = per_disease(
    {"B-ALL": 24000.0, "LBCL": 5500.0, "FL": 6000.0, "MCL": 12000.0, "CLL": 8000.0, "MM": 5000.0}
)
CMAX_OMEGA = 0.55  # residual log-SD after covariates (Stein total omega^2 0.65)
FOLD_TYPICAL, FOLD_SD = 3900.0, 1.0  # Stein omega^2 2.4 shrunk: extreme R0 gives absurd day-3
TMAX_TYPICAL, TMAX_SD = 9.3, 0.4  # omega^2 0.38
ALPHA_TYPICAL, ALPHA_SD = 0.16, 0.55  # omega^2 0.91 (part explained by covariates)
FB_TYPICAL, FB_SD = 0.0079, 0.4  # residual; total with covariates ~ omega^2 0.8
BETA_TYPICAL, BETA_SD = 0.0032, 0.35  # residual; total ~ omega^2 0.86
# CD28: faster expansion (earlier, higher peak) and faster contraction; 4-1BB persists.
CD28_LOG_CMAX, CD28_TMAX_FACTOR = 0.25, 0.86  # ZUMA-12 Tmax 8 d vs 9.3 d
CD28_LOG_ALPHA, CD28_LOG_FB, CD28_LOG_BETA = 0.35, -0.6, 0.5
# Functional CAR T loss: level below this fraction of the disease's typical Cmax
# (B-ALL: 0.0025 x 24,000 = 60 copies/ug, just above the qPCR LLOQ of 50).
FUNCTIONAL_FRACTION = 0.0025
COPIES_PER_CELL_UL = 350.0  # axi-cel flow peak 16 cells/uL vs DLBCL qPCR peak ~5,500

# --- Response and relapse hazards (tuned so the targets in the docstring are met) ---
# Response is assessed at day 28: relapse hazards of patients in remission start then.
RESPONSE_DAY = 28.0
# Primary refractory: logit intercept per disease.
REFRACTORY_LOGIT = per_disease(
    {"B-ALL": -2.35, "LBCL": -1.45, "FL": -3.4, "MCL": -2.9, "CLL": -1.6, "MM": -2.4}
)
# Antigen-negative escape: lifetime cumulative hazard (log) at z = 0.
ESCAPE_LOG = per_disease(
    {"B-ALL": -1.6, "LBCL": -1.95, "FL": -3.2, "MCL": -2.6, "CLL": -2.7, "MM": -3.6}
)
# Antigen-positive relapse after loss of functional CAR T (log cumulative hazard).
POSITIVE_LOG = per_disease(
    {"B-ALL": -0.85, "LBCL": -0.75, "FL": -1.85, "MCL": -1.55, "CLL": -0.6, "MM": -0.55}
)
# Antigen-positive hazard while CAR T are still present, relative to POSITIVE_LOG.
# Small in B-ALL (88 % of relapses during aplasia are CD19-negative); large in
# lymphoma and myeloma, where persistence matters little (Awasthi 2020; CARTITUDE-1).
POSITIVE_BASE_SHARE = per_disease(
    {"B-ALL": 0.12, "LBCL": 0.6, "FL": 0.5, "MCL": 0.5, "CLL": 0.35, "MM": 0.6}
)
LINEAGE_SWITCH_LOG = -3.15  # B-ALL only; KMT2A-rearranged disease (Lamble 2023; Leahy 2022)
KMT2A_LOG_EFFECT = 2.3
# Weibull time shapes (scale days, shape) for the cumulative hazards.
ESCAPE_SHAPE = (170.0, 1.3)
POSITIVE_BASE_SHAPE = (200.0, 1.1)
POSITIVE_AFTER_SHAPE = (110.0, 1.2)
LINEAGE_SHAPE = (130.0, 1.4)

# CD19 (B-cell lines) / CD22 / BCMA antigen density: log10 median and threshold.
DENSITY_LOG10 = {"CD19": 3.9, "CD22": 3.45, "CD19/CD22": 3.9, "BCMA": 4.05}
DENSITY_THRESHOLD = {"CD19": 2000.0, "CD22": 1500.0, "CD19/CD22": 2000.0, "BCMA": 2500.0}
# LBCL uses the 3,000-molecule CD19 threshold (Nat Med 2021).
LBCL_CD19_THRESHOLD = 3000.0

# --- Non-relapse mortality (NRM) ---------------------------------------------------
# Targets (cumulative incidence by day 365 with relapse competing, all infused):
# LBCL 6 % (German real world, Bethge 2022); MCL 9.1 % (brexu-cel real world, Wang
# 2023); MM ide-cel ~7 % and cilta-cel 10 % (cilta-cel standard of care, Blood 2025);
# FL ~5 %, CLL ~7 % and mostly paediatric B-ALL ~4 % are assumptions (domain.md gives
# no figure); overall ~6 %, inside the 5-10 % published range.
# Cause-specific hazard h(t) = m * (tox * A exp(-t / TAU) + B exp(-t / TAU_LATE)),
# t >= 0 days after infusion: an early infection / toxicity phase that fades over the
# first months (TAU) plus a slowly fading late hazard (late infections, second
# cancers; TAU_LATE keeps 10-year NRM near twice the 1-year figure, not ten times).
# A and B are scaled so that a reference patient (m = 1, tox = 1) has cumulative
# hazard 1 at day 365, NRM_EARLY_SHARE of it from the early phase; about a quarter
# of the 1-yr NRM then falls before day 28.
NRM_TAU, NRM_TAU_LATE = 120.0, 730.0
NRM_EARLY_SHARE = 0.55
NRM_A = NRM_EARLY_SHARE / (NRM_TAU * -np.expm1(-365.0 / NRM_TAU))
NRM_B = (1.0 - NRM_EARLY_SHARE) / (NRM_TAU_LATE * -np.expm1(-365.0 / NRM_TAU_LATE))
# log m at the reference patient (age 60, 3 prior lines, latent factors 0).
NRM_LOG = per_disease(
    {"B-ALL": -2.51, "LBCL": -2.54, "FL": -2.93, "MCL": -2.64, "CLL": -2.63, "MM": -2.73}
)
# Per-product shift (log). None needed: cilta-cel's higher NRM (10 % vs ide-cel's ~7 %)
# already follows from its deeper expansion (more grade >= 3 CRS) and fewer relapses.
NRM_PRODUCT_LOG: dict[str, float] = {}
NRM_AGE_PER_DECADE = 0.2  # older patients die more often of infection
NRM_LINES = 0.1  # per prior line (cumulative marrow and immune damage)
# CAR-HEMATOTOX (CRP, ferritin, cytopenias) stands in as inflammation plus marrow
# burden: 1-yr NRM 13 % high vs 2 % low in myeloma (JHO 2023).
NRM_INFLAM, NRM_BURDEN = 0.5, 0.25
# Grade >= 3 CRS / ICANS: steroids, tocilizumab and ICU stays raise the early
# (infection / toxicity) phase only.
NRM_SEVERE_CRS, NRM_SEVERE_ICANS = 0.8, 0.7
