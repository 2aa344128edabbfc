"""CAR T kinetics (Stein 2019 shape), toxicity, and the latent trajectories of markers.

Transgene level in blood (copies/ug gDNA)::

    C(t) = Cmax * exp(-rho * (Tmax - t))                         0 <= t < Tmax
    C(t) = Cmax * [(1 - FB) exp(-alpha (t - Tmax)) + FB exp(-beta (t - Tmax))]   t >= Tmax

with rho = ln(fold) / Tmax. Typical values and between-patient variability follow
Stein 2019; memory phenotype raises Cmax and FB, exhaustion and suppression lower
them (and raise alpha/beta), CD28 expands faster and contracts faster, 4-1BB
persists longer, burden (antigen) drives expansion. Functional CAR T cells are
lost (B-cell aplasia ends) when C(t) falls below a disease-scaled threshold.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from relapse_ml.simulate import _params as P


def draw_kinetics(rng: np.random.Generator, lat: dict[str, np.ndarray]) -> None:
    """Add Cmax, Tmax, fold, alpha, FB, beta, toxicity, T_loss and kill index to ``lat``."""
    n = lat["disease"].size
    disease, cd28 = lat["disease"], lat["cd28"].astype(float)
    zb, zi, zs = lat["z_burden"], lat["z_inflam"], lat["z_suppr"]
    zm, zx = lat["z_memory"], lat["z_exhaust"]
    eps = rng.standard_normal((n, 9))
    shift = np.array([p[5] for p in P.PRODUCTS])[lat["product"]]
    log_typ = np.log(P.CMAX_TYPICAL[disease])
    log_cmax = (
        log_typ
        + shift
        + P.CD28_LOG_CMAX * cd28
        + 0.35 * zm
        - 0.35 * zx
        - 0.3 * zs
        + 0.3 * zb
        + P.CMAX_OMEGA * eps[:, 0]
    )
    lat["cmax"] = np.exp(log_cmax)
    tmax = P.TMAX_TYPICAL * np.where(cd28 > 0, P.CD28_TMAX_FACTOR, 1.0)
    lat["tmax"] = np.clip(tmax * np.exp(P.TMAX_SD * eps[:, 1] - 0.05 * zb), 4.0, 24.0)
    lat["fold"] = np.clip(P.FOLD_TYPICAL * np.exp(P.FOLD_SD * eps[:, 2]), 30.0, 1.0e6)
    lat["alpha"] = P.ALPHA_TYPICAL * np.exp(
        P.CD28_LOG_ALPHA * cd28 + 0.25 * zx - 0.1 * zm + P.ALPHA_SD * eps[:, 3]
    )
    # Kill index: expansion relative to the disease's typical peak, blunted by
    # exhaustion, suppression and antigen density below threshold (worse for 4-1BB).
    lat["kill"] = (
        (log_cmax - log_typ)
        - 0.35 * zx
        - 0.35 * zs
        - np.where(cd28 > 0, 0.4, 0.8) * lat["low_density"]
    )

    # Toxicity (CRS tracks expansion, burden, inflammation; CD28 more ICANS).
    crs_off = P.per_disease(
        {"B-ALL": 1.1, "LBCL": 0.6, "FL": 0.3, "MCL": 0.9, "CLL": 0.7, "MM": 0.9}
    )
    crs_l = (
        0.8 * (log_cmax - log_typ)
        + 0.5 * zb
        + 0.4 * zi
        + 0.4 * cd28
        + crs_off[disease]
        + 0.6 * eps[:, 4]
    )
    lat["crs_latent"] = crs_l
    lat["crs_grade"] = np.searchsorted(np.array([0.0, 1.6, 2.4, 3.4]), crs_l).astype(float)
    icans_l = 0.6 * crs_l + 0.7 * cd28 + 0.3 * zb - 0.3 + 0.7 * eps[:, 5]
    lat["icans_grade"] = np.searchsorted(np.array([1.0, 1.7, 2.5, 3.4]), icans_l).astype(float)
    crs, icans = lat["crs_grade"], lat["icans_grade"]
    p_toci = np.where(crs >= 2, 0.9, np.where(crs == 1, 0.3, 0.02))
    lat["tocilizumab"] = rng.random(n) < p_toci
    p_ster = np.where(
        (icans >= 2) | (crs >= 3), 0.85, np.where(crs == 2, 0.35, np.where(icans == 1, 0.15, 0.03))
    )
    given = rng.random(n) < p_ster
    dex = np.clip(np.exp(np.log(186.0) + 0.9 * eps[:, 6]), 8.0, 1803.0)
    lat["steroid_dex_mg"] = np.where(given, np.round(dex, 1), 0.0)
    high_steroid = lat["steroid_dex_mg"] >= 195.0  # Strati 2021 top quartiles

    lat["fb"] = np.clip(
        P.FB_TYPICAL
        * np.exp(
            P.CD28_LOG_FB * cd28
            + 0.45 * zm
            - 0.4 * zx
            - 0.25 * zs
            - 0.15 * high_steroid
            + P.FB_SD * eps[:, 7]
        ),
        1e-5,
        0.3,
    )
    lat["beta"] = P.BETA_TYPICAL * np.exp(
        P.CD28_LOG_BETA * cd28 - 0.3 * zm + 0.3 * zx + 0.25 * zs + P.BETA_SD * eps[:, 8]
    )
    threshold = P.FUNCTIONAL_FRACTION * P.CMAX_TYPICAL[disease] * np.exp(0.3 * zx)
    lat["t_loss"] = loss_day(lat, threshold)


def car_level(lat: dict[str, np.ndarray], idx: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Latent transgene level (copies/ug) of patients ``idx`` on ``day`` (0 before day 0)."""
    cmax, tmax = lat["cmax"][idx], lat["tmax"][idx]
    t = day.astype(float)
    rho = np.log(lat["fold"][idx]) / tmax
    s = t - tmax
    fb = lat["fb"][idx]
    post = cmax * (
        (1.0 - fb) * np.exp(-lat["alpha"][idx] * np.maximum(s, 0.0))
        + fb * np.exp(-lat["beta"][idx] * np.maximum(s, 0.0))
    )
    pre = cmax * np.exp(rho * np.minimum(s, 0.0))
    return np.where(t < 0, 0.0, np.where(s < 0, pre, post))


