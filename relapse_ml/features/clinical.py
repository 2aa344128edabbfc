"""Clinical features: disease, target, age, prior lines, bridging, toxicity, inflammation.

Patient columns come from the contract's clinical group and are used only when
known by L (``available_from_day``): CRS/ICANS grade, tocilizumab and steroid dose
(known from day 14) are absent from the features at L < 14.  Identifiers, free
text (site) and dates are never features.  Inflammation: the highest IL-6,
ferritin and CRP (the catalogue's clinical markers) between day 0 and L.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from relapse_ml.features._panel import Panel
from relapse_ml.features._patient_columns import column_specs, column_values
from relapse_ml.features.catalogue import FeatureSpec
from relapse_ml.features.config import FeatureConfig
from relapse_ml.features.tme import marker_specs, marker_values

GROUP = "clinical"


def specs(config: FeatureConfig) -> list[FeatureSpec]:
    """Catalogue entries of the clinical group at ``config.landmark_day``."""
    day = config.landmark_day
    return column_specs(GROUP, day) + marker_specs(GROUP, day, latest=False)


def values(X: pd.DataFrame, panel: Panel, config: FeatureConfig) -> dict[str, np.ndarray]:
    """Clinical feature values, one per row of ``X``, in catalogue order."""
    out = column_values(X, GROUP, config.landmark_day)
    out.update(marker_values(panel, GROUP, config.landmark_day, latest=False))
    return out
