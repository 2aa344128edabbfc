"""Candidate model families, preprocessing, calibration, model selection and splits.

The served model is scikit-learn's ``CalibratedClassifierCV(ensemble=False)``
around a plain pipeline (``features`` -> ``preprocess`` -> ``classifier``): the
pipeline refitted on all rows (:func:`fitted_pipeline`) and a calibration map from
its native output to risk (:func:`calibration_map`, :func:`calibrate`).
"""

from relapse_ml.modeling.baseline import (
    CLINICAL_BASELINE_COLUMNS,
    ContractColumnFeatures,
    clinical_baseline_model,
    contract_feature_catalogue,
)
from relapse_ml.modeling.calibration import (
    CALIBRATION_METHODS,
    LOG_ODDS,
    PROBABILITY,
    calibrate,
    calibration_map,
    fit_calibrated_classifier,
    fitted_pipeline,
    native_output,
    native_space,
    route_sample_weight,
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
    "LOG_ODDS",
    "PROBABILITY",
    "SELECTION_METRICS",
    "SPLIT_STRATEGIES",
    "ContractColumnFeatures",
    "ModelFamily",
    "ParamRange",
    "SelectionResult",
    "build_pipeline",
    "calibrate",
    "calibration_map",
    "clinical_baseline_model",
    "contract_feature_catalogue",
    "count_candidate_parameters",
    "default_model_families",
    "family_by_name",
    "fit_calibrated_classifier",
    "fit_feature_catalogue",
    "fitted_pipeline",
    "load_model_families",
    "make_preprocessor",
    "native_output",
    "native_space",
    "preprocessed_to_feature",
    "route_sample_weight",
    "select_model",
    "split_train_test",
]
