"""Training: pure steps from typed contract tables to a trained, evaluated artifact (no I/O)."""

from relapse_ml.training.config import PromotionConfig, TrainConfig
from relapse_ml.training.steps import ANTICIPATED_C_STATISTIC
from relapse_ml.training.train import TrainingResult, train_relapse_model

__all__ = [
    "ANTICIPATED_C_STATISTIC",
    "PromotionConfig",
    "TrainConfig",
    "TrainingResult",
    "train_relapse_model",
]
