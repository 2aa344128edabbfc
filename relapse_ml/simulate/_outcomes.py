"""Response, relapse mechanisms, competing non-relapse death, event times and censoring.

Primary refractory disease (progression by day 28, never in remission) has a
logistic probability raised by burden, suppression and inflammation and lowered
by the kill index; it is part of the latent state (the response at day 28). In
remission, four cause-specific cumulative hazards start at day 28, each
``lambda_k * W((t - start_k) / scale_k, shape_k)`` with ``W`` a Weibull CDF (so
``1 - exp(-lambda_k)`` is the lifetime share for that cause alone):

* ``antigen_escape``: antigen-negative relapse, driven by the escape propensity
  (antigen-negative subclone, splice isoforms), density below threshold, 4-1BB,
  burden; it does not depend on persistence. Dual CD19/CD22 targeting lowers it.
* ``persistence_loss`` after loss: antigen-positive relapse starting when functional
  CAR T cells are lost (``t_loss``), driven by residual disease at day 28, burden,
  suppression and exhaustion; plus a smaller antigen-positive hazard while CAR T
  cells persist (dominant in lymphoma and myeloma, small in B-ALL).
* ``lineage_switch``: B-ALL only, mostly KMT2A-rearranged disease.

Non-relapse death (``_nrm``) has its own cause-specific hazard from day 0.
Each cause gets an independent latent time; the first one is the patient's event
(refractory progression happens on a drawn day 7-28 unless death comes first), so
relapse and death are competing risks with exactly these cause-specific hazards.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from relapse_ml.simulate import _params as P
from relapse_ml.simulate._nrm import draw_death_times

CAUSES = ("antigen_escape", "positive_base", "positive_after", "lineage_switch")
MECHANISM_OF_CAUSE = ("antigen_escape", "persistence_loss", "persistence_loss", "lineage_switch")
# Kind of relapse each cause gives, for the product's target ("negative" means negative
# for every targeted antigen, e.g. CD19 and CD22 for dual targeting): lineage switch
# (myeloid conversion) loses the B-lineage target, so it counts as antigen-negative.
ANTIGEN_OF_CAUSE = ("negative", "positive", "positive", "negative")
NEGATIVE_MECHANISMS = ("antigen_escape", "lineage_switch")


def weibull_cdf(s: np.ndarray, scale: float, shape: float) -> np.ndarray:
    """Weibull CDF at ``s`` (0 for ``s <= 0``): the time shape of each relapse cause."""
    return -np.expm1(-((np.maximum(s, 0.0) / scale) ** shape))


def draw_response(rng: np.random.Generator, lat: dict[str, np.ndarray]) -> None:
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
    lat["start_after"] = np.maximum(lat["t_loss"], P.RESPONSE_DAY)


def cause_terms(lat: dict[str, np.ndarray], landmark: float = P.RESPONSE_DAY) -> list[tuple]:
    """(lambda, start day, scale, shape) of each cause, in ``CAUSES`` order."""
    start = np.full(lat["disease"].size, float(landmark))
    return [
        (lat["lam_escape"], start, *P.ESCAPE_SHAPE),
        (lat["lam_pos_base"], start, *P.POSITIVE_BASE_SHAPE),
        (lat["lam_pos_after"], lat["start_after"], *P.POSITIVE_AFTER_SHAPE),
        (lat["lam_lineage"], start, *P.LINEAGE_SHAPE),
    ]


def cumulative_hazards(lat: dict[str, np.ndarray], landmark: float, day: float) -> np.ndarray:
    """Cause-specific relapse cumulative hazards at ``day`` (n x 4), starting at ``landmark``."""
    return np.column_stack(
        [
            lam * weibull_cdf(day - start, scale, shape)
            for lam, start, scale, shape in cause_terms(lat, landmark)
        ]
    )


def cause_hazards(lat: dict[str, np.ndarray], idx: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Cause-specific relapse hazards (per day) of rows (patient ``idx``, ``day``), (m x 4).

    The latent marrow disease in ``_observation`` is proportional to these hazards:
    a function of the latent state, never of the realised relapse day.
    """
    t = np.asarray(day, dtype=float)
    out = []
    for lam, start, scale, shape in cause_terms(lat):
        s = np.maximum(t - start[idx], 0.0) / scale
        dens = (shape / scale) * np.power(s, shape - 1.0, where=s > 0, out=np.zeros_like(s))
        out.append(np.where(s > 0, lam[idx] * dens * np.exp(-(s**shape)), 0.0))
    return np.column_stack(out)


def draw_events(rng: np.random.Generator, lat: dict[str, np.ndarray], max_days: int) -> None:
    """Draw the realised event: relapse (day, mechanism) or non-relapse death, first wins.

    Sets ``mechanism`` (of the relapse that happens; ``none`` when death comes first
    or nothing happens within ``max_days``), ``latent_relapse_day`` and
    ``latent_death_day`` (inf when that event is not the first one), and the
    latent-only summaries ``dominant_mechanism``, ``risk_escape`` and
    ``risk_persistence`` (day 28-365, each hazard alone, no competing death).
    """
    n = lat["disease"].size
    times = np.full((n, len(CAUSES)), np.inf)
    e = rng.exponential(1.0, (n, len(CAUSES)))
    for k, (lam, start, scale, shape) in enumerate(cause_terms(lat)):
        hit = e[:, k] < lam
        frac = np.where(hit, e[:, k] / np.where(lam > 0, lam, 1.0), 0.0)
        s = scale * (-np.log1p(-np.minimum(frac, 1.0 - 1e-12))) ** (1.0 / shape)
        times[:, k] = np.where(hit, start + s, np.inf)
    first = np.argmin(times, axis=1)
    t_rel = times[np.arange(n), first]
    ref_day = rng.integers(7, int(P.RESPONSE_DAY) + 1, n).astype(float)
    t_rel = np.where(lat["refractory"], ref_day, t_rel)
    t_death = draw_death_times(rng, lat, float(max_days))

    death_first = t_death < t_rel
    rel_day = np.where(death_first | ~np.isfinite(t_rel), np.inf, np.ceil(t_rel))
    rel_day = np.where(rel_day > max_days, np.inf, rel_day)
    death_day = np.where(death_first, np.ceil(t_death), np.inf)
    death_day = np.where(death_day > max_days, np.inf, death_day)
    mechanisms = np.array((*MECHANISM_OF_CAUSE, "none", "primary_refractory"))
    mech_idx = np.where(lat["refractory"], 5, first)
    lat["mechanism"] = mechanisms[np.where(np.isfinite(rel_day), mech_idx, 4)]
    lat["latent_relapse_day"] = rel_day
    lat["latent_death_day"] = death_day

    h_h = cumulative_hazards(lat, P.RESPONSE_DAY, 365.0)
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
    """Censoring (data cut, loss to follow-up, early transfer) of the realised event."""
    n = infusion_day.size
    admin = cut_day - infusion_day
    dropout = rng.exponential(365.25 / dropout_per_year, n)
    early = rng.random(n) < early_dropout_prob
    dropout = np.where(early, rng.uniform(2.0, 60.0, n), dropout)
    follow = np.minimum(np.minimum(admin, dropout), max_days)
    follow = np.maximum(np.floor(follow), 1.0)
    t_rel, t_death = lat["latent_relapse_day"], lat["latent_death_day"]
    relapse = t_rel <= follow
    death = t_death <= follow
    lat["relapse"] = relapse
    lat["death_without_relapse"] = death
    time = np.where(relapse, t_rel, np.where(death, t_death, follow))
    lat["time_days"] = np.maximum(time, 1.0).astype(np.int64)
