"""Orchestration: latent state, events, follow-up, observation and tables, in named streams."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from relapse_ml.schema import load_contract
from relapse_ml.simulate._config import SimulationConfig
from relapse_ml.simulate._kinetics import draw_kinetics
from relapse_ml.simulate._latent import draw_latent
from relapse_ml.simulate._nrm import nrm_terms
from relapse_ml.simulate._observation import build_measurements
from relapse_ml.simulate._outcomes import draw_events, draw_follow_up, draw_response
from relapse_ml.simulate._tables import build_outcomes, build_patients, build_truth
from relapse_ml.simulate._truth import (
    PRIMARY_HORIZON,
    PRIMARY_LANDMARK,
    conditional_incidences,
    risk_column,
)

# Independent random streams spawned from the seed. Events (relapse and death times)
# have their own, so redrawing them leaves the latent state and every measurement
# draw unchanged: the leak test relies on it.
STREAMS = ("latent", "events", "registry", "observation", "tables")


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


def simulate(
    n: int, seed: int, config: SimulationConfig | None = None, event_seed: int | None = None
) -> SimulatedCohort:
    """Simulate ``n`` patients; ``event_seed`` (tests only) redraws just the event times.

    Parameters
    ----------
    n : int
        Number of patients (>= 1).
    seed : int
        Seed of the stream family; same seed and config, same tables.
    config : SimulationConfig, optional
        Knobs; defaults follow domain.md.
    event_seed : int, optional
        Seed of the events stream in place of the one spawned from ``seed``: same
        latent state and observation draws, different realised relapse/death times.

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
    children = np.random.SeedSequence(int(seed)).spawn(len(STREAMS))
    rng = {name: np.random.default_rng(c) for name, c in zip(STREAMS, children, strict=True)}
    if event_seed is not None:
        rng["events"] = np.random.default_rng(int(event_seed))

    lat = draw_latent(n, rng["latent"], cfg)
    # Normal B-cell count and its pre-infusion fraction (prior therapy, rituximab).
    lat["b_normal"] = np.exp(np.log(150.0) + 0.5 * rng["latent"].standard_normal(n))
    pre = np.array([0.3, 0.15, 0.15, 0.2, 0.5, 0.4])
    lat["b_pre_factor"] = pre[lat["disease"]]
    draw_kinetics(rng["latent"], lat)
    draw_response(rng["latent"], lat)
    nrm_terms(lat)
    incidences = conditional_incidences(lat)
    draw_events(rng["events"], lat, cfg.max_follow_up_days)

    start = np.datetime64(cfg.infusion_start, "D")
    end = np.datetime64(cfg.infusion_end, "D")
    cut = np.datetime64(cfg.data_cut, "D")
    span = int((end - start).astype(int))
    infusion_offset = rng["registry"].integers(0, span + 1, n)
    infusion = start + infusion_offset.astype("timedelta64[D]")
    site = rng["registry"].integers(0, cfg.n_sites, n)
    draw_follow_up(
        rng["registry"],
        lat,
        infusion_offset.astype(float),
        int((cut - start).astype(int)),
        cfg.dropout_per_year,
        cfg.early_dropout_prob,
        cfg.max_follow_up_days,
    )

    width = max(6, len(str(n)))
    patient_id = np.array([f"P{i + 1:0{width}d}" for i in range(n)], dtype=object)
    dates = np.datetime_as_string(infusion, unit="D").astype(object)
    patients = build_patients(rng["tables"], lat, cfg, contract, patient_id, site, dates)
    units = {name: spec.unit for name, spec in contract.markers.items()}
    meas = build_measurements(rng["observation"], lat, cfg, site, units)
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
    outcomes = build_outcomes(rng["tables"], lat, cfg, contract, patient_id)
    primary = risk_column(PRIMARY_LANDMARK, PRIMARY_HORIZON)
    truth = build_truth(lat, incidences, primary, patient_id)
    return SimulatedCohort(patients, measurements, outcomes, truth)
