"""scikit-learn transformers: one per mechanism group, and the composer.

Input of every transformer: the canonical patients table plus the
:data:`~relapse_ml.features._panel.MEASUREMENTS_COLUMN` built by
:func:`~relapse_ml.features._panel.attach_measurements`.  Output: one row per
input row, in input order, columns as in the feature catalogue.
"""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from relapse_ml.errors import ConfigError
from relapse_ml.features import antigen, clinical, exhaustion, persistence, tme
from relapse_ml.features._panel import MEASUREMENTS_COLUMN, Panel
from relapse_ml.features.catalogue import FeatureSpec
from relapse_ml.features.config import (
    LLOQ_FACTORS,
    FeatureConfig,
)

_MODULES: dict[str, ModuleType] = {
    "antigen": antigen,
    "exhaustion": exhaustion,
    "persistence": persistence,
    "tme": tme,
    "clinical": clinical,
}


def feature_catalogue(config: FeatureConfig) -> tuple[FeatureSpec, ...]:
    """Return the feature catalogue for ``config`` (no data needed).

    Parameters
    ----------
    config : FeatureConfig
        Landmark, groups and options.

    Returns
    -------
    tuple of FeatureSpec
        One entry per output column, in output order.
    """
    specs = tuple(s for g in config.groups for s in _MODULES[g].specs(config))
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise RuntimeError(f"duplicate feature names in the catalogue: {names}")
    return specs


def compute_features(X: pd.DataFrame, config: FeatureConfig) -> pd.DataFrame:
    """Compute the features of ``config`` for every row of ``X`` (validated input)."""
    column = X[MEASUREMENTS_COLUMN].to_numpy(dtype=object)
    panel = Panel(column, config.landmark_day, LLOQ_FACTORS[config.lloq_rule])
    values: dict[str, np.ndarray] = {}
    for group in config.groups:
        values.update(_MODULES[group].values(X, panel, config))
    specs = feature_catalogue(config)
    if list(values) != [s.name for s in specs]:  # a programming error, never bad data
        raise RuntimeError("feature values and catalogue disagree")
    data = {
        s.name: values[s.name]
        if s.kind == "categorical"
        else np.asarray(values[s.name], dtype=np.float64)
        for s in specs
    }
    return pd.DataFrame(data, index=X.index)


def _required_columns(catalogue: tuple[FeatureSpec, ...]) -> list[str]:
    cols = {MEASUREMENTS_COLUMN}
    for spec in catalogue:
        cols.update(s.split(".", 1)[1] for s in spec.sources if s.startswith("patients."))
    return sorted(cols)


def _check_input(X: Any, catalogue: tuple[FeatureSpec, ...]) -> pd.DataFrame:
    if issparse(X):
        raise TypeError("sparse input is not supported: X must be the patients DataFrame")
    if not isinstance(X, pd.DataFrame):
        raise ValueError(
            "X must be the patients DataFrame with a "
            f"{MEASUREMENTS_COLUMN!r} column (see attach_measurements); got {type(X).__name__}"
        )
    missing = [c for c in _required_columns(catalogue) if c not in X.columns]
    if missing:
        raise ValueError(f"X lacks columns needed for these features: {missing}")
    return X


