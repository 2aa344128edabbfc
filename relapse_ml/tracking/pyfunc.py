"""The MLflow pyfunc wrapper of the served artifact (REST serving, Spark, ``models:/`` URIs).

The request shape and its handling live in :mod:`relapse_ml.serving.rest`; this
wrapper only loads the artifact and hands requests to it.
"""

from __future__ import annotations

import mlflow.pyfunc
import pandas as pd

from relapse_ml.serving.rest import score_request

ARTIFACT_KEY = "relapse_model"


class RelapseRiskPyfunc(mlflow.pyfunc.PythonModel):
    """Loads the skops artifact and scores requests through the shared scoring function."""

    def load_context(self, context) -> None:
        """Load the artifact saved with the model (allowlisted types, checksum from logging).

        Raises
        ------
        UntrustedModelError
            The artifact holds a type off the allowlist or was changed after logging.
        """
        from relapse_ml.artifact import load_model

        config = context.model_config or {}
        self.model = load_model(
            context.artifacts[ARTIFACT_KEY], expected_sha256=config.get("skops_sha256") or None
        )
        self.model_version = str(config.get("model_version", ""))

    def predict(
        self, context, model_input: pd.DataFrame, params: dict | None = None
    ) -> pd.DataFrame:
        """Score ``model_input`` (see module docstring); ``params`` may set ``top_k`` and ``landmark``.

        Raises
        ------
        LandmarkNotTrainedError
            ``landmark`` is not one the model was trained for (the message names them).
        """
        params = params or {}
        top_k = int(params.get("top_k", 3))
        landmark = params.get("landmark")
        return score_request(
            self.model,
            model_input,
            top_k=top_k,
            model_version=self.model_version,
            landmark=None if landmark is None else int(landmark),
        )
