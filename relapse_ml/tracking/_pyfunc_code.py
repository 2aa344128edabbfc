"""Models-from-code entry point: MLflow runs this file to build the pyfunc (no pickling)."""

import mlflow

from relapse_ml.tracking.pyfunc import RelapseRiskPyfunc

mlflow.models.set_model(RelapseRiskPyfunc())
