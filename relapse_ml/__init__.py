"""relapse-ml: calibrated, explained risk of relapse after CAR T-cell therapy.

The public API is small and imported lazily (``import relapse_ml`` stays fast;
MLflow and SHAP load only when used)::

    from relapse_ml import validate_folder, train_relapse_model, score_patients

``validate_folder``      read and check a data folder against the contract
``simulate_cohort``      mechanistic simulated cohort (patients, measurements, outcomes, truth)
``LandmarkFeatures``     the landmark feature pipeline (scikit-learn transformer)
``attach_measurements``  patients + measurements -> the pipeline's input frame
``train_relapse_model``  select, calibrate and evaluate a model (no I/O)
``score_patients``       risk, mechanism contributions and drivers for typed tables
``explain_patients``     SHAP contributions of the served risk
``load_model``           load a saved model artifact (``.skops``)
``load_served_model``    load a model from an MLflow URI (``models:/car-t-relapse@champion``)
``load_contract``        the data contract
"""

from __future__ import annotations

import importlib

from relapse_ml._version import package_version

__version__ = package_version()

_EXPORTS = {
    "validate_folder": "relapse_ml.validation",
    "simulate_cohort": "relapse_ml.simulate",
    "LandmarkFeatures": "relapse_ml.features",
    "attach_measurements": "relapse_ml.features",
    "train_relapse_model": "relapse_ml.training",
    "score_patients": "relapse_ml.serving.scoring",
    "explain_patients": "relapse_ml.explain",
    "load_model": "relapse_ml.artifact",
    "load_served_model": "relapse_ml.tracking",
    "load_contract": "relapse_ml.schema",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'relapse_ml' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
