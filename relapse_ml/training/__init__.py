"""Training: pure steps from typed contract tables to a trained, evaluated artifact (no I/O)."""

from relapse_ml.training.train import (
    ANTICIPATED_C_STATISTIC,
    TrainingResult,
    package_version,
    train_relapse_model,
)

__all__ = ["ANTICIPATED_C_STATISTIC", "TrainingResult", "package_version", "train_relapse_model"]
