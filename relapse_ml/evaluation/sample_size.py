"""Minimum sample size for developing a binary-outcome prediction model (Riley criteria).

Reference: Riley RD, Ensor J, Snell KIE, Harrell FE Jr, Martin GP, Reitsma JB, Moons
KGM, Collins G, van Smeden M. Calculating the sample size required for developing a
clinical prediction model. BMJ 2020;368:m441 (section "Binary outcomes").

With ``P`` candidate predictor parameters, outcome prevalence ``phi`` and anticipated
Cox-Snell R-squared ``R2cs``::

    max(R2cs) = 1 - (phi^phi * (1 - phi)^(1 - phi))^2            (= 1 - exp(2 lnL_null / n))
    (i)   n1 = P / ((S - 1) * ln(1 - R2cs / S))                  expected shrinkage S (0.9)
    (ii)  S_VH = R2cs / (R2cs + delta * max(R2cs))                optimism in Nagelkerke R2
          n2 = P / ((S_VH - 1) * ln(1 - R2cs / S_VH))             <= delta (0.05)
    (iii) n3 = (1.96 / margin)^2 * phi * (1 - phi)                overall risk within
                                                                  +/- margin (0.05)

The required size is the largest, rounded up; events = n * phi; events per parameter
(EPP) = n * phi / P. When only a C statistic is anticipated, ``R2cs`` is derived as in
Riley RD, Van Calster B, Collins GS, Stat Med 2021;40:859-64: the linear predictor is
normal with unit variance in events and non-events, means ``sqrt(2) * Phi^-1(C)`` apart,
and ``R2cs = 1 - exp(-LR / n)`` with ``LR`` the likelihood-ratio statistic of the
(then exactly logistic) model per patient; we compute its large-sample value by
Gauss-Hermite quadrature instead of simulating a large data set.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy.stats import norm

__all__ = [
    "RileySampleSize",
    "events_per_parameter",
    "max_r2_cs",
    "minority_events",
    "r2_cs_from_c_statistic",
    "riley_minimum_sample_size",
]


@dataclass(frozen=True)
class RileySampleSize:
    """Required sample size under each of Riley et al.'s criteria (binary outcome).

    Attributes
    ----------
    n_parameters, prevalence, r2_cs, max_r2_cs, r2_nagelkerke
        Inputs and the implied maximum Cox-Snell and Nagelkerke R-squared.
    shrinkage_target : float
        ``S`` of criterion (i).
    shrinkage_optimism : float
        ``S_VH`` of criterion (ii).
    n_shrinkage, n_optimism, n_intercept : int
        Required patients for criteria (i), (ii), (iii).
    n_required, events_required : int
        The largest of the three, and its expected number of events.
    epp_shrinkage, epp_optimism, epp_intercept, epp_required : float
        Events per candidate parameter implied by each requirement.
    """

    n_parameters: int
    prevalence: float
    r2_cs: float
    max_r2_cs: float
    r2_nagelkerke: float
    shrinkage_target: float
    shrinkage_optimism: float
    n_shrinkage: int
    n_optimism: int
    n_intercept: int
    n_required: int
    events_required: int
    epp_shrinkage: float
    epp_optimism: float
    epp_intercept: float
    epp_required: float

    def to_dict(self) -> dict[str, int | float]:
        """Return the fields as a flat dict (for logging)."""
        return asdict(self)


def max_r2_cs(prevalence: float) -> float:
    """Largest Cox-Snell R-squared possible for a binary outcome with this prevalence."""
    phi = prevalence
    ln_null = phi * math.log(phi) + (1 - phi) * math.log(1 - phi)
    return 1.0 - math.exp(2.0 * ln_null)


def r2_cs_from_c_statistic(c_statistic: float, prevalence: float, n_nodes: int = 80) -> float:
    """Anticipated Cox-Snell R-squared for a model with this C statistic and prevalence.

    See the module docstring (Riley, Van Calster & Collins 2021).
    """
    if not 0.5 <= c_statistic < 1:
        raise ValueError(f"c_statistic must be in [0.5, 1), got {c_statistic}")
    _check_prevalence(prevalence)
    phi = prevalence
    mu = math.sqrt(2.0) * norm.ppf(c_statistic)
    nodes, weights = hermegauss(n_nodes)
    weights = weights / weights.sum()  # expectation over a standard normal
    base = math.log(phi / (1 - phi)) - mu * mu / 2.0

    def log_expit(eta: np.ndarray) -> np.ndarray:
        return -np.logaddexp(0.0, -eta)

    # events: x ~ N(mu, 1); non-events: x ~ N(0, 1); logit P(event | x) = base + mu x
    ll_model = phi * np.sum(weights * log_expit(base + mu * (nodes + mu))) + (1 - phi) * np.sum(
        weights * log_expit(-(base + mu * nodes))
    )
    ll_null = phi * math.log(phi) + (1 - phi) * math.log(1 - phi)
    return float(1.0 - math.exp(-2.0 * (ll_model - ll_null)))


def _check_prevalence(prevalence: float) -> None:
    if not 0 < prevalence < 1:
        raise ValueError(f"prevalence must be in (0, 1), got {prevalence}")


def _n_for_shrinkage(n_parameters: int, r2_cs: float, shrinkage: float) -> float:
    return n_parameters / ((shrinkage - 1.0) * math.log(1.0 - r2_cs / shrinkage))


def riley_minimum_sample_size(
    n_parameters: int,
    prevalence: float,
    *,
    r2_cs: float | None = None,
    c_statistic: float | None = None,
    shrinkage: float = 0.9,
    optimism_delta: float = 0.05,
    intercept_margin: float = 0.05,
) -> RileySampleSize:
    """Minimum development sample size by Riley et al. (BMJ 2020;368:m441).

    Parameters
    ----------
    n_parameters : int
        Candidate predictor parameters (all considered, not only those kept).
    prevalence : float
        Anticipated outcome proportion.
    r2_cs, c_statistic : float
        Exactly one: anticipated Cox-Snell R-squared, or anticipated C statistic
        (converted by :func:`r2_cs_from_c_statistic`).
    shrinkage : float, default 0.9
        Target expected uniform shrinkage factor, criterion (i).
    optimism_delta : float, default 0.05
        Largest acceptable optimism in Nagelkerke R-squared, criterion (ii).
    intercept_margin : float, default 0.05
        Margin of error for the overall risk, criterion (iii).

    Returns
    -------
    RileySampleSize
    """
    if (r2_cs is None) == (c_statistic is None):
        raise ValueError("give exactly one of r2_cs and c_statistic")
    if n_parameters < 1:
        raise ValueError(f"n_parameters must be >= 1, got {n_parameters}")
    _check_prevalence(prevalence)
    if not 0 < shrinkage < 1:
        raise ValueError(f"shrinkage must be in (0, 1), got {shrinkage}")
    r2 = r2_cs if r2_cs is not None else r2_cs_from_c_statistic(c_statistic, prevalence)
    r2_max = max_r2_cs(prevalence)
    if not 0 < r2 < r2_max:
        raise ValueError(f"r2_cs must be in (0, {r2_max:.4f}) for prevalence {prevalence}")
    if r2 >= shrinkage:
        raise ValueError("r2_cs must be below the target shrinkage")
    s_vh = r2 / (r2 + optimism_delta * r2_max)
    n1 = math.ceil(_n_for_shrinkage(n_parameters, r2, shrinkage))
    n2 = math.ceil(_n_for_shrinkage(n_parameters, r2, s_vh))
    n3 = math.ceil((1.96 / intercept_margin) ** 2 * prevalence * (1 - prevalence))
    n = max(n1, n2, n3)

    def epp(size: int) -> float:
        return size * prevalence / n_parameters

    return RileySampleSize(
        n_parameters=int(n_parameters),
        prevalence=float(prevalence),
        r2_cs=float(r2),
        max_r2_cs=r2_max,
        r2_nagelkerke=float(r2 / r2_max),
        shrinkage_target=float(shrinkage),
        shrinkage_optimism=float(s_vh),
        n_shrinkage=n1,
        n_optimism=n2,
        n_intercept=n3,
        n_required=n,
        events_required=math.ceil(n * prevalence),
        epp_shrinkage=epp(n1),
        epp_optimism=epp(n2),
        epp_intercept=epp(n3),
        epp_required=epp(n),
    )


def minority_events(y: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    """(Weighted) number of patients in the smaller outcome class: the "events" of EPP rules.

    Parameters
    ----------
    y : array-like of shape (n,)
        Binary outcome.
    sample_weight : array-like of shape (n,), optional
        Patient weights (e.g. IPCW); 1 each when omitted.
    """
    y = np.asarray(y).astype(bool)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    return min(float(w[y].sum()), float(w[~y].sum()))


def events_per_parameter(events: float, n_parameters: int) -> float:
    """Events per candidate predictor parameter.

    Parameters
    ----------
    events : float
        Number of patients in the smaller outcome class (usually the events).
    n_parameters : int
        Candidate predictor parameters (dummy variables and spline terms count).
    """
    if n_parameters < 1:
        raise ValueError(f"n_parameters must be >= 1, got {n_parameters}")
    if events < 0:
        raise ValueError(f"events must be >= 0, got {events}")
    return float(events) / n_parameters
