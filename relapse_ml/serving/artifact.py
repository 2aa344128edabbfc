"""The one trained artifact: raw contract tables in, calibrated risk out.

Batch prediction, REST serving and the clinician report all load this object,
so training and serving cannot drift apart. It is saved with skops (no pickle):
only the types listed in :data:`TRUSTED_TYPE_PREFIXES` are loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from relapse_ml.features import FeatureSpec, attach_measurements
from relapse_ml.modeling import CalibratedRiskClassifier

# Types a saved artifact may contain: our own classes, scikit-learn, numpy and
# scipy. Anything else in a file is refused at load time.
TRUSTED_TYPE_PREFIXES = ("relapse_ml.", "sklearn.", "numpy.", "scipy.", "builtins.", "collections.")


@dataclass
class RiskBands:
    """Risk bands shown to clinicians (probability thresholds, labels, rationale)."""

    thresholds: tuple[float, ...]
    labels: tuple[str, ...]
    rationale: str

    def assign(self, risk: np.ndarray) -> np.ndarray:
        """Return the band label of each risk (a risk equal to a threshold takes the higher band)."""
        index = np.searchsorted(
            np.asarray(self.thresholds, dtype=float), np.asarray(risk, dtype=float), side="right"
        )
        return np.asarray(self.labels, dtype=object)[index]


@dataclass
class RelapseRiskModel:
    """Everything needed to go from contract tables to an explained risk.

    Attributes
    ----------
    classifier : CalibratedRiskClassifier
        Features -> preprocessing -> classifier, plus the calibration map.
    catalogue : tuple of FeatureSpec
        What each feature is (group, unit, plain-language label, sources).
    landmark_day, horizon_days : int
        The prediction task.
    schema_version : int
        Data-contract version the model was trained on.
    package_version : str
        relapse-ml version that trained it.
    family, calibration_method : str
        Chosen model family and calibration map.
    risk_bands : RiskBands
        Band thresholds and their rationale.
    reference : dict
        Training-population reference (feature ranges, medians, categories,
        background sample for explanations, drift bins); see
        :func:`relapse_ml.serving.reference.build_training_reference`.
    trained_at : str
        ISO timestamp of training.
    metrics : dict of str to float
        Headline test metrics, for reports.
    model_name : str
        Registered model name.
    """

    classifier: CalibratedRiskClassifier
    catalogue: tuple[FeatureSpec, ...]
    landmark_day: int
    horizon_days: int
    schema_version: int
    package_version: str
    family: str
    calibration_method: str
    risk_bands: RiskBands
    reference: dict = field(default_factory=dict)
    trained_at: str = ""
    metrics: dict = field(default_factory=dict)
    model_name: str = "car-t-relapse"

    def model_input(self, patients: pd.DataFrame, measurements: pd.DataFrame) -> pd.DataFrame:
        """Canonical typed tables -> the classifier's input (one row per patient)."""
        return attach_measurements(patients, measurements)

    def features(self, model_input: pd.DataFrame) -> pd.DataFrame:
        """The landmark features (before imputation) of each patient."""
        out = self.classifier.estimator_.named_steps["features"].transform(model_input)
        names = [s.name for s in self.catalogue]
        return out if isinstance(out, pd.DataFrame) else pd.DataFrame(out, columns=names)

    def risk(self, model_input: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of relapse by the horizon, one per patient."""
        return self.classifier.predict_proba(model_input)[:, 1]


def save_model(model: RelapseRiskModel, path: Path) -> Path:
    """Save ``model`` with skops (pickle-free) and return ``path``."""
    import skops.io as sio

    sio.dump(model, path)
    return path


def load_model(path: Path) -> RelapseRiskModel:
    """Load a model saved by :func:`save_model`, trusting only known type prefixes.

    Raises
    ------
    ValueError
        The file contains a type outside :data:`TRUSTED_TYPE_PREFIXES`.
    """
    import skops.io as sio

    untrusted = sio.get_untrusted_types(file=path)
    refused = [t for t in untrusted if not t.startswith(TRUSTED_TYPE_PREFIXES)]
    if refused:
        raise ValueError(f"{path}: refusing to load untrusted types: {', '.join(refused)}")
    model = sio.load(path, trusted=untrusted)
    if not isinstance(model, RelapseRiskModel):
        raise ValueError(f"{path} does not hold a RelapseRiskModel")
    return model
