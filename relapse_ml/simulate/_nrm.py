"""Non-relapse mortality (NRM): a cause-specific death hazard from the latent state.

For patient i, on day t >= 0 after infusion::

    h_i(t) = m_i * (tox_i * A * exp(-t / TAU) + B * exp(-t / TAU_LATE))
    D_i(t) = m_i * (tox_i * A * TAU * (1 - exp(-t / TAU)) + B * TAU_LATE * (1 - exp(-t / TAU_LATE)))

The first term is the early phase (infections during cytopenia and
hypogammaglobulinaemia, toxicity), highest right after infusion and fading over
the first months; the second is a small, slowly fading late hazard. ``m_i`` carries disease,
product, age, prior lines and a CAR-HEMATOTOX-like score (inflammation plus marrow
burden); ``tox_i`` raises the early phase after grade >= 3 CRS or ICANS. Constants
and sources are in ``_params``. The hazard depends only on the latent state, never
on the realised relapse.
"""

from __future__ import annotations

import numpy as np

from relapse_ml.simulate import _params as P


def nrm_terms(lat: dict[str, np.ndarray]) -> None:
    """Add the NRM multipliers ``nrm_m`` and ``nrm_tox`` (per patient) to ``lat``."""
    product_shift = np.array([P.NRM_PRODUCT_LOG.get(name, 0.0) for name in P.PRODUCT_NAMES])
    decades = np.clip((lat["age"] - 60.0) / 10.0, -3.0, 3.0)
    log_m = (
        P.NRM_LOG[lat["disease"]]
        + product_shift[lat["product"]]
        + P.NRM_AGE_PER_DECADE * decades
        + P.NRM_LINES * (lat["prior_lines"] - 3.0)
        + P.NRM_INFLAM * lat["z_inflam"]
        + P.NRM_BURDEN * lat["z_burden"]
    )
    lat["nrm_m"] = np.exp(log_m)
    lat["nrm_tox"] = np.exp(
        P.NRM_SEVERE_CRS * (lat["crs_grade"] >= 3) + P.NRM_SEVERE_ICANS * (lat["icans_grade"] >= 3)
    )


def nrm_cumulative_hazard(lat: dict[str, np.ndarray], day: np.ndarray) -> np.ndarray:
    """NRM cumulative hazard ``D_i(day)``; ``day`` broadcasts against ``(n, 1)`` or ``(n,)``.

    Parameters
    ----------
    lat : dict of str to ndarray
        Latent state with ``nrm_m`` and ``nrm_tox``.
    day : float or ndarray
        Days after infusion (negative days count as 0).

    Returns
    -------
    ndarray
        ``D_i(day)``, same broadcast shape as ``m_i * day``.
    """
    t = np.maximum(np.asarray(day, dtype=float), 0.0)
    m, tox = lat["nrm_m"], lat["nrm_tox"]
    if t.ndim == 2:
        m, tox = m[:, None], tox[:, None]
    early = P.NRM_A * P.NRM_TAU * -np.expm1(-t / P.NRM_TAU)
    late = P.NRM_B * P.NRM_TAU_LATE * -np.expm1(-t / P.NRM_TAU_LATE)
    return m * (tox * early + late)


def draw_death_times(rng: np.random.Generator, lat: dict[str, np.ndarray], max_days: float):
    """Latent NRM day of every patient (inf beyond ``max_days``), by inverting ``D_i``.

    ``D_i`` is increasing, so bisection on ``D_i(t) = E_i`` with ``E_i ~ Exp(1)``
    is exact to well under a day (50 halvings of ``max_days``). ``D_i`` is bounded,
    so some patients never die of NRM.
    """
    n = lat["disease"].size
    e = rng.exponential(1.0, n)
    lo = np.zeros(n)
    hi = np.full(n, float(max_days))
    reached = nrm_cumulative_hazard(lat, hi) >= e
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        below = nrm_cumulative_hazard(lat, mid) < e
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return np.where(reached, hi, np.inf)