def loss_day(lat: dict[str, np.ndarray], threshold: np.ndarray) -> np.ndarray:
    """Day functional CAR T cells are lost: first t >= Tmax with C(t) < threshold.

    The decline is monotone, so a vectorised bisection on log time after Tmax is
    exact to well under a day. Patients who never exceed the threshold lose
    function at Tmax; the search is capped at 20 years.
    """
    cmax, fb = lat["cmax"], lat["fb"]
    alpha, beta = lat["alpha"], lat["beta"]
    ratio = threshold / cmax
    lo = np.zeros_like(cmax)
    hi = np.full_like(cmax, 7300.0)
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        level = (1.0 - fb) * np.exp(-alpha * mid) + fb * np.exp(-beta * mid)
        above = level > ratio
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return lat["tmax"] + np.where(ratio >= 1.0, 0.0, hi)


def b_cell_level(
    lat: dict[str, np.ndarray], idx: np.ndarray, day: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """Latent CD19+ B cells/uL: aplasia while CAR T are functional (B-lineage targets).

    BCMA products do not deplete B cells: they only recover from lymphodepletion.
    ``u`` is a standard-normal draw per row (biological variation of the nadir).
    """
    t = day.astype(float)
    b_norm = lat["b_normal"][idx]
    pre = b_norm * lat["b_pre_factor"][idx]
    aplasia = 0.3 * np.exp(0.6 * u)
    since_loss = np.maximum(t - lat["t_loss"][idx], 0.0)
    b_lineage = np.where(
        t < lat["t_loss"][idx], aplasia, aplasia + b_norm * (1.0 - np.exp(-since_loss / 25.0))
    )
    bcma = aplasia + b_norm * (1.0 - np.exp(-np.maximum(t - 14.0, 0.0) / 45.0))
    post = np.where(lat["target"][idx] == "BCMA", bcma, b_lineage)
    return np.where(t <= 0, pre, post)


def exhaustion_pct(
    lat: dict[str, np.ndarray], idx: np.ndarray, day: np.ndarray, offset: float, u: np.ndarray
) -> np.ndarray:
    """% of circulating CAR T cells carrying an exhaustion marker; rises after the peak."""
    since_peak = np.maximum(day - lat["tmax"][idx], 0.0)
    logit = (
        offset
        + 0.8 * lat["z_exhaust"][idx]
        + 0.3 * lat["z_suppr"][idx]
        + 0.03 * since_peak
        + 0.2 * u
    )
    return 100.0 * expit(logit)


def cytokine_level(
    lat: dict[str, np.ndarray], idx: np.ndarray, day: np.ndarray, marker: str
) -> np.ndarray:
    """Latent IL-6, CRP or ferritin: baseline x CRS-driven bump near the peak, then resolution."""
    t = day.astype(float)
    base = lat[
        {"il6_pg_ml": "il6_base", "crp_mg_l": "crp_base", "ferritin_ng_ml": "ferritin_base"}[marker]
    ][idx]
    amp = np.exp(1.0 + 0.9 * lat["crs_latent"][idx])
    peak = np.maximum(1.0, 0.5 * lat["tmax"][idx])
    width, scale = {"il6_pg_ml": (2.5, 1.0), "crp_mg_l": (3.0, 0.6), "ferritin_ng_ml": (6.0, 0.3)}[
        marker
    ]
    bump = scale * amp * np.exp(-0.5 * ((t - peak - (3.0 if scale < 0.5 else 0.0)) / width) ** 2)
    # After the acute phase inflammation settles to a level set by residual disease.
    resid = np.exp(0.2 * np.clip(np.log10(lat["resid28"][idx]) + 5.0, 0.0, 5.0))
    late = 0.5 * resid
    settle = np.clip((t - 21.0) / 20.0, 0.0, 1.0)
    after = (1.0 - settle) * 1.0 + settle * late
    return base * np.where(t <= 0, 1.0, after + bump)
