"""The training population as a reference: ranges, medians, categories, drift bins, background.

Stored inside the model artifact as plain dicts of numbers, strings and numpy
arrays (skops-friendly), so explanations ("low for B-ALL, training median
24,000"), out-of-distribution warnings and drift reports all compare against
the same population the model learned from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from relapse_ml.features import FeatureSpec

PSI_BINS = 10


def _numeric_summary(values: np.ndarray) -> dict[str, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {
            "median": np.nan,
            "q01": np.nan,
            "q99": np.nan,
            "min": np.nan,
            "max": np.nan,
            "missing_rate": 1.0,
        }
    q01, median, q99 = np.quantile(finite, [0.01, 0.5, 0.99])
    return {
        "median": float(median),
        "q01": float(q01),
        "q99": float(q99),
        "min": float(finite.min()),
        "max": float(finite.max()),
        "missing_rate": float(1 - finite.size / values.size),
    }


def psi_bins(values: np.ndarray, n_bins: int = PSI_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Quantile bin edges of the finite values and the share in each bin (+ a missing bin)."""
    finite = values[np.isfinite(values)]
    edges = (
        np.unique(np.quantile(finite, np.linspace(0, 1, n_bins + 1)[1:-1]))
        if finite.size
        else np.array([])
    )
    return edges, bin_shares(values, edges)


def bin_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of ``values`` in each interval defined by ``edges``, the last entry being missing."""
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    counts = np.bincount(
        np.searchsorted(edges, values[finite], side="right"), minlength=len(edges) + 1
    )
    shares = np.append(counts, (~finite).sum()).astype(float)
    return shares / max(len(values), 1)


def build_training_reference(
    features: pd.DataFrame,
    catalogue: tuple[FeatureSpec, ...],
    disease: pd.Series,
    *,
    seed: int,
    n_background: int = 200,
) -> dict:
    """Summarise the training feature frame for explanations, OOD checks and drift.

    Parameters
    ----------
    features : DataFrame
        Training features (before imputation), one row per patient.
    catalogue : tuple of FeatureSpec
        The feature catalogue (same order as ``features``).
    disease : Series
        Each training patient's disease (for disease-specific medians).
    seed : int
        Seeds the background sample.
    n_background : int
        Rows kept as the explainers' background sample.

    Returns
    -------
    dict
        ``numeric`` (per feature: median, q01, q99, min, max, missing_rate),
        ``median_by_disease``, ``categories`` (seen per categorical feature),
        ``psi_edges`` / ``psi_shares`` (drift bins), ``background`` (a sample of
        feature rows: dict of column -> array), ``n_patients``.
    """
    numeric: dict[str, dict[str, float]] = {}
    by_disease: dict[str, dict[str, float]] = {}
    categories: dict[str, list[str]] = {}
    psi_edges: dict[str, np.ndarray] = {}
    psi_shares: dict[str, np.ndarray] = {}
    disease_values = disease.astype(object).to_numpy()
    for spec in catalogue:
        column = features[spec.name]
        if spec.kind == "categorical":
            categories[spec.name] = sorted({str(v) for v in column.dropna().unique()})
            continue
        values = column.to_numpy(dtype=float, na_value=np.nan)
        numeric[spec.name] = _numeric_summary(values)
        psi_edges[spec.name], psi_shares[spec.name] = psi_bins(values)
        by_disease[spec.name] = {
            str(d): float(np.nanmedian(values[disease_values == d]))
            for d in pd.unique(disease_values)
            if np.isfinite(values[disease_values == d]).any()
        }
    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(len(features), size=min(n_background, len(features)), replace=False))
    background = {
        spec.name: (
            features[spec.name]
            .iloc[take]
            .astype(object)
            .where(features[spec.name].iloc[take].notna(), None)
            .to_numpy(dtype=object)
            .astype(str)
            if spec.kind == "categorical"
            else features[spec.name].iloc[take].to_numpy(dtype=float, na_value=np.nan)
        )
        for spec in catalogue
    }
    return {
        "n_patients": len(features),
        "numeric": numeric,
        "median_by_disease": by_disease,
        "categories": categories,
        "psi_edges": psi_edges,
        "psi_shares": psi_shares,
        "background": background,
    }


def background_frame(reference: dict, catalogue: tuple[FeatureSpec, ...]) -> pd.DataFrame:
    """The background sample as a feature frame (categorical ``"None"`` back to missing)."""
    columns = {}
    for spec in catalogue:
        values = reference["background"][spec.name]
        if spec.kind == "categorical":
            columns[spec.name] = pd.Series(values, dtype=object).replace("None", np.nan)
        else:
            columns[spec.name] = pd.Series(values, dtype=float)
    return pd.DataFrame(columns)
