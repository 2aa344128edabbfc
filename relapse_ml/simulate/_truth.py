"""True conditional cumulative incidences per (landmark, horizon), relapse and NRM competing.

For a patient in remission (latent state fixed), with ``R(t)`` the summed relapse
cumulative hazard (from day 28), ``D(t)`` the NRM cumulative hazard (from day 0) and
``S(t) = exp(-R(t) - D(t))`` the event-free survival::

    CIF_relapse(H | L) = integral_L^H r(t) S(t) / S(L) dt
    CIF_death(H | L)   = integral_L^H d(t) S(t) / S(L) dt

The relapse incidence splits by kind: with ``r_neg`` the antigen-negative hazards
(``antigen_escape`` + ``lineage_switch``) and ``r_pos`` the antigen-positive ones
(``positive_base`` + ``positive_after``), ``r = r_neg + r_pos`` and::

    CIF_negative(H | L) = integral_L^H r_neg(t) S(t) / S(L) dt
    CIF_positive(H | L) = integral_L^H r_pos(t) S(t) / S(L) dt

so ``CIF_negative + CIF_positive = CIF_relapse``; the antigen-negative share of the
relapses in ``(L, H]`` is ``CIF_negative / CIF_relapse``.

All are computed on a one-day grid with the exact cumulative hazards at the grid
points: the probability of an event in ``(t_j, t_j+1]`` is ``S(t_j) (1 - exp(-dR - dD))``
(exact) and is shared between the causes in proportion ``dR_neg : dR_pos : dD``
(exact when their hazard ratios are constant over the day; against adaptive
quadrature the error is below 1e-6). So each CIF is
non-decreasing in H, ``CIF_relapse + CIF_death = 1 - S(H) / S(L) <= 1`` holds to
rounding, and without NRM ``CIF_relapse`` equals ``1 - exp(-(R(H) - R(L)))`` exactly.

Primary-refractory patients progress by day 28 in the latent model, so being
event-free at any L >= 28 has probability zero for them: their values are NaN.
"""

from __future__ import annotations

import numpy as np

from relapse_ml.simulate import _params as P
from relapse_ml.simulate._nrm import nrm_cumulative_hazard
from relapse_ml.simulate._outcomes import ANTIGEN_OF_CAUSE, cause_terms, weibull_cdf

TRUTH_LANDMARKS: tuple[int, ...] = (28, 90, 180)
TRUTH_HORIZONS: tuple[int, ...] = (180, 365, 730)
TRUTH_PAIRS: tuple[tuple[int, int], ...] = tuple(
    (lm, hz) for lm in TRUTH_LANDMARKS for hz in TRUTH_HORIZONS if hz > lm
)
# ``true_risk`` is the primary task's value (the contract's default landmark and horizon).
PRIMARY_LANDMARK, PRIMARY_HORIZON = 28, 365
_CHUNK = 2048  # patients per block: keeps the (patients x days) arrays near 10 MB


def risk_column(landmark: int, horizon: int) -> str:
    """Truth column of the relapse cumulative incidence by ``horizon`` given event-free at ``landmark``."""
    return f"true_risk_L{landmark}_H{horizon}"


def death_column(landmark: int, horizon: int) -> str:
    """Truth column of the non-relapse death cumulative incidence, same conditioning."""
    return f"true_death_L{landmark}_H{horizon}"


def antigen_negative_column(landmark: int, horizon: int) -> str:
    """Truth column of the antigen-negative relapse cumulative incidence, same conditioning.

    Antigen-negative means negative for the product's target (for every targeted
    antigen under dual targeting); lineage switch counts as antigen-negative.
    """
    return f"true_risk_antigen_negative_L{landmark}_H{horizon}"


def antigen_positive_column(landmark: int, horizon: int) -> str:
    """Truth column of the antigen-positive relapse cumulative incidence, same conditioning."""
    return f"true_risk_antigen_positive_L{landmark}_H{horizon}"


def antigen_negative_share_column(landmark: int, horizon: int) -> str:
    """Truth column of P(antigen-negative | relapse in (landmark, horizon])."""
    return f"true_antigen_negative_share_L{landmark}_H{horizon}"


