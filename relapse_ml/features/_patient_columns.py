"""Patient-level contract columns as features, read from the contract (group, dtype, availability)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from relapse_ml.features.catalogue import FeatureSpec
from relapse_ml.schema import ColumnSpec, load_contract

#: Skewed, multi-log-range columns are log-transformed as log10(1 + x) so that
#: linear models see tumour burden and dose on the scale their effects act on.
LOG10_COLUMNS = frozenset(
    {"car_dose_per_kg", "ldh_u_per_l", "marrow_blasts_pct", "metabolic_tumor_volume_ml"}
)
#: Identifiers, free text and calendar dates describe the record, not the patient's biology.
_NOT_FEATURES = ("string", "date")
_KIND = {"number": "numeric", "integer": "numeric", "boolean": "binary", "category": "categorical"}


def group_columns(group: str, landmark_day: int) -> tuple[ColumnSpec, ...]:
    """Contract patient columns of ``group`` known by ``landmark_day``, in contract order."""
    available = set(load_contract().patient_columns_available_at(landmark_day))
    return tuple(
        c
        for c in load_contract().patients.columns
        if c.group == group and c.name in available and c.dtype not in _NOT_FEATURES
    )


def feature_name(col: ColumnSpec) -> str:
    """Feature name of a patient column (``_log10`` suffix when log-transformed)."""
    return f"{col.name}_log10" if col.name in LOG10_COLUMNS else col.name


def column_specs(group: str, landmark_day: int) -> list[FeatureSpec]:
    """Catalogue entries of the patient-column features of ``group``."""
    out = []
    for col in group_columns(group, landmark_day):
        unit = col.unit or ""
        label = col.description
        if col.name in LOG10_COLUMNS:
            unit, label = f"log10(1 + {unit})", f"{label}, log10 scale"
        if col.available_from_day:
            label = f"{label} (known from day {col.available_from_day})"
        out.append(
            FeatureSpec(
                name=feature_name(col),
                group=group,
                kind=_KIND[col.dtype],
                unit=unit,
                label=label,
                sources=(f"patients.{col.name}",),
                categories=col.values if col.dtype == "category" else None,
            )
        )
    return out


def numeric_column(X: pd.DataFrame, name: str) -> np.ndarray:
    """``X[name]`` as float64 with NaN for missing (numbers, integers, 0/1 booleans)."""
    series = X[name]
    if isinstance(series.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(series.dtype):
        raise ValueError(f"patients.{name} must be numeric (canonical typed table)")
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def category_column(X: pd.DataFrame, name: str, categories: tuple[str, ...]) -> np.ndarray:
    """``X[name]`` as an object array of contract categories (NaN for missing or unknown)."""
    codes = pd.Categorical(X[name].astype(object), categories=list(categories)).codes
    labels = np.array([*categories, np.nan], dtype=object)
    return labels[np.where(codes >= 0, codes, len(categories))]


def column_values(X: pd.DataFrame, group: str, landmark_day: int) -> dict[str, np.ndarray]:
    """Values of the patient-column features of ``group``, one per row of ``X``."""
    out: dict[str, np.ndarray] = {}
    for col in group_columns(group, landmark_day):
        if col.dtype == "category":
            out[feature_name(col)] = category_column(X, col.name, col.values or ())
            continue
        values = numeric_column(X, col.name)
        if col.name in LOG10_COLUMNS:
            # Values below 0 break the contract; clip so a stray one cannot give NaN silently.
            values = np.log10(1.0 + np.clip(values, 0.0, None))
        out[feature_name(col)] = values
    return out
