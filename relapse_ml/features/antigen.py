"""Antigen-escape and tumour-burden features.

- Baseline: the contract's antigen-group patient columns (antigen-positive %,
  density, splice-variant %, and tumour burden: LDH, marrow blasts, MTV, the
  last three as log10(1 + x)).
- Density relative to the published threshold for the patient's target and disease
  (``FeatureConfig.antigen_density_thresholds``): ratio density / threshold and a
  below-threshold flag (missing when density, disease or target is missing).
- By L (days 0..L, latest observation): residual antigen-positive %, residual
  density, MRD %, MRD positive (quantified and > 0; a ``<`` result is negative),
  MRD measured (1/0: not assessed is not the same as negative).
- Antigen-negative residual disease: MRD positive at L while the latest residual
  antigen-positive % is below ``antigen_negative_pos_pct_cutoff``; 0 when MRD is
  negative; missing when MRD, or antigen % of MRD-positive disease, is unknown.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from relapse_ml.features._panel import Panel
from relapse_ml.features._patient_columns import (
    category_column,
    column_specs,
    column_values,
    numeric_column,
)
from relapse_ml.features.catalogue import FeatureSpec
from relapse_ml.features.config import FeatureConfig
from relapse_ml.schema import load_contract

GROUP = "antigen"
POS_PCT, DENSITY, MRD = "antigen_pos_pct", "antigen_density", "mrd_pct"


def specs(config: FeatureConfig) -> list[FeatureSpec]:
    """Catalogue entries of the antigen group at ``config.landmark_day``."""
    day, cut = config.landmark_day, config.antigen_negative_pos_pct_cutoff
    mk = load_contract().markers
    base = ("patients.antigen_density", "patients.disease", "patients.target_antigen")
    return [
        *column_specs(GROUP, day),
        FeatureSpec("antigen_density_ratio_to_threshold", GROUP, "numeric", "ratio", "Antigen density before infusion relative to the published threshold for this disease and target (1 = at threshold)", base),
        FeatureSpec("antigen_density_below_threshold", GROUP, "binary", "", "Antigen density before infusion below the published threshold for this disease and target", base),
        FeatureSpec(f"residual_{POS_PCT}_at_landmark", GROUP, "numeric", mk[POS_PCT].unit, f"Residual tumour cells positive for the target antigen, latest on or before day {day} (%)", (f"marker:{POS_PCT}",)),
        FeatureSpec(f"residual_{DENSITY}_at_landmark", GROUP, "numeric", mk[DENSITY].unit, f"Target antigen molecules per residual tumour cell, latest on or before day {day}", (f"marker:{DENSITY}",)),
        FeatureSpec("mrd_measured_by_landmark", GROUP, "binary", "", f"Measurable residual disease assessed between day 0 and {day}", (f"marker:{MRD}",)),
        FeatureSpec(f"{MRD}_at_landmark", GROUP, "numeric", mk[MRD].unit, f"Measurable residual disease, latest on or before day {day} (% of marrow cells)", (f"marker:{MRD}",)),
        FeatureSpec("mrd_positive_at_landmark", GROUP, "binary", "", f"Measurable residual disease detected at the latest assessment by day {day}", (f"marker:{MRD}",)),
        FeatureSpec("antigen_negative_residual_disease_at_landmark", GROUP, "binary", "", f"Residual disease mostly antigen-negative by day {day} (MRD positive, < {cut:g}% antigen-positive)", (f"marker:{MRD}", f"marker:{POS_PCT}")),
    ]  # fmt: skip


def density_threshold(X: pd.DataFrame, config: FeatureConfig) -> np.ndarray:
    """Per patient, the published density threshold for its target and disease (NaN if none)."""
    cols = load_contract().patients
    targets = cols.column("target_antigen").values or ()
    diseases = cols.column("disease").values or ()
    table = np.full((len(targets) + 1, len(diseases) + 1), np.nan)  # last row/col: missing
    for target, disease, thr in config.antigen_density_thresholds:  # wildcards first
        if disease == "*" and target in targets:
            table[targets.index(target), : len(diseases)] = thr
    for target, disease, thr in config.antigen_density_thresholds:
        if disease != "*" and target in targets and disease in diseases:
            table[targets.index(target), diseases.index(disease)] = thr
    t = pd.Categorical(category_column(X, "target_antigen", targets), categories=targets).codes
    d = pd.Categorical(category_column(X, "disease", diseases), categories=diseases).codes
    return table[np.where(t >= 0, t, len(targets)), np.where(d >= 0, d, len(diseases))]


def values(X: pd.DataFrame, panel: Panel, config: FeatureConfig) -> dict[str, np.ndarray]:
    """Antigen feature values, one per row of ``X``, in catalogue order."""
    out = column_values(X, GROUP, config.landmark_day)
    ratio = numeric_column(X, DENSITY) / density_threshold(X, config)
    out["antigen_density_ratio_to_threshold"] = ratio
    with np.errstate(invalid="ignore"):
        out["antigen_density_below_threshold"] = np.where(np.isnan(ratio), np.nan, ratio < 1.0)
    pos = panel.series(POS_PCT).latest_value()
    out[f"residual_{POS_PCT}_at_landmark"] = pos
    out[f"residual_{DENSITY}_at_landmark"] = panel.series(DENSITY).latest_value()
    mrd = panel.series(MRD)
    out["mrd_measured_by_landmark"] = mrd.measured()
    out[f"{MRD}_at_landmark"] = mrd.latest_value()
    positive = mrd.at_index(((~mrd.below) & (mrd.value > 0)).astype(np.float64), mrd.last())
    out["mrd_positive_at_landmark"] = positive
    with np.errstate(invalid="ignore"):
        neg = np.where(
            positive == 0,
            0.0,
            np.where(
                (positive == 1) & ~np.isnan(pos),
                pos < config.antigen_negative_pos_pct_cutoff,
                np.nan,
            ),
        )
    out["antigen_negative_residual_disease_at_landmark"] = neg
    return out
