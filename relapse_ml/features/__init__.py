"""Landmark-aware features per mechanism group, and their catalogue.

Typical use::

    X = attach_measurements(patients, measurements)
    features = LandmarkFeatures(landmark_day=28).set_output(transform="pandas")
    frame = features.fit_transform(X)
    catalogue = features.feature_catalogue_   # one FeatureSpec per column
"""

from relapse_ml.features._panel import MEASUREMENTS_COLUMN, attach_measurements
from relapse_ml.features.catalogue import FEATURE_KINDS, FeatureSpec, catalogue_frame
from relapse_ml.features.config import GROUPS, FeatureConfig
from relapse_ml.features.transformers import (
    AntigenFeatures,
    ClinicalFeatures,
    ExhaustionFeatures,
    LandmarkFeatures,
    PersistenceFeatures,
    TmeFeatures,
    feature_catalogue,
)

__all__ = [
    "FEATURE_KINDS",
    "GROUPS",
    "MEASUREMENTS_COLUMN",
    "AntigenFeatures",
    "ClinicalFeatures",
    "ExhaustionFeatures",
    "FeatureConfig",
    "FeatureSpec",
    "LandmarkFeatures",
    "PersistenceFeatures",
    "TmeFeatures",
    "attach_measurements",
    "catalogue_frame",
    "feature_catalogue",
]
