"""The clinical-only baseline: logistic regression on a few routine variables.

Disease, tumour burden (LDH, marrow blasts, metabolic tumour volume), age and
prior lines of therapy, read straight from the contract's patients columns,
with the same preprocessing as the candidate families. It is the reference the
champion must beat (``baseline_auroc`` ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from relapse_ml.errors import ConfigError
from relapse_ml.features.catalogue import FeatureSpec
from relapse_ml.modeling.families import ModelFamily
from relapse_ml.modeling.preprocessing import make_preprocessor
from relapse_ml.schema import load_contract

# Contract column names; ContractColumnFeatures checks each against the contract.
CLINICAL_BASELINE_COLUMNS = (
    "disease",
    "ldh_u_per_l",
    "marrow_blasts_pct",
    "metabolic_tumor_volume_ml",
    "age_years",
    "prior_lines",
)
_KIND_OF_DTYPE = {"number": "numeric", "integer": "numeric", "boolean": "binary"}
# An ordinary logistic model; the very weak ridge (C=100) only keeps the
# one-hot disease coefficients identifiable next to the intercept.
BASELINE_FAMILY = ModelFamily(
    name="clinical_baseline",
    estimator="LogisticRegression",
    fixed_params={"C": 100.0, "solver": "lbfgs", "max_iter": 1000},
    description="Clinical-only baseline: (essentially unpenalised) logistic regression.",
)


def contract_feature_catalogue(
    columns: Sequence[str], landmark_day: int | None = None
) -> tuple[FeatureSpec, ...]:
    """Describe contract patient columns as features.

    Raises
    ------
    ConfigError
        A column is not in the contract, is not numeric/boolean/category, or
        is not known by ``landmark_day``.
    """
    contract = load_contract()
    day = contract.default_landmark_day if landmark_day is None else int(landmark_day)
    specs = []
    for name in columns:
        try:
            col = contract.patients.column(name)
        except KeyError as exc:
            raise ConfigError(f"baseline column {name!r} is not a patients column") from exc
        if col.available_from_day is None or col.available_from_day > day:
            raise ConfigError(f"baseline column {name!r} is not known by landmark day {day}")
        if col.dtype == "category":
            kind, categories = "categorical", col.values
        elif col.dtype in _KIND_OF_DTYPE:
            kind, categories = _KIND_OF_DTYPE[col.dtype], None
        else:
            raise ConfigError(f"baseline column {name!r} has dtype {col.dtype}, not usable")
        specs.append(
            FeatureSpec(
                name=name,
                group=col.group or "clinical",
                kind=kind,
                unit=col.unit or "",
                label=col.description,
                sources=(f"patients.{name}",),
                categories=categories,
            )
        )
    return tuple(specs)


class ContractColumnFeatures(TransformerMixin, BaseEstimator):
    """Feature step that passes chosen contract patient columns through.

    Numeric and boolean columns become float64 (NaN missing); category columns
    become string columns (NaN missing), as in the landmark feature frame.

    Parameters
    ----------
    columns : tuple of str
        Contract patients columns.
    landmark_day : int, optional
        Every column must be known by this day (default: the contract's).

    Attributes
    ----------
    feature_catalogue_ : tuple of FeatureSpec
        One spec per column.
    feature_names_in_ : ndarray
        Columns of the frame seen in ``fit``.
    """

    def __init__(
        self, columns: tuple[str, ...] = CLINICAL_BASELINE_COLUMNS, landmark_day: int | None = None
    ) -> None:
        self.columns = columns
        self.landmark_day = landmark_day

    def fit(self, X: pd.DataFrame, y: Any = None) -> ContractColumnFeatures:
        """Check the columns against the contract and ``X``; build the catalogue."""
        if not isinstance(X, pd.DataFrame):
            raise TypeError("X must be a DataFrame of patients")
        missing = [c for c in self.columns if c not in X.columns]
        if missing:
            raise ConfigError(f"patients frame lacks baseline column(s) {missing}")
        self.feature_catalogue_ = contract_feature_catalogue(self.columns, self.landmark_day)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Return the feature frame (one row per patient, same index)."""
        check_is_fitted(self, "feature_catalogue_")
        out = {}
        for spec in self.feature_catalogue_:
            values = X[spec.name]
            if spec.kind == "categorical":
                text = values.astype(object)
                out[spec.name] = text.where(values.notna(), np.nan).astype(object)
            else:
                out[spec.name] = pd.to_numeric(values, errors="raise").astype(np.float64)
        return pd.DataFrame(out, index=X.index)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Return the output column names."""
        check_is_fitted(self, "feature_catalogue_")
        return np.asarray([s.name for s in self.feature_catalogue_], dtype=object)


def clinical_baseline_model(
    columns: Sequence[str] = CLINICAL_BASELINE_COLUMNS,
    *,
    landmark_day: int | None = None,
    random_state: int = 0,
) -> Pipeline:
    """Return the unfitted clinical-only baseline pipeline.

    Parameters
    ----------
    columns : sequence of str
        Contract patients columns (default: disease, LDH, marrow blasts,
        metabolic tumour volume, age, prior lines).
    landmark_day : int, optional
        Checked against each column's availability.
    random_state : int
        Seed (the unpenalised lbfgs fit does not use it; kept for uniformity).

    Returns
    -------
    Pipeline
        Steps ``features`` (:class:`ContractColumnFeatures`), ``preprocess``
        (median imputation + missing indicators + scaling, one-hot disease)
        and ``classifier`` (LogisticRegression, C=100). Fit it with
        ``fit(X, y, classifier__sample_weight=w)``; its ``predict_proba``
        is the baseline risk.
    """
    catalogue = contract_feature_catalogue(tuple(columns), landmark_day)
    return Pipeline(
        [
            ("features", ContractColumnFeatures(tuple(columns), landmark_day)),
            ("preprocess", make_preprocessor(catalogue, BASELINE_FAMILY)),
            ("classifier", BASELINE_FAMILY.make_estimator({}, random_state)),
        ]
    )
