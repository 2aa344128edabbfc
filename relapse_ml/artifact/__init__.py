"""The trained artifact: the served model, its training reference, risk bands, and the file format.

One file (``.skops``) carries everything from raw contract tables to calibrated
risk and explanation; loading checks every type in it against an allowlist
(:mod:`relapse_ml.artifact.trusted_types`) before anything is constructed.
"""

from relapse_ml.artifact.model import (
    LandmarkModels,
    LandmarkNotTrainedError,
    RelapseRiskModel,
    RiskBands,
    ServedModel,
    file_sha256,
    is_model_file,
    load_model,
    load_model_file,
    save_model,
)

__all__ = [
    "LandmarkModels",
    "LandmarkNotTrainedError",
    "RelapseRiskModel",
    "RiskBands",
    "ServedModel",
    "file_sha256",
    "is_model_file",
    "load_model",
    "load_model_file",
    "save_model",
]
