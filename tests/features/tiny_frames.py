"""Tiny canonical frames for the feature tests: builders and three hand-made patients.

A plain module (not a conftest) so that tests import it by its package path.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from relapse_ml.schema import load_contract


def make_patients(rows: list[dict]) -> pd.DataFrame:
    """Canonical typed patients: every contract column, missing ones all-missing."""
    out: dict[str, object] = {}
    for col in load_contract().patients.columns:
        vals = [r.get(col.name) for r in rows]
        if col.dtype == "category":
            out[col.name] = pd.Categorical(vals, categories=list(col.values or ()))
        elif col.dtype in ("number", "integer", "boolean"):
            out[col.name] = np.array([np.nan if v is None else float(v) for v in vals])
        elif col.dtype == "date":
            out[col.name] = pd.to_datetime(pd.Series(vals, dtype=object))
        else:
            out[col.name] = pd.array(vals, dtype="str")
    return pd.DataFrame(out)


def make_measurements(rows: list[tuple]) -> pd.DataFrame:
    """Canonical measurements from (patient_id, day, marker, value[, qualifier]) tuples."""
    markers = load_contract().markers
    rows = [(*r, "") if len(r) == 4 else r for r in rows]
    return pd.DataFrame(
        {
            "patient_id": pd.array([r[0] for r in rows], dtype="str"),
            "day": np.array([r[1] for r in rows], dtype=np.int64),
            "marker": pd.Categorical([r[2] for r in rows], categories=list(markers)),
            "value": np.array([r[3] for r in rows], dtype=np.float64),
            "unit": pd.array([markers[r[2]].unit for r in rows], dtype="str"),
            "qualifier": pd.array([r[4] for r in rows], dtype="str"),
        }
    )


TINY_PATIENTS = [
    {"patient_id": "A", "disease": "B-ALL", "target_antigen": "CD19", "costim_domain": "4-1BB",
     "age_years": 12, "sex": "F", "prior_lines": 2, "bridging_therapy": 1, "ldh_u_per_l": 999,
     "marrow_blasts_pct": 9, "car_dose_per_kg": 999999, "product_cd4_cd8_ratio": 1.5,
     "product_memory_pct": 30, "product_pd1_pct": 5, "product_tim3_pct": 6, "product_lag3_pct": 7,
     "vein_to_vein_days": 40, "antigen_pos_pct": 95, "antigen_density": 1500,
     "antigen_splice_variant_pct": 10, "treg_pct_cd4": 4, "mdsc_pct_pbmc": 2, "tgfb_pg_ml": 80,
     "il10_pg_ml": 7, "crs_grade": 3, "icans_grade": 1, "tocilizumab": 1, "steroid_dex_mg": 40,
     "site": "S1"},
    {"patient_id": "B", "disease": "LBCL", "target_antigen": "CD19", "costim_domain": "CD28",
     "age_years": 61, "metabolic_tumor_volume_ml": 99, "antigen_density": 6000, "bridging_therapy": 0},
    {"patient_id": "C", "disease": "MM", "target_antigen": "BCMA", "costim_domain": "4-1BB",
     "age_years": 70},
]  # fmt: skip

TINY_MEASUREMENTS = [
    ("A", 0, "car_transgene", 5.0, "<"), ("A", 3, "car_transgene", 100.0),
    ("A", 7, "car_transgene", 1000.0), ("A", 7, "car_transgene", 1200.0),
    ("A", 10, "car_transgene", 400.0), ("A", 14, "car_transgene", 200.0),
    ("A", 35, "car_transgene", 99999.0),
    ("A", 7, "car_t_cells", 20.0), ("A", 14, "car_t_cells", 10.0),
    ("A", -5, "b_cells", 300.0), ("A", 0, "b_cells", 100.0), ("A", 7, "b_cells", 1.0, "<"),
    ("A", 14, "b_cells", 3.0), ("A", 21, "b_cells", 50.0), ("A", 28, "b_cells", 5.0),
    ("A", 5, "pd1_pct_car", 10.0), ("A", 8, "pd1_pct_car", 20.0), ("A", 21, "pd1_pct_car", 40.0),
    ("A", 11, "lag3_pct_car", 15.0),
    ("A", 28, "mrd_pct", 0.01, "<"),
    ("A", 3, "il10_pg_ml", 10.0), ("A", 10, "il10_pg_ml", 30.0), ("A", 20, "il10_pg_ml", 5.0),
    ("A", 1, "il6_pg_ml", 100.0), ("A", 2, "il6_pg_ml", 300.0), ("A", 2, "il6_pg_ml", 500.0),
    ("A", 40, "crp_mg_l", 1000.0),
    ("B", 5, "car_transgene", 50.0), ("B", 28, "car_transgene", 5.0, "<"),
    ("B", 10, "b_cells", 2.0),
    ("B", 4, "tim3_pct_car", 30.0), ("B", 6, "tim3_pct_car", 50.0),
    ("B", 21, "mrd_pct", 2.0), ("B", 21, "antigen_pos_pct", 20.0),
    ("B", 21, "antigen_density", 800.0),
]  # fmt: skip
