"""Naive per-patient reference implementation of the landmark features.

A plain ``groupby("patient_id").apply()`` written straight from the definitions,
one patient at a time.  It is the baseline of ``benchmarks/bench_features.py`` and
the oracle the tests compare the vectorised transformers against.  Patient-column
features (no per-patient work in either version) reuse the shared code.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd

from relapse_ml.features import antigen, exhaustion, persistence
from relapse_ml.features._patient_columns import column_values, numeric_column
from relapse_ml.features.config import LLOQ_FACTORS, FeatureConfig
from relapse_ml.features.transformers import feature_catalogue
from relapse_ml.schema import load_contract

NAN = float("nan")


def _points(g: pd.DataFrame, config: FeatureConfig) -> dict[str, pd.DataFrame]:
    g = g[(g["day"] >= 0) & (g["day"] <= config.landmark_day)]
    below = g["qualifier"].eq("<") if "qualifier" in g else pd.Series(False, index=g.index)
    value = g["value"].where(~below, g["value"] * LLOQ_FACTORS[config.lloq_rule])
    frame = pd.DataFrame(
        {"marker": g["marker"].astype(str), "day": g["day"], "value": value, "below": below}
    )
    averaged = frame.groupby(["marker", "day"], sort=True).agg(
        value=("value", "mean"), below=("below", "all")
    )
    return {m: sub.droplevel(0) for m, sub in averaged.groupby(level=0)}


def _kinetics(p: pd.DataFrame | None, day: int) -> dict[str, float]:
    if p is None:
        keys = ["cmax", "tmax_day", f"auc_0_{day}", f"auc_0_{day}_log", "level_at_landmark"]
        keys += ["last_obs_day", "fold_expansion", "contraction_rate_per_day"]
        return {
            "measured_by_landmark": 0.0,
            **dict.fromkeys(keys, NAN),
            "detectable_at_landmark": NAN,
        }
    days, vals = p.index.to_numpy(float), p["value"].to_numpy()
    i = int(np.argmax(vals))
    cmax, tmax, level, last_day = vals[i], days[i], vals[-1], days[-1]
    if days[-1] > 0:
        d, v = (days, vals) if days[0] == 0 else (np.r_[0.0, days], np.r_[0.0, vals])
        auc = float(np.sum(np.diff(d) * (v[1:] + v[:-1]) / 2.0))
    else:
        auc = NAN
    ok = last_day > tmax and level > 0 and cmax > 0
    return {
        "measured_by_landmark": 1.0,
        "cmax": cmax,
        "tmax_day": tmax,
        f"auc_0_{day}": auc,
        f"auc_0_{day}_log": np.log10(1.0 + auc),
        "level_at_landmark": level,
        "last_obs_day": last_day,
        "fold_expansion": cmax / vals[0] if vals[0] > 0 else NAN,
        "contraction_rate_per_day": (np.log(cmax) - np.log(level)) / (last_day - tmax)
        if ok
        else NAN,
        "detectable_at_landmark": float(not p["below"].iloc[-1] and level > 0),
    }


def _b_cells(p: pd.DataFrame | None, threshold: float) -> dict[str, float]:
    if p is None:
        return {"b_cells_measured_by_landmark": 0.0, **dict.fromkeys(
            ["b_cells_at_landmark", "b_cell_aplasia_at_landmark", "b_cell_aplasia_achieved",
             "b_cell_recovered_by_landmark", "b_cell_recovery_day"], NAN)}  # fmt: skip
    aplastic = (p["below"] | (p["value"] < threshold)).tolist()
    recovery = NAN
    if True in aplastic:
        for k in range(aplastic.index(True) + 1, len(aplastic)):
            if not aplastic[k]:
                recovery = float(p.index[k])
                break
    return {
        "b_cells_measured_by_landmark": 1.0,
        "b_cells_at_landmark": p["value"].iloc[-1],
        "b_cell_aplasia_at_landmark": float(aplastic[-1]),
        "b_cell_aplasia_achieved": float(any(aplastic)),
        "b_cell_recovered_by_landmark": float(not np.isnan(recovery)),
        "b_cell_recovery_day": recovery,
    }


def _slope(p: pd.DataFrame | None) -> float:
    if p is None or len(p) < 2:
        return NAN
    x, y = p.index.to_numpy(float), p["value"].to_numpy()
    return float(np.sum((x - x.mean()) * (y - y.mean())) / np.sum((x - x.mean()) ** 2))


def _near(p: pd.DataFrame | None, target: float, window: int) -> float:
    if p is None or np.isnan(target):
        return NAN
    best = None
    for d, v in zip(p.index, p["value"], strict=True):
        if abs(d - target) <= window:
            key = (abs(d - target), d > target)
            if best is None or key < best[0]:
                best = (key, v)
    return NAN if best is None else best[1]


def _last(p: pd.DataFrame | None) -> float:
    return NAN if p is None else p["value"].iloc[-1]


def _one_patient(g: pd.DataFrame, config: FeatureConfig) -> pd.Series:
    L, pts = config.landmark_day, _points(g, config)
    out: dict[str, float] = {}
    for marker, prefix, _ in persistence.KINETIC_MARKERS:
        for k, v in _kinetics(pts.get(marker), L).items():
            out[f"{prefix}_{k}"] = v
    out.update(_b_cells(pts.get("b_cells"), config.b_cell_aplasia_threshold_per_ul))
    car = pts.get("car_transgene")
    peak_day = NAN if car is None else float(car.index[int(np.argmax(car["value"].to_numpy()))])
    for name in exhaustion.markers():
        out[f"{name}_at_car_peak"] = _near(pts.get(name), peak_day, config.peak_window_days)
        out[f"{name}_at_landmark"] = _last(pts.get(name))
        out[f"{name}_trend_per_day"] = _slope(pts.get(name))
    pos, mrd = _last(pts.get("antigen_pos_pct")), pts.get("mrd_pct")
    out["residual_antigen_pos_pct_at_landmark"] = pos
    out["residual_antigen_density_at_landmark"] = _last(pts.get("antigen_density"))
    out["mrd_measured_by_landmark"] = float(mrd is not None)
    out["mrd_pct_at_landmark"] = _last(mrd)
    positive = (
        NAN if mrd is None else float(not mrd["below"].iloc[-1] and mrd["value"].iloc[-1] > 0)
    )
    out["mrd_positive_at_landmark"] = positive
    if positive == 0:
        neg = 0.0
    elif positive == 1 and not np.isnan(pos):
        neg = float(pos < config.antigen_negative_pos_pct_cutoff)
    else:
        neg = NAN
    out["antigen_negative_residual_disease_at_landmark"] = neg
    for m in load_contract().markers.values():
        if m.group in ("tme", "clinical"):
            p = pts.get(m.name)
            out[f"{m.name}_max_0_{L}"] = NAN if p is None else p["value"].max()
            if m.group == "tme":
                out[f"{m.name}_at_landmark"] = _last(p)
    return pd.Series(out, dtype=np.float64)


def naive_features(
    patients: pd.DataFrame, measurements: pd.DataFrame, config: FeatureConfig
) -> pd.DataFrame:
    """Features of ``config`` computed one patient at a time with ``groupby().apply()``."""
    m = measurements[measurements["patient_id"].isin(patients["patient_id"])]
    m = m.assign(marker=m["marker"].astype(str))
    one = functools.partial(_one_patient, config=config)
    per_patient = m.groupby("patient_id", sort=False).apply(one)
    empty = one(m.iloc[:0])
    per_patient = per_patient.reindex(patients["patient_id"])
    per_patient = per_patient.fillna({c: empty[c] for c in empty.index if empty[c] == 0})
    values: dict[str, Any] = {}
    for group in config.groups:
        values.update(column_values(patients, group, config.landmark_day))
    ratio = numeric_column(patients, antigen.DENSITY) / antigen.density_threshold(patients, config)
    values["antigen_density_ratio_to_threshold"] = ratio
    values["antigen_density_below_threshold"] = np.where(np.isnan(ratio), NAN, ratio < 1.0)
    columns = [s.name for s in feature_catalogue(config)]
    frame = pd.DataFrame(index=patients.index)
    for name in columns:
        if name in values:
            frame[name] = values[name]
        else:
            frame[name] = per_patient[name].to_numpy()
    return frame
