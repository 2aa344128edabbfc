"""Persistence features: CAR expansion kinetics, B-cell aplasia, product attributes.

Kinetics use observations from day 0 (infusion) to L after the LLOQ rule and
replicate averaging (see ``_panel``).  Definitions (per patient):

- peak (Cmax) and day of peak (Tmax, earliest day on ties);
- AUC 0..L: linear trapezoid on the averaged observations from day 0 to the last
  observation on or before L (no extrapolation to L); the level at day 0 is 0 when
  not measured.  ``_log`` is log10(1 + AUC);
- level at landmark: the last observation on or before L, and its day;
- fold expansion: peak / first observation from day 0 on (1 when the first
  observation is the peak; missing when that first value is 0, or so small that
  the ratio overflows);
- contraction rate: log-linear slope from the peak to the last observation,
  (ln peak - ln last) / (day last - day peak), per day, positive when falling;
  missing when the peak is the last observation;
- detectable at landmark: the last observation is quantified and > 0 (a ``<``
  result is "not detectable");
- measured by landmark: any observation 0..L (1/0, never missing).  A patient with
  no sample is not the same as one with undetectable CAR T cells.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from relapse_ml.features._panel import Panel, Series, trapezoid_auc
from relapse_ml.features._patient_columns import column_specs, column_values
from relapse_ml.features.catalogue import FeatureSpec
from relapse_ml.features.config import FeatureConfig
from relapse_ml.schema import load_contract

GROUP = "persistence"
#: (marker, feature prefix, plain-language name)
KINETIC_MARKERS = (
    ("car_transgene", "car", "CAR T cells in blood (transgene qPCR)"),
    ("car_t_cells", "car_cells", "CAR T cells in blood (flow count)"),
)
B_CELLS = "b_cells"


def _kinetic_specs(marker: str, prefix: str, what: str, day: int) -> list[FeatureSpec]:
    unit = load_contract().markers[marker].unit
    src = (f"marker:{marker}",)

    def spec(suffix: str, kind: str, u: str, label: str) -> FeatureSpec:
        return FeatureSpec(f"{prefix}_{suffix}", GROUP, kind, u, label, src)

    return [
        spec("measured_by_landmark", "binary", "", f"{what}: measured between day 0 and {day}"),
        spec("cmax", "numeric", unit, f"{what}: expansion peak by day {day} ({unit})"),
        spec("tmax_day", "numeric", "day", f"{what}: day of the expansion peak"),
        spec(f"auc_0_{day}", "numeric", f"{unit} x day", f"{what}: exposure, area under the curve day 0-{day} ({unit} x day)"),
        spec(f"auc_0_{day}_log", "numeric", f"log10(1 + {unit} x day)", f"{what}: exposure day 0-{day}, log10 scale"),
        spec("level_at_landmark", "numeric", unit, f"{what}: latest level on or before day {day} ({unit})"),
        spec("last_obs_day", "numeric", "day", f"{what}: day of the latest sample on or before day {day}"),
        spec("fold_expansion", "numeric", "fold", f"{what}: fold expansion, peak / first post-infusion level"),
        spec("contraction_rate_per_day", "numeric", "1/day", f"{what}: contraction rate after the peak (log scale, per day)"),
        spec("detectable_at_landmark", "binary", "", f"{what}: detectable in the latest sample by day {day}"),
    ]  # fmt: skip


def _b_cell_specs(config: FeatureConfig) -> list[FeatureSpec]:
    day, thr = config.landmark_day, config.b_cell_aplasia_threshold_per_ul
    unit = load_contract().markers[B_CELLS].unit
    src = (f"marker:{B_CELLS}",)
    return [
        FeatureSpec("b_cells_measured_by_landmark", GROUP, "binary", "", f"B cells counted between day 0 and {day}", src),
        FeatureSpec("b_cells_at_landmark", GROUP, "numeric", unit, f"Latest B-cell count on or before day {day} ({unit})", src),
        FeatureSpec("b_cell_aplasia_at_landmark", GROUP, "binary", "", f"B-cell aplasia at day {day} (latest count < {thr:g} {unit} or undetectable)", src),
        FeatureSpec("b_cell_aplasia_achieved", GROUP, "binary", "", f"B-cell aplasia seen at any count between day 0 and {day}", src),
        FeatureSpec("b_cell_recovered_by_landmark", GROUP, "binary", "", f"B cells recovered (>= {thr:g} {unit}) after aplasia, by day {day}", src),
        FeatureSpec("b_cell_recovery_day", GROUP, "numeric", "day", "Day of B-cell recovery after aplasia", src),
    ]  # fmt: skip


def specs(config: FeatureConfig) -> list[FeatureSpec]:
    """Catalogue entries of the persistence group at ``config.landmark_day``."""
    out: list[FeatureSpec] = []
    for marker, prefix, what in KINETIC_MARKERS:
        out += _kinetic_specs(marker, prefix, what, config.landmark_day)
    return out + _b_cell_specs(config) + column_specs(GROUP, config.landmark_day)


def car_peak_day(panel: Panel) -> np.ndarray:
    """Per patient, day of the CAR-transgene peak by L (NaN when not measured)."""
    s = panel.series(KINETIC_MARKERS[0][0])
    return s.at_index(s.day, s.argmax())


def kinetics(s: Series, day: int) -> dict[str, np.ndarray]:
    """Kinetic features of one marker's series (keys are suffixes of the feature names)."""
    peak, last, first = s.argmax(), s.last(), s.starts
    cmax = s.at_index(s.value, peak)
    auc = trapezoid_auc(s)
    first_value = s.at_index(s.value, first)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        fold = np.where(first_value > 0, cmax / np.where(first_value > 0, first_value, 1.0), np.nan)
        # A first value so near 0 that the ratio overflows is treated like 0: missing.
        fold = np.where(np.isfinite(fold), fold, np.nan)
        peak_day, last_day = s.at_index(s.day, peak), s.at_index(s.day, last)
        level = s.at_index(s.value, last)
        ok = (last_day > peak_day) & (level > 0) & (cmax > 0)
        rate = np.where(
            ok,
            (np.log(np.where(ok, cmax, 1.0)) - np.log(np.where(ok, level, 1.0)))
            / np.where(ok, last_day - peak_day, 1.0),
            np.nan,
        )
    detected = ((~s.below) & (s.value > 0)).astype(np.float64)
    return {
        "measured_by_landmark": s.measured(),
        "cmax": cmax,
        "tmax_day": peak_day,
        f"auc_0_{day}": auc,
        f"auc_0_{day}_log": np.log10(1.0 + auc),
        "level_at_landmark": level,
        "last_obs_day": last_day,
        "fold_expansion": fold,
        "contraction_rate_per_day": rate,
        "detectable_at_landmark": s.at_index(detected, last),
    }