class _LandmarkTransformer(TransformerMixin, BaseEstimator):
    """Shared fit/transform; subclasses define their parameters and ``_config``."""

    def _config(self) -> FeatureConfig:
        raise NotImplementedError

    def _config_from(self, **overrides: Any) -> FeatureConfig:
        # A parameter left at None takes the shipped recipe's value (the one
        # place the defaults are written).
        params = {**self.get_params(deep=False), **overrides}
        given = {k: v for k, v in params.items() if v is not None}
        if "antigen_density_thresholds" in given:
            given["antigen_density_thresholds"] = [
                tuple(row) for row in given["antigen_density_thresholds"]
            ]
        try:
            return FeatureConfig.from_dict(given)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None

    def fit(self, X: pd.DataFrame, y: Any = None) -> _LandmarkTransformer:
        """Validate the parameters and the input columns; build the catalogue.

        Parameters
        ----------
        X : DataFrame
            Patients with the measurements column (see ``attach_measurements``).
        y : ignored

        Returns
        -------
        self
        """
        config = self._config()
        catalogue = feature_catalogue(config)
        X = _check_input(X, catalogue)
        self.config_ = config
        self.feature_catalogue_ = catalogue
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Compute the features: one row per input row, in input order.

        Returns
        -------
        DataFrame
            Numeric/binary features float64, categorical ones str. Always a
            DataFrame: the features mix numbers and categories, which an array
            would flatten to objects; ``set_output`` (pandas or polars) wraps it
            through scikit-learn's public mechanism.
        """
        check_is_fitted(self)
        X = _check_input(X, self.feature_catalogue_)
        return compute_features(X, self.config_)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output columns (the catalogue's names, in order)."""
        check_is_fitted(self)
        return np.asarray([s.name for s in self.feature_catalogue_], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = []
        return tags


class PersistenceFeatures(_LandmarkTransformer):
    """CAR expansion kinetics, B-cell aplasia and product attributes at landmark day L.

    Parameters
    ----------
    landmark_day : int, optional
    lloq_rule : {"half", "sqrt2"}, optional
    b_cell_aplasia_threshold_per_ul : float, optional
        See :class:`FeatureConfig` for every option; ``None`` takes the shipped
        recipe's value (``pipelines/train.yaml``).
    """

    def __init__(
        self,
        landmark_day: int | None = None,
        lloq_rule: str | None = None,
        b_cell_aplasia_threshold_per_ul: float | None = None,
    ) -> None:
        self.landmark_day = landmark_day
        self.lloq_rule = lloq_rule
        self.b_cell_aplasia_threshold_per_ul = b_cell_aplasia_threshold_per_ul

    def _config(self) -> FeatureConfig:
        return self._config_from(groups=("persistence",))


class ExhaustionFeatures(_LandmarkTransformer):
    """Product and in-vivo exhaustion markers at landmark day L (see :class:`FeatureConfig`)."""

    def __init__(
        self,
        landmark_day: int | None = None,
        lloq_rule: str | None = None,
        peak_window_days: int | None = None,
    ) -> None:
        self.landmark_day = landmark_day
        self.lloq_rule = lloq_rule
        self.peak_window_days = peak_window_days

    def _config(self) -> FeatureConfig:
        return self._config_from(groups=("exhaustion",))


class AntigenFeatures(_LandmarkTransformer):
    """Antigen escape and tumour burden at landmark day L (see :class:`FeatureConfig`)."""

    def __init__(
        self,
        landmark_day: int | None = None,
        lloq_rule: str | None = None,
        antigen_negative_pos_pct_cutoff: float | None = None,
        antigen_density_thresholds: tuple[tuple[str, str, float], ...] | None = None,
    ) -> None:
        self.landmark_day = landmark_day
        self.lloq_rule = lloq_rule
        self.antigen_negative_pos_pct_cutoff = antigen_negative_pos_pct_cutoff
        self.antigen_density_thresholds = antigen_density_thresholds

    def _config(self) -> FeatureConfig:
        return self._config_from(groups=("antigen",))


class TmeFeatures(_LandmarkTransformer):
    """Suppressive microenvironment at baseline and by landmark day L."""

    def __init__(self, landmark_day: int | None = None, lloq_rule: str | None = None) -> None:
        self.landmark_day = landmark_day
        self.lloq_rule = lloq_rule

    def _config(self) -> FeatureConfig:
        return self._config_from(groups=("tme",))


class ClinicalFeatures(_LandmarkTransformer):
    """Clinical factors known by landmark day L and inflammation peaks by L."""

    def __init__(self, landmark_day: int | None = None, lloq_rule: str | None = None) -> None:
        self.landmark_day = landmark_day
        self.lloq_rule = lloq_rule

    def _config(self) -> FeatureConfig:
        return self._config_from(groups=("clinical",))


class LandmarkFeatures(_LandmarkTransformer):
    """All mechanism groups at landmark day L, computed from one pass over the measurements.

    Parameters mirror :class:`FeatureConfig` (see it for meanings and defaults).
    After ``fit``, ``feature_catalogue_`` describes every output column in order.
    """

    def __init__(
        self,
        landmark_day: int | None = None,
        groups: tuple[str, ...] | None = None,
        lloq_rule: str | None = None,
        b_cell_aplasia_threshold_per_ul: float | None = None,
        peak_window_days: int | None = None,
        antigen_negative_pos_pct_cutoff: float | None = None,
        antigen_density_thresholds: tuple[tuple[str, str, float], ...] | None = None,
    ) -> None:
        self.landmark_day = landmark_day
        self.groups = groups
        self.lloq_rule = lloq_rule
        self.b_cell_aplasia_threshold_per_ul = b_cell_aplasia_threshold_per_ul
        self.peak_window_days = peak_window_days
        self.antigen_negative_pos_pct_cutoff = antigen_negative_pos_pct_cutoff
        self.antigen_density_thresholds = antigen_density_thresholds

    @classmethod
    def from_config(cls, config: FeatureConfig) -> LandmarkFeatures:
        """Build the composer from a :class:`FeatureConfig`."""
        return cls(**{f.name: getattr(config, f.name) for f in dataclasses.fields(config)})

    def _config(self) -> FeatureConfig:
        return self._config_from()