INCIDENCE_COLUMNS = (risk_column, death_column, antigen_negative_column, antigen_positive_column)


def _cumulative(d_cause: np.ndarray, d_all: np.ndarray, p_event: np.ndarray) -> np.ndarray:
    """Unconditional incidence of one cause at each grid day (0 at the first day)."""
    share = np.divide(d_cause, d_all, out=np.zeros_like(d_all), where=d_all > 0)
    zero = np.zeros((d_all.shape[0], 1))
    return np.hstack([zero, np.cumsum(p_event * share, axis=1)])


def conditional_incidences(lat: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """True conditional cumulative incidences for every pair in ``TRUTH_PAIRS``.

    Parameters
    ----------
    lat : dict of str to ndarray
        Latent state after ``draw_response`` and ``nrm_terms``.

    Returns
    -------
    dict of str to ndarray
        ``risk_column(L, H)`` (relapse), ``death_column(L, H)`` (non-relapse death),
        ``antigen_negative_column(L, H)`` and ``antigen_positive_column(L, H)`` (the
        two kinds of relapse; they add up to the relapse incidence to float
        precision) and ``antigen_negative_share_column(L, H)`` (their ratio to the
        relapse incidence; NaN where that is 0) -> one value per patient (NaN for
        primary-refractory patients). Unrounded.
    """
    n = lat["disease"].size
    start = int(P.RESPONSE_DAY)
    if min(TRUTH_LANDMARKS) < start:
        raise ValueError("truth landmarks must be on or after the response day")
    grid = np.arange(start, max(TRUTH_HORIZONS) + 1, dtype=float)
    terms = cause_terms(lat)
    out = {c(lm, hz): np.empty(n) for lm, hz in TRUTH_PAIRS for c in INCIDENCE_COLUMNS}
    for lo in range(0, n, _CHUNK):
        sl = slice(lo, min(lo + _CHUNK, n))
        rel = {kind: np.zeros((sl.stop - sl.start, grid.size)) for kind in ("negative", "positive")}
        for kind, (lam, st, scale, shape) in zip(ANTIGEN_OF_CAUSE, terms, strict=True):
            rel[kind] += lam[sl, None] * weibull_cdf(grid[None, :] - st[sl, None], scale, shape)
        sub = {"nrm_m": lat["nrm_m"][sl], "nrm_tox": lat["nrm_tox"][sl]}
        death = nrm_cumulative_hazard(sub, np.broadcast_to(grid, rel["negative"].shape))
        surv = np.exp(-(rel["negative"] + rel["positive"] + death))
        d_neg, d_pos = np.diff(rel["negative"], axis=1), np.diff(rel["positive"], axis=1)
        d_death = np.diff(death, axis=1)
        d_all = d_neg + d_pos + d_death
        p_event = surv[:, :-1] * -np.expm1(-d_all)
        f_neg, f_pos, f_death = (_cumulative(d, d_all, p_event) for d in (d_neg, d_pos, d_death))
        for lm, hz in TRUTH_PAIRS:
            i, j = lm - start, hz - start
            neg = (f_neg[:, j] - f_neg[:, i]) / surv[:, i]
            pos = (f_pos[:, j] - f_pos[:, i]) / surv[:, i]
            out[antigen_negative_column(lm, hz)][sl] = neg
            out[antigen_positive_column(lm, hz)][sl] = pos
            out[risk_column(lm, hz)][sl] = neg + pos
            out[death_column(lm, hz)][sl] = (f_death[:, j] - f_death[:, i]) / surv[:, i]
    for values in out.values():
        np.clip(values, 0.0, 1.0, out=values)
    for lm, hz in TRUTH_PAIRS:
        risk, neg = out[risk_column(lm, hz)], out[antigen_negative_column(lm, hz)]
        share = np.full(n, np.nan)
        np.divide(neg, risk, out=share, where=risk > 0)
        out[antigen_negative_share_column(lm, hz)] = np.clip(share, 0.0, 1.0)
    for values in out.values():
        values[lat["refractory"]] = np.nan
    return out
