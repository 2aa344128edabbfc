"""Preprocessing of the feature frame: imputation, scaling, one-hot encoding.

One :class:`~sklearn.compose.ColumnTransformer` per family, built from the
feature catalogue. Every output column comes from exactly one feature, so
explanations can sum one-hot and missing-indicator columns back into it
(:func:`preprocessed_to_feature`). Categorical features are always one-hot
encoded: HistGradientBoosting's native categorical support is never used
because shap's TreeSHAP is silently wrong with it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from relapse_ml.features.catalogue import FeatureSpec
from relapse_ml.modeling.families import ModelFamily, family_by_name

NUMERIC, BINARY, CATEGORICAL = "numeric", "binary", "categorical"


def make_preprocessor(
    catalogue: Sequence[FeatureSpec], family: str | ModelFamily
) -> ColumnTransformer:
    """Build the unfitted preprocessing step for one model family.

    Parameters
    ----------
    catalogue : sequence of FeatureSpec
        Features the feature step produces (``feature_catalogue_``).
    family : str or ModelFamily
        The family (a name is looked up among the default families). Linear
        families get standardised numeric features.

    Returns
    -------
    ColumnTransformer
        Transformers ``numeric`` (median imputation + missing indicators, plus
        ``StandardScaler`` for linear families), ``binary`` (most-frequent
        imputation + missing indicators) and ``categorical`` (one-hot with the
        catalogue's categories; a missing or unknown value encodes as all
        zeros, i.e. its own reference level). Dense output, verbose names
        (``numeric__age_years``, ``numeric__missingindicator_age_years``,
        ``categorical__disease_LBCL``). Empty kinds are left out.
    """
    fam = family if isinstance(family, ModelFamily) else family_by_name(family)
    by_kind: dict[str, list[FeatureSpec]] = {NUMERIC: [], BINARY: [], CATEGORICAL: []}
    for spec in catalogue:
        if spec.kind not in by_kind:
            raise ValueError(f"feature {spec.name!r}: unknown kind {spec.kind!r}")
        by_kind[spec.kind].append(spec)
    transformers: list[tuple[str, BaseEstimator, list[str]]] = []
    if by_kind[NUMERIC]:
        # keep_empty_features: a feature missing in a whole training fold must
        # still yield its column, else fold outputs would differ in shape.
        steps: list[tuple[str, BaseEstimator]] = [
            (
                "impute",
                SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            )
        ]
        if fam.is_linear:
            steps.append(("scale", StandardScaler()))
        transformers.append((NUMERIC, Pipeline(steps), [s.name for s in by_kind[NUMERIC]]))
    if by_kind[BINARY]:
        imputer = SimpleImputer(
            strategy="most_frequent", add_indicator=True, keep_empty_features=True
        )
        transformers.append((BINARY, imputer, [s.name for s in by_kind[BINARY]]))
    if by_kind[CATEGORICAL]:
        for spec in by_kind[CATEGORICAL]:
            if not spec.categories:
                raise ValueError(f"categorical feature {spec.name!r} has no categories")
        encoder = OneHotEncoder(
            categories=[list(s.categories or ()) for s in by_kind[CATEGORICAL]],
            handle_unknown="ignore",
            sparse_output=False,
            dtype=np.float64,
        )
        transformers.append((CATEGORICAL, encoder, [s.name for s in by_kind[CATEGORICAL]]))
    return ColumnTransformer(
        transformers, remainder="drop", sparse_threshold=0.0, verbose_feature_names_out=True
    )


def _imputer_of(transformer: BaseEstimator) -> SimpleImputer:
    if isinstance(transformer, Pipeline):
        return transformer.named_steps["impute"]
    if isinstance(transformer, SimpleImputer):
        return transformer
    raise TypeError(f"unexpected transformer {type(transformer).__name__}")


def preprocessed_to_feature(preprocessor: ColumnTransformer) -> list[str]:
    """Map every output column of a fitted preprocessor to its source feature.

    Parameters
    ----------
    preprocessor : ColumnTransformer
        Fitted output of :func:`make_preprocessor`.

    Returns
    -------
    list of str
        Same length and order as ``preprocessor.get_feature_names_out()``:
        the feature each column comes from (a one-hot column and a missing
        indicator map to their feature).
    """
    check_is_fitted(preprocessor)
    mapping: list[str] = []
    for name, transformer, columns in preprocessor.transformers_:
        if name == "remainder" or transformer == "drop" or len(columns) == 0:
            continue
        cols = [str(c) for c in columns]
        if name == CATEGORICAL:
            for col, cats in zip(cols, transformer.categories_, strict=True):
                mapping.extend([col] * len(cats))
        else:
            imputer = _imputer_of(transformer)
            mapping.extend(cols)
            if imputer.indicator_ is not None:
                mapping.extend(cols[i] for i in imputer.indicator_.features_)
        # Guard the structural mapping against any drift in sklearn's layout.
        span = preprocessor.output_indices_[name]
        if len(mapping) != span.stop:
            raise RuntimeError(f"cannot map outputs of transformer {name!r} to features")
    return mapping


def count_candidate_parameters(fitted_or_catalogue: object) -> int:
    """Count candidate predictor parameters for the events-per-parameter check.

    Parameters
    ----------
    fitted_or_catalogue : fitted estimator or sequence of FeatureSpec
        A fitted ``CalibratedClassifierCV`` (its refitted pipeline), a fitted pipeline with a
        ``preprocess`` step, a fitted preprocessor, or a feature catalogue.

    Returns
    -------
    int
        Fitted: the number of preprocessed columns (one per numeric/binary
        feature, one per missing indicator, one per one-hot level).
        Catalogue: one per numeric/binary feature plus one per category (no
        missing indicators, as they depend on the data).
    """
    obj = fitted_or_catalogue
    if hasattr(obj, "calibrated_classifiers_"):
        obj = obj.calibrated_classifiers_[0].estimator
    if isinstance(obj, Pipeline):
        obj = obj.named_steps["preprocess"]
    if isinstance(obj, ColumnTransformer):
        check_is_fitted(obj)
        return len(obj.get_feature_names_out())
    if isinstance(obj, Sequence) and all(isinstance(s, FeatureSpec) for s in obj):
        return sum(len(s.categories or ()) if s.kind == CATEGORICAL else 1 for s in obj)
    raise TypeError(f"cannot count parameters of {type(fitted_or_catalogue).__name__}")
