"""The feature catalogue: what each feature is, for explanations and reports."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

FEATURE_KINDS = ("numeric", "binary", "categorical")


@dataclass(frozen=True)
class FeatureSpec:
    """One feature produced by the landmark feature pipeline.

    Attributes
    ----------
    name : str
        Column name in the feature frame (self-explaining, e.g. ``car_auc_0_28_log``).
    group : str
        Mechanism group (one of the contract's groups).
    kind : {"numeric", "binary", "categorical"}
        How modelling treats it: numeric is float64 (NaN missing); binary is
        float64 0/1 (NaN missing); categorical is a string column with
        ``categories`` as the allowed values (NaN missing).
    unit : str
        Unit of the value shown to a clinician ("" when unitless).
    label : str
        Plain-language label a clinician understands.
    sources : tuple of str
        Contract columns and markers it is computed from (``patients.x`` / ``marker:y``).
    categories : tuple of str or None
        Allowed values of a categorical feature.
    """

    name: str
    group: str
    kind: str
    unit: str
    label: str
    sources: tuple[str, ...]
    categories: tuple[str, ...] | None = None


def catalogue_frame(catalogue: tuple[FeatureSpec, ...]) -> pd.DataFrame:
    """Return the catalogue as a DataFrame (one row per feature)."""
    rows = [{**asdict(s), "sources": ";".join(s.sources)} for s in catalogue]
    return pd.DataFrame(rows, columns=[f for f in FeatureSpec.__dataclass_fields__])
