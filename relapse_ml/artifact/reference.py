"""The training population as a reference: ranges, medians, categories, drift bins, means.

Stored inside the model artifact as a :class:`TrainingReference` of plain
dicts of numbers, strings and numpy arrays (skops-friendly), so explanations ("low for B-ALL, training median
24,000"), out-of-distribution warnings and drift reports all compare against
the same population the model learned from.

A model file travels between centres, so the reference holds summaries only:
no patient's feature row, no minimum or maximum (one patient's value: ranges
are the 1st and 99th percentiles), and no summary of fewer than
:data:`MIN_GROUP` patients (a median of 1 to 9 values is close to, or is, a
patient's value; such summaries are left out, and readers fall back to the
overall figure).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from relapse_ml.features import FeatureSpec

PSI_BINS = 10
# Smallest number of patients (with a value) any stored summary may describe.
MIN_GROUP = 10
# Per-disease quartiles (the drivers' "low"/"high for B-ALL") need more values
# than a median: a quartile of 10 values is nearly one patient's value.
QUARTILE_MIN_GROUP = 20


@dataclass
class TrainingReference:
    """Summaries of the training population, the one reference for explanations, OOD and drift.

    Attributes
    ----------
    numeric : dict
        Per numeric feature: ``median``, ``q01``, ``q99``, ``missing_rate`` (NaN
        with fewer than :data:`MIN_GROUP` values).
    median_by_disease : dict
        Feature -> disease -> median (diseases with at least ``MIN_GROUP`` values).
    quartiles_by_disease : dict
        Feature -> disease -> ``[q25, q75]`` (at least :data:`QUARTILE_MIN_GROUP` values).
    categories : dict
        Categorical feature -> the values seen in training.
    psi_edges, psi_shares : dict
        Drift bins per numeric feature (edges; training share per bin, last = missing).
    preprocessed_means : ndarray, optional
        Column means of the preprocessed training matrix (the linear explainer's reference).
    n_patients : int, optional
        Training patients (only when at least ``MIN_GROUP``).
    """

    numeric: dict[str, dict[str, float]]
    median_by_disease: dict[str, dict[str, float]]
    categories: dict[str, list[str]]
    psi_edges: dict[str, np.ndarray]
    psi_shares: dict[str, np.ndarray]
    quartiles_by_disease: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    preprocessed_means: np.ndarray | None = None
    n_patients: int | None = None


def _numeric_summary(values: np.ndarray) -> dict[str, float]:
    finite = values[np.isfinite(values)]
    missing_rate = float(1 - finite.size / values.size) if values.size else 1.0
    if finite.size < MIN_GROUP:
        return {"median": np.nan, "q01": np.nan, "q99": np.nan, "missing_rate": missing_rate}
    q01, median, q99 = np.quantile(finite, [0.01, 0.5, 0.99])
    return {
        "median": float(median),
        "q01": float(q01),
        "q99": float(q99),
        "missing_rate": missing_rate,
    }


def psi_bins(values: np.ndarray, n_bins: int = PSI_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Quantile bin edges of the finite values and the share in each bin (+ a missing bin).

    With fewer than :data:`MIN_GROUP` finite values there are no edges (one bin
    for all measured values): deciles of so few values would be patients' values.
    """
    finite = values[np.isfinite(values)]
    edges = (
        np.unique(np.quantile(finite, np.linspace(0, 1, n_bins + 1)[1:-1]))
        if finite.size >= MIN_GROUP
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
    preprocessed: np.ndarray | None = None,
) -> TrainingReference:
    """Summarise the training feature frame for explanations, OOD checks and drift.

    Parameters
    ----------
    features : DataFrame
        Training features (before imputation), one row per patient.
    catalogue : tuple of FeatureSpec
        The feature catalogue (same order as ``features``).
    disease : Series
        Each training patient's disease (for disease-specific medians).
    preprocessed : ndarray of shape (n, columns), optional
        The same patients after the model's preprocessing; its column means are
        the linear explainer's reference point (see :mod:`relapse_ml.explain._native`).

    Returns
    -------
    TrainingReference
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
        medians = {}
        for d in pd.unique(disease_values[pd.notna(disease_values)]):
            group = values[(disease_values == d) & np.isfinite(values)]
            if group.size >= MIN_GROUP:
                medians[str(d)] = float(np.median(group))
        by_disease[spec.name] = medians
    return TrainingReference(
        numeric=numeric,
        median_by_disease=by_disease,
        categories=categories,
        psi_edges=psi_edges,
        psi_shares=psi_shares,
        # By the disease *feature*, as the drivers read it (none without the clinical group).
        quartiles_by_disease=(
            quartiles_by_disease(features, catalogue, features["disease"])
            if "disease" in features
            else {}
        ),
        preprocessed_means=None if preprocessed is None else preprocessed_means(preprocessed),
        n_patients=len(features) if len(features) >= MIN_GROUP else None,
    )


def quartiles_by_disease(
    features: pd.DataFrame, catalogue: tuple[FeatureSpec, ...], disease: pd.Series
) -> dict[str, dict[str, list[float]]]:
    """Feature -> disease -> ``[q25, q75]`` (numeric features, diseases with enough values).

    The drivers use them to say "low"/"high" for a patient's disease.
    """
    diseases = disease.astype(object).to_numpy()
    quartiles: dict[str, dict[str, list[float]]] = {}
    for spec in catalogue:
        if spec.kind != "numeric":
            continue
        values = features[spec.name].to_numpy(dtype=np.float64, na_value=np.nan)
        per: dict[str, list[float]] = {}
        for d in pd.unique(diseases[pd.notna(diseases)]):
            v = values[(diseases == d) & np.isfinite(values)]
            if v.size >= QUARTILE_MIN_GROUP:
                per[str(d)] = [float(q) for q in np.quantile(v, [0.25, 0.75])]
        quartiles[spec.name] = per
    return quartiles


def preprocessed_means(preprocessed: np.ndarray) -> np.ndarray:
    """Column means of the preprocessed training matrix (all training patients).

    Raises
    ------
    ValueError
        Fewer than ``MIN_GROUP`` rows: a mean of so few rows is nearly a patient's row.
    """
    matrix = np.asarray(preprocessed, dtype=np.float64)
    if matrix.ndim != 2 or len(matrix) < MIN_GROUP:
        raise ValueError(
            f"column means need a 2-D matrix of at least {MIN_GROUP} training patients, "
            f"got shape {matrix.shape}"
        )
    return matrix.mean(axis=0)
