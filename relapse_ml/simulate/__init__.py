"""Mechanistic simulator of a CAR T-cell therapy cohort, grounded in shared/spec/domain.md.

``simulate_cohort(n, seed)`` returns the three contract tables (values ready to
write: booleans as ``"true"``/``"false"``, ISO dates, missing as NaN/NA) and a truth
table. One ``numpy.random.default_rng(seed)`` generator draws everything in a fixed
order, fully vectorised, so the same seed gives the same tables.

Latent model (see the module docstrings of ``_latent``, ``_kinetics``, ``_outcomes``
and ``_observation`` for the equations, ``_params`` for the sourced constants):
tumour burden, inflammation, suppressive microenvironment, product memory and
exhaustion, and antigen-escape propensity (antigen-negative subclone, splice
isoforms, antigen density) are correlated latent factors. CAR T kinetics follow
Stein 2019 (expansion to Tmax, two-phase decline) with covariate and between-
patient variability; functional CAR T loss ends B-cell aplasia. Relapse arises
from named mechanisms with disease-specific rates; everything is then observed
through a messy registry (jittered and missed visits, lab noise, LLOQ, replicates,
centre effects, missing values, censoring).

Truth table columns
-------------------
patient_id
true_risk
    Exact P(relapse by day 365 | relapse-free and in follow-up at day 28), from the
    latent cause-specific cumulative hazards (no sampling). Computed for every
    patient; for primary-refractory patients it is the risk they would have had
    had they reached remission (they are not part of the landmark task).
mechanism
    Latent (uncensored) mechanism of the patient's relapse: ``antigen_escape``,
    ``persistence_loss``, ``lineage_switch``, ``primary_refractory`` or ``none``
    (no relapse within 3650 days).
observed_mechanism
    ``mechanism`` when the outcomes table shows the relapse, else ``none``.
dominant_mechanism
    Mechanism with the largest share of the day 28-365 cumulative hazard.
risk_escape, risk_persistence
    Day 28-365 risk from the antigen-escape hazard alone / the antigen-positive
    (persistence-loss) hazards alone.
primary_refractory
    ``true`` when progression happened by day 28 without remission.
latent_relapse_day
    Uncensored relapse day (empty when none within 3650 days).
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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from relapse_ml.schema import load_contract
from relapse_ml.simulate._config import SimulationConfig
from relapse_ml.simulate._kinetics import draw_kinetics
from relapse_ml.simulate._latent import draw_latent
from relapse_ml.simulate._observation import build_measurements
from relapse_ml.simulate._outcomes import draw_events, draw_follow_up, draw_response
from relapse_ml.simulate._tables import build_outcomes, build_patients, build_truth

__all__ = ["SimulatedCohort", "SimulationConfig", "simulate_cohort"]


@dataclass(frozen=True)
class SimulatedCohort:
    """A simulated cohort: the three contract tables plus the latent truth.

    Attributes
    ----------
    patients, measurements, outcomes : DataFrame
        Exactly the contract columns, values ready to write.
    truth : DataFrame
        One row per patient; columns documented in the package docstring.
    """

    patients: pd.DataFrame
    measurements: pd.DataFrame
    outcomes: pd.DataFrame
    truth: pd.DataFrame


def simulate_cohort(n: int, seed: int, config: SimulationConfig | None = None) -> SimulatedCohort:
    """Simulate ``n`` CAR T-treated patients.

    Parameters
    ----------
    n : int
        Number of patients (>= 1).
    seed : int
        Seed of the single random generator; same seed and config, same tables.
    config : SimulationConfig, optional
        Knobs; defaults follow domain.md.

    Returns
    -------
    SimulatedCohort
        Patients, measurements, outcomes and truth tables.
    """
    if int(n) < 1:
        raise ValueError("n must be >= 1")
    n = int(n)
    cfg = config if config is not None else SimulationConfig()
    contract = load_contract()
    landmark, horizon = contract.default_landmark_day, contract.default_horizon_days
    rng = np.random.default_rng(seed)

    lat = draw_latent(n, rng, cfg)
    # Normal B-cell count and its pre-infusion fraction (prior therapy, rituximab).
    lat["b_normal"] = np.exp(np.log(150.0) + 0.5 * rng.standard_normal(n))
    pre = np.array([0.3, 0.15, 0.15, 0.2, 0.5, 0.4])
    lat["b_pre_factor"] = pre[lat["disease"]]
    draw_kinetics(rng, lat)
    draw_response(rng, lat, landmark)
    draw_events(rng, lat, landmark, horizon)
    late = lat["latent_relapse_day"] > cfg.max_follow_up_days
    lat["mechanism"] = np.where(late, "none", lat["mechanism"])
    lat["latent_relapse_day"] = np.where(late, np.inf, lat["latent_relapse_day"])

    start = np.datetime64(cfg.infusion_start, "D")
    end = np.datetime64(cfg.infusion_end, "D")
    cut = np.datetime64(cfg.data_cut, "D")
    span = int((end - start).astype(int))
    infusion_offset = rng.integers(0, span + 1, n)
    infusion = start + infusion_offset.astype("timedelta64[D]")
    draw_follow_up(
        rng,
        lat,
        infusion_offset.astype(float),
        int((cut - start).astype(int)),
        cfg.dropout_per_year,
        cfg.early_dropout_prob,
        cfg.max_follow_up_days,
    )
    site = rng.integers(0, cfg.n_sites, n)

    width = max(6, len(str(n)))
    patient_id = np.array([f"P{i + 1:0{width}d}" for i in range(n)], dtype=object)
    dates = np.datetime_as_string(infusion, unit="D").astype(object)
    patients = build_patients(rng, lat, cfg, contract, patient_id, site, dates)
    units = {name: spec.unit for name, spec in contract.markers.items()}
    meas = build_measurements(rng, lat, cfg, site, units)
    measurements = pd.DataFrame(
        {
            "patient_id": patient_id[meas["idx"].to_numpy()],
            "day": meas["day"].to_numpy(),
            "marker": meas["marker"].to_numpy(),
            "value": meas["value"].to_numpy(),
            "unit": meas["unit"].to_numpy(),
            "qualifier": meas["qualifier"].to_numpy(),
        }
    )
    outcomes = build_outcomes(rng, lat, cfg, patient_id)
    truth = build_truth(lat, patient_id)
    return SimulatedCohort(patients, measurements, outcomes, truth)
