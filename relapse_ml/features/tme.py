"""Tumour-microenvironment features: Tregs, MDSCs, TGF-beta, IL-10.

Baseline values are the contract's tme patient columns (before infusion).  By L,
for each tme marker of the catalogue (days 0..L): the maximum, and the latest
observation on or before L.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from relapse_ml.features._panel import Panel
from relapse_ml.features._patient_columns import column_specs, column_values
from relapse_ml.features.catalogue import FeatureSpec
from relapse_ml.features.config import FeatureConfig
from relapse_ml.schema import load_contract

GROUP = "tme"


def marker_specs(group: str, day: int, latest: bool) -> list[FeatureSpec]:
    """Maximum (and optionally latest) by day L of each catalogue marker of ``group``."""
    out = []
    for m in load_contract().markers.values():
        if m.group != group:
            continue
        src = (f"marker:{m.name}",)
        out.append(
            FeatureSpec(
                f"{m.name}_max_0_{day}",
                group,
                "numeric",
                m.unit,
                f"{m.description}: highest value day 0-{day} ({m.unit})",
                src,
            )
        )
        if latest:
            out.append(FeatureSpec(f"{m.name}_at_landmark", group, "numeric", m.unit, f"{m.description}: latest value on or before day {day} ({m.unit})", src))  # fmt: skip
    return out


def marker_values(panel: Panel, group: str, day: int, latest: bool) -> dict[str, np.ndarray]:
    """Values matching :func:`marker_specs`."""
    out = {}
    for m in load_contract().markers.values():
        if m.group != group:
            continue
        s = panel.series(m.name)
        out[f"{m.name}_max_0_{day}"] = s.max_value()
        if latest:
            out[f"{m.name}_at_landmark"] = s.latest_value()
    return out


def specs(config: FeatureConfig) -> list[FeatureSpec]:
    """Catalogue entries of the tme group at ``config.landmark_day``."""
    day = config.landmark_day
    return column_specs(GROUP, day) + marker_specs(GROUP, day, latest=True)


def values(X: pd.DataFrame, panel: Panel, config: FeatureConfig) -> dict[str, np.ndarray]:
    """Tme feature values, one per row of ``X``, in catalogue order."""
    out = column_values(X, GROUP, config.landmark_day)
    out.update(marker_values(panel, GROUP, config.landmark_day, latest=True))
    return out