def b_cell_features(s: Series, threshold: float) -> dict[str, np.ndarray]:
    """B-cell aplasia and recovery (a ``<`` count is aplastic: B cells not detected)."""
    aplastic = s.below | (s.value < threshold)
    last = s.last()
    first_aplastic = s.first_where(aplastic)
    seen = s.scatter((first_aplastic >= 0).astype(np.float64))
    # Recovery: the first non-aplastic count after the first aplastic one.
    after = np.repeat(np.where(first_aplastic >= 0, first_aplastic, len(s.day)), s.ends - s.starts)
    recovery = s.first_where(~aplastic & (np.arange(len(s.day)) > after))
    recovered = s.scatter((recovery >= 0).astype(np.float64))
    return {
        "b_cells_measured_by_landmark": s.measured(),
        "b_cells_at_landmark": s.at_index(s.value, last),
        "b_cell_aplasia_at_landmark": s.at_index(aplastic.astype(np.float64), last),
        "b_cell_aplasia_achieved": seen,
        "b_cell_recovered_by_landmark": recovered,
        "b_cell_recovery_day": s.at_index(s.day, recovery),
    }


def values(X: pd.DataFrame, panel: Panel, config: FeatureConfig) -> dict[str, np.ndarray]:
    """Persistence feature values, one per row of ``X``, in catalogue order."""
    out: dict[str, np.ndarray] = {}
    for marker, prefix, _ in KINETIC_MARKERS:
        for suffix, arr in kinetics(panel.series(marker), config.landmark_day).items():
            out[f"{prefix}_{suffix}"] = arr
    out.update(b_cell_features(panel.series(B_CELLS), config.b_cell_aplasia_threshold_per_ul))
    out.update(column_values(X, GROUP, config.landmark_day))
    return out
