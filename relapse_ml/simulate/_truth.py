"""True conditional cumulative incidences per (landmark, horizon), relapse and NRM competing.

For a patient in remission (latent state fixed), with ``R(t)`` the summed relapse
cumulative hazard (from day 28), ``D(t)`` the NRM cumulative hazard (from day 0) and
``S(t) = exp(-R(t) - D(t))`` the event-free survival::

    CIF_relapse(H | L) = integral_L^H r(t) S(t) / S(L) dt
    CIF_death(H | L)   = integral_L^H d(t) S(t) / S(L) dt

Both are computed on a one-day grid with the exact cumulative hazards at the grid
points: the probability of an event in ``(t_j, t_j+1]`` is ``S(t_j) (1 - exp(-dR - dD))``
(exact) and is shared between the causes in proportion ``dR : dD`` (exact when their
hazard ratio is constant over the day; against adaptive quadrature the error is
below 1e-6). So each CIF is
non-decreasing in H, ``CIF_relapse + CIF_death = 1 - S(H) / S(L) <= 1`` holds to
rounding, and without NRM ``CIF_relapse`` equals ``1 - exp(-(R(H) - R(L)))`` exactly.

Primary-refractory patients progress by day 28 in the latent model, so being
event-free at any L >= 28 has probability zero for them: their values are NaN.
"""

from __future__ import annotations

import numpy as np

from relapse_ml.simulate import _params as P
from relapse_ml.simulate._nrm import nrm_cumulative_hazard
from relapse_ml.simulate._outcomes import cause_terms, weibull_cdf

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


def conditional_incidences(lat: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """True ``CIF_relapse(H | L)`` and ``CIF_death(H | L)`` for every pair in ``TRUTH_PAIRS``.

    Parameters
    ----------
    lat : dict of str to ndarray
        Latent state after ``draw_response`` and ``nrm_terms``.

    Returns
    -------
    dict of str to ndarray
        ``risk_column(L, H)`` and ``death_column(L, H)`` -> one value per patient
        (NaN for primary-refractory patients).
    """
    n = lat["disease"].size
    start = int(P.RESPONSE_DAY)
    if min(TRUTH_LANDMARKS) < start:
        raise ValueError("truth landmarks must be on or after the response day")
    grid = np.arange(start, max(TRUTH_HORIZONS) + 1, dtype=float)
    terms = cause_terms(lat)
    out = {c(lm, hz): np.empty(n) for lm, hz in TRUTH_PAIRS for c in (risk_column, death_column)}
    for lo in range(0, n, _CHUNK):
        sl = slice(lo, min(lo + _CHUNK, n))
        rel = sum(
            lam[sl, None] * weibull_cdf(grid[None, :] - st[sl, None], scale, shape)
            for lam, st, scale, shape in terms
        )
        sub = {"nrm_m": lat["nrm_m"][sl], "nrm_tox": lat["nrm_tox"][sl]}
        death = nrm_cumulative_hazard(sub, np.broadcast_to(grid, rel.shape))
        surv = np.exp(-(rel + death))
        d_rel, d_death = np.diff(rel, axis=1), np.diff(death, axis=1)
        d_all = d_rel + d_death
        p_event = surv[:, :-1] * -np.expm1(-d_all)
        share = np.divide(d_rel, d_all, out=np.zeros_like(d_all), where=d_all > 0)
        zero = np.zeros((rel.shape[0], 1))
        f_rel = np.hstack([zero, np.cumsum(p_event * share, axis=1)])
        f_death = np.hstack([zero, np.cumsum(p_event * (1.0 - share), axis=1)])
        for lm, hz in TRUTH_PAIRS:
            i, j = lm - start, hz - start
            out[risk_column(lm, hz)][sl] = (f_rel[:, j] - f_rel[:, i]) / surv[:, i]
            out[death_column(lm, hz)][sl] = (f_death[:, j] - f_death[:, i]) / surv[:, i]
    refractory = lat["refractory"]
    for values in out.values():
        np.clip(values, 0.0, 1.0, out=values)
        values[refractory] = np.nan
    return out
