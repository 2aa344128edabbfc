"""Candidate model families, preprocessing, calibration, model selection and splits.

The served model is a :class:`CalibratedRiskClassifier`: a plain scikit-learn
pipeline (``features`` -> ``preprocess`` -> ``classifier``) plus a calibrator
mapping the classifier's margin to risk.
"""

from relapse_ml.modeling.baseline import (
    CLINICAL_BASELINE_COLUMNS,
    ContractColumnFeatures,
    clinical_baseline_model,
    contract_feature_catalogue,
)
from relapse_ml.modeling.calibration import (
    CALIBRATION_METHODS,
    CalibratedRiskClassifier,
    classifier_margin,
)
from relapse_ml.modeling.families import (
    ModelFamily,
    ParamRange,
    default_model_families,
    family_by_name,
    load_model_families,
)
from relapse_ml.modeling.preprocessing import (
    count_candidate_parameters,
    events_per_parameter,
    make_preprocessor,
    preprocessed_to_feature,
)
from relapse_ml.modeling.selection import (
    SELECTION_METRICS,
    SelectionResult,
    build_pipeline,
    fit_feature_catalogue,
    select_model,
)
from relapse_ml.modeling.splitting import SPLIT_STRATEGIES, split_train_test

__all__ = [
    "CALIBRATION_METHODS",
    "CLINICAL_BASELINE_COLUMNS",
    "SELECTION_METRICS",
    "SPLIT_STRATEGIES",
    "CalibratedRiskClassifier",
    "ContractColumnFeatures",
    "ModelFamily",
    "ParamRange",
    "SelectionResult",
    "build_pipeline",
    "classifier_margin",
    "clinical_baseline_model",
    "contract_feature_catalogue",
    "count_candidate_parameters",
    "default_model_families",
    "events_per_parameter",
    "family_by_name",
    "fit_feature_catalogue",
    "load_model_families",
    "make_preprocessor",
    "preprocessed_to_feature",
    "select_model",
    "split_train_test",
]
