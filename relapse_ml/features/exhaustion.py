"""Exhaustion features: product PD-1/TIM-3/LAG-3 and in-vivo exhaustion markers.

For each in-vivo marker of the contract's exhaustion group (days 0..L):

- at the CAR peak: the observation nearest to the CAR-transgene peak day, within
  ``peak_window_days`` (earlier wins a tie); missing without a CAR peak or a
  sample in that window;
- at landmark: the last observation on or before L;
- trend: least-squares slope of the % on day (percentage points per day) over
  all observations 0..L; missing with fewer than two sampling days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from relapse_ml.features._panel import Panel, Series
from relapse_ml.features._patient_columns import column_specs, column_values
from relapse_ml.features.catalogue import FeatureSpec
from relapse_ml.features.config import FeatureConfig
from relapse_ml.features.persistence import KINETIC_MARKERS, car_peak_day
from relapse_ml.schema import load_contract

GROUP = "exhaustion"


def markers() -> tuple[str, ...]:
    """In-vivo exhaustion markers, read from the contract's marker catalogue."""
    return tuple(m.name for m in load_contract().markers.values() if m.group == GROUP)


def specs(config: FeatureConfig) -> list[FeatureSpec]:
    """Catalogue entries of the exhaustion group at ``config.landmark_day``."""
    day, window = config.landmark_day, config.peak_window_days
    out = column_specs(GROUP, day)
    car = KINETIC_MARKERS[0][0]
    for name in markers():
        m = load_contract().markers[name]
        what = m.description.replace("% ", "", 1)
        out += [
            FeatureSpec(f"{name}_at_car_peak", GROUP, "numeric", m.unit, f"% {what} at the CAR T expansion peak (+/- {window} days)", (f"marker:{name}", f"marker:{car}")),
            FeatureSpec(f"{name}_at_landmark", GROUP, "numeric", m.unit, f"% {what}, latest on or before day {day}", (f"marker:{name}",)),
            FeatureSpec(f"{name}_trend_per_day", GROUP, "numeric", f"{m.unit} per day", f"% {what}: trend day 0-{day} (points per day)", (f"marker:{name}",)),
        ]  # fmt: skip
    return out


def nearest_to(s: Series, target_day: np.ndarray, window: int) -> np.ndarray:
    """Per patient, the value observed nearest to ``target_day`` (per patient) within ``window``."""
    t = s.per_row(target_day)
    with np.errstate(invalid="ignore"):
        dist = np.abs(s.day - t)
        eligible = dist <= window  # NaN target -> False
    # Twice the distance, plus one when after the target: earlier wins a tie.
    score = np.where(eligible, 2.0 * dist + (s.day > t), np.inf)
    if not len(s.starts):
        return np.full(s.n, np.nan)
    best = np.minimum.reduceat(score, s.starts)
    pick = s.first_where(eligible & (score == np.repeat(best, s.ends - s.starts)))
    return s.at_index(s.value, pick)


def values(X: pd.DataFrame, panel: Panel, config: FeatureConfig) -> dict[str, np.ndarray]:
    """Exhaustion feature values, one per row of ``X``, in catalogue order."""
    out = column_values(X, GROUP, config.landmark_day)
    peak_day = car_peak_day(panel)
    for name in markers():
        s = panel.series(name)
        out[f"{name}_at_car_peak"] = nearest_to(s, peak_day, config.peak_window_days)
        out[f"{name}_at_landmark"] = s.latest_value()
        out[f"{name}_trend_per_day"] = s.slope(s.value)
    return out
