"""Response, relapse mechanisms, event times, the exact landmark risk, and censoring.

Primary refractory disease (progression by day 28, never in remission) has a
logistic probability raised by burden, suppression and inflammation and lowered
by the kill index. In remission, four cause-specific cumulative hazards start at
day 28, each ``lambda_k * W((t - start_k) / scale_k, shape_k)`` with ``W`` a Weibull
CDF (so ``1 - exp(-lambda_k)`` is the lifetime share for that cause alone):

* ``antigen_escape``: antigen-negative relapse, driven by the escape propensity
  (antigen-negative subclone, splice isoforms), density below threshold, 4-1BB,
  burden; it does not depend on persistence. Dual CD19/CD22 targeting lowers it.
* ``persistence_loss`` after loss: antigen-positive relapse starting when functional
  CAR T cells are lost (``t_loss``), driven by residual disease at day 28, burden,
  suppression and exhaustion; plus a smaller antigen-positive hazard while CAR T
  cells persist (dominant in lymphoma and myeloma, small in B-ALL).
* ``lineage_switch``: B-ALL only, mostly KMT2A-rearranged disease.

The truth risk is ``1 - exp(-sum_k [Lambda_k(365) - Lambda_k(28)])``, exact.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from relapse_ml.simulate import _params as P

CAUSES = ("antigen_escape", "positive_base", "positive_after", "lineage_switch")
MECHANISM_OF_CAUSE = ("antigen_escape", "persistence_loss", "persistence_loss", "lineage_switch")


def _weibull_cdf(s: np.ndarray, scale: float, shape: float) -> np.ndarray:
    return -np.expm1(-((np.maximum(s, 0.0) / scale) ** shape))


def draw_response(rng: np.random.Generator, lat: dict[str, np.ndarray], landmark: int) -> None:
    """Add refractoriness, residual disease at day 28 and the cause-specific hazards."""
    n = lat["disease"].size
    disease = lat["disease"]
    zb, zi, zs, zx = lat["z_burden"], lat["z_inflam"], lat["z_suppr"], lat["z_exhaust"]
    eps = rng.standard_normal((n, 3))
    logit_ref = (
        P.REFRACTORY_LOGIT[disease]
        + 0.9 * zb
        - 0.9 * lat["kill"]
        + 0.3 * zs
        + 0.3 * zi
        + 0.3 * lat["z_escape"]
    )
    lat["p_refractory"] = expit(logit_ref)
    lat["refractory"] = rng.random(n) < lat["p_refractory"]

    mf = lat["marrow_fraction"]
    lat["resid28_pos"] = mf * 10.0 ** (-4.0 - 0.9 * lat["kill"] + 0.3 * zs + 0.25 * eps[:, 0])
    lat["resid28_neg"] = mf * lat["neg_clone_fraction"] * 3.0
    lat["resid28"] = lat["resid28_pos"] + lat["resid28_neg"]
    resid_log = np.clip(np.log10(lat["resid28_pos"]) + 5.0, -2.0, 5.0)
    marrow_disease = np.isin(disease, (0, 3, 4, 5))
    resid_coef = np.where(marrow_disease, 0.35, 0.15)

    bb = lat["target"] == "BCMA"
    four1bb = ~lat["cd28"]
    dual = lat["target"] == "CD19/CD22"
    lines_c = lat["prior_lines"] - 2.0
    log_esc = (
        P.ESCAPE_LOG[disease]
        + 0.9 * lat["z_escape"]
        + 0.5 * lat["low_density"]
        + 0.3 * zb
        + 0.35 * four1bb
        - 1.0 * dual
        + np.where(disease == 0, 0.08 * lines_c, 0.0)  # prior blinatumomab proxy
    )
    pos_shift = np.array([p[6] for p in P.PRODUCTS])[lat["product"]]
    log_pos = (
        P.POSITIVE_LOG[disease]
        + pos_shift
        + 0.45 * zb
        + 0.35 * zs
        + 0.25 * zx
        + 0.2 * zi
        + resid_coef * resid_log
        - 0.25 * bb * lat["kill"]
    )
    lam_pos = np.exp(log_pos)
    lat["lam_escape"] = np.exp(log_esc)
    lat["lam_pos_base"] = P.POSITIVE_BASE_SHARE[disease] * lam_pos
    lat["lam_pos_after"] = lam_pos
    lat["lam_lineage"] = np.where(
        disease == 0, np.exp(P.LINEAGE_SWITCH_LOG + P.KMT2A_LOG_EFFECT * lat["kmt2a"]), 0.0
    )
    lat["start_after"] = np.maximum(lat["t_loss"], float(landmark))


def _cause_terms(lat: dict[str, np.ndarray], landmark: int) -> list[tuple]:
    """(lambda, start day, scale, shape) of each cause, in ``CAUSES`` order."""
    start = np.full(lat["disease"].size, float(landmark))
    return [
        (lat["lam_escape"], start, *P.ESCAPE_SHAPE),
        (lat["lam_pos_base"], start, *P.POSITIVE_BASE_SHAPE),
        (lat["lam_pos_after"], lat["start_after"], *P.POSITIVE_AFTER_SHAPE),
        (lat["lam_lineage"], start, *P.LINEAGE_SHAPE),
    ]


def cumulative_hazards(lat: dict[str, np.ndarray], landmark: int, day: float) -> np.ndarray:
    """Cause-specific cumulative hazards at ``day`` (n x 4)."""
    return np.column_stack(
        [
            lam * _weibull_cdf(day - start, scale, shape)
            for lam, start, scale, shape in _cause_terms(lat, landmark)
        ]
    )


def draw_events(
    rng: np.random.Generator, lat: dict[str, np.ndarray], landmark: int, horizon: int
) -> None:
    """Draw latent relapse day and mechanism; compute the exact landmark risk."""
    n = lat["disease"].size
    times = np.full((n, len(CAUSES)), np.inf)
    e = rng.exponential(1.0, (n, len(CAUSES)))
    for k, (lam, start, scale, shape) in enumerate(_cause_terms(lat, landmark)):
        hit = e[:, k] < lam
        frac = np.where(hit, e[:, k] / np.where(lam > 0, lam, 1.0), 0.0)
        s = scale * (-np.log1p(-np.minimum(frac, 1.0 - 1e-12))) ** (1.0 / shape)
        times[:, k] = np.where(hit, start + s, np.inf)
    first = np.argmin(times, axis=1)
    t_rel = times[np.arange(n), first]
    ref_day = rng.integers(7, landmark + 1, n).astype(float)
    mechanisms = np.array((*MECHANISM_OF_CAUSE, "none", "primary_refractory"))
    mech_idx = np.where(np.isfinite(t_rel), first, 4)
    lat["mechanism"] = mechanisms[np.where(lat["refractory"], 5, mech_idx)]
    lat["latent_relapse_day"] = np.where(lat["refractory"], ref_day, np.ceil(t_rel))

    h_h = cumulative_hazards(lat, landmark, float(horizon))
    lat["true_risk"] = -np.expm1(-h_h.sum(axis=1))
    share = np.column_stack([h_h[:, 0], h_h[:, 1] + h_h[:, 2], h_h[:, 3]])
    names = np.array(["antigen_escape", "persistence_loss", "lineage_switch"])
    lat["dominant_mechanism"] = names[np.argmax(share, axis=1)]
    lat["risk_escape"] = -np.expm1(-share[:, 0])
    lat["risk_persistence"] = -np.expm1(-share[:, 1])


def draw_follow_up(
    rng: np.random.Generator,
    lat: dict[str, np.ndarray],
    infusion_day: np.ndarray,
    cut_day: int,
    dropout_per_year: float,
    early_dropout_prob: float,
    max_days: int,
) -> None:
    """Censoring: administrative data cut, loss to follow-up / NRM, early dropout."""
    n = infusion_day.size
    admin = cut_day - infusion_day
    dropout = rng.exponential(365.25 / dropout_per_year, n)
    early = rng.random(n) < early_dropout_prob
    dropout = np.where(early, rng.uniform(2.0, 60.0, n), dropout)
    follow = np.minimum(np.minimum(admin, dropout), max_days)
    follow = np.maximum(np.floor(follow), 1.0)
    t_rel = lat["latent_relapse_day"]
    relapse = np.isfinite(t_rel) & (t_rel <= follow)
    lat["relapse"] = relapse
    lat["time_days"] = np.where(relapse, np.maximum(t_rel, 1.0), follow).astype(np.int64)
