"""Mechanistic simulator of a CAR T-cell therapy cohort, grounded in shared/spec/domain.md.

``simulate_cohort(n, seed)`` returns the three contract tables (values ready to
write: booleans as ``"true"``/``"false"``, ISO dates, missing as NaN/NA) and a truth
table. Independent generators spawned from ``numpy.random.SeedSequence(seed)`` (one
each for the latent state, the realised events, the registry, the observations and
the tables) draw everything in a fixed order, fully vectorised, so the same seed
gives the same tables, and redrawing the events leaves every measurement draw alone.

Latent model (see the module docstrings of ``_latent``, ``_kinetics``, ``_outcomes``,
``_nrm``, ``_truth`` and ``_observation`` for the equations, ``_params`` for the
sourced constants): tumour burden, inflammation, suppressive microenvironment,
product memory and exhaustion, and antigen-escape propensity (antigen-negative
subclone, splice isoforms, antigen density) are correlated latent factors. CAR T
kinetics follow Stein 2019 (expansion to Tmax, two-phase decline) with covariate and
between-patient variability; functional CAR T loss ends B-cell aplasia. Relapse
arises from named mechanisms with disease-specific rates; non-relapse death (NRM,
highest in the first months, raised by age, prior lines, inflammation, marrow burden
and grade >= 3 CRS/ICANS; ~6 % at one year) competes with it. The observed outcome
is the first of relapse, death and loss to follow-up. Everything is observed through
a messy registry (jittered and missed visits, lab noise, LLOQ, replicates, centre
effects, missing values, censoring). Measurements depend on the latent state only;
the realised event day only ends observation.

Truth table columns
-------------------
patient_id
true_risk
    ``true_risk_L28_H365``: the primary task's true cumulative incidence of relapse.
mechanism
    Mechanism of the patient's relapse when relapse is the first event (uncensored):
    ``antigen_escape``, ``persistence_loss``, ``lineage_switch``,
    ``primary_refractory``, or ``none`` (non-relapse death first, or no event within
    3650 days).
observed_mechanism
    ``mechanism`` when the outcomes table shows the relapse, else ``none``.
dominant_mechanism
    Mechanism with the largest share of the day 28-365 relapse cumulative hazard.
risk_escape, risk_persistence
    Day 28-365 risk from the antigen-escape hazard alone / the antigen-positive
    (persistence-loss) hazards alone (net: no competing cause, no death).
primary_refractory
    ``true`` when the latent response at day 28 is no remission (progression by day
    28 unless death comes first).
latent_relapse_day, latent_death_day
    Uncensored day of the first event when it is a relapse / a non-relapse death
    (empty otherwise or beyond 3650 days).
t_loss_day
    Day functional CAR T cells are lost (B-cell aplasia ends for B-lineage targets).
cmax_copies_ug, tmax_day
    Latent Stein-model peak transgene level and time to peak.
product
    Product class (tisa, axi, liso, brexu, cd22, cd19cd22, ide, cilta).
kmt2a
    KMT2A rearrangement (B-ALL lineage-switch risk).
z_burden, z_escape, z_memory, z_exhaust, z_suppr, z_inflam
    Latent standard-normal factors.
true_risk_L{L}_H{H}, true_death_L{L}_H{H}
    For every ``(L, H)`` in ``TRUTH_PAIRS`` (L in ``TRUTH_LANDMARKS`` = 28, 90, 180;
    H in ``TRUTH_HORIZONS`` = 180, 365, 730; H > L): the true cumulative incidence by
    day H of relapse / of non-relapse death, the other competing, for the patient
    alive and relapse-free at day L, given the latent state (the cause-specific
    hazards; never the realised event). Defined for every patient whatever happened
    to them in the simulation, except primary-refractory patients (progression by
    day 28 is certain, so the conditioning event has probability zero): NaN there.
true_risk_antigen_negative_L{L}_H{H}, true_risk_antigen_positive_L{L}_H{H}
    Same conditioning: the true cumulative incidence by day H of antigen-negative
    relapse (``antigen_escape`` or ``lineage_switch``: negative for the product's
    target, for both antigens under CD19/CD22 dual targeting) / of antigen-positive
    relapse, every other event competing. They add up to ``true_risk_L{L}_H{H}``
    (``round(negative + positive, 6) == risk`` exactly). The outcomes table's
    ``relapse_antigen`` is the realised kind (``unknown`` for a random share,
    ``SimulationConfig.unknown_antigen_prob``).
true_antigen_negative_share_L{L}_H{H}
    P(antigen-negative | relapse in (L, H]) = negative / risk, from the unrounded
    incidences; NaN where the relapse incidence is 0 or undefined.
"""

from __future__ import annotations

from relapse_ml.simulate._cohort import SimulatedCohort, simulate
from relapse_ml.simulate._config import SimulationConfig
from relapse_ml.simulate._truth import (
    PRIMARY_HORIZON,
    PRIMARY_LANDMARK,
    TRUTH_HORIZONS,
    TRUTH_LANDMARKS,
    TRUTH_PAIRS,
    antigen_negative_column,
    antigen_negative_share_column,
    antigen_positive_column,
    death_column,
    risk_column,
)

__all__ = [
    "PRIMARY_HORIZON",
    "PRIMARY_LANDMARK",
    "TRUTH_HORIZONS",
    "TRUTH_LANDMARKS",
    "TRUTH_PAIRS",
    "SimulatedCohort",
    "SimulationConfig",
    "antigen_negative_column",
    "antigen_negative_share_column",
    "antigen_positive_column",
    "death_column",
    "risk_column",
    "simulate_cohort",
]


def simulate_cohort(n: int, seed: int, config: SimulationConfig | None = None) -> SimulatedCohort:
    """Simulate ``n`` CAR T-treated patients.

    Parameters
    ----------
    n : int
        Number of patients (>= 1).
    seed : int
        Seed of the random streams; same seed and config, same tables.
    config : SimulationConfig, optional
        Knobs; defaults follow domain.md.

    Returns
    -------
    SimulatedCohort
        Patients, measurements, outcomes and truth tables.
    """
    return simulate(n, seed, config)
