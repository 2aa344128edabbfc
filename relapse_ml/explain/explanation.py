"""Explanations of exactly the served risk, per feature and per mechanism group.

The rule that carries native SHAP values to the calibrated probability scale
------------------------------------------------------------------------------
Let ``phi`` be the exact SHAP values of the classifier step in its native output
space (log-odds for logistic regression and gradient boosting, probability for
the random forest), ``b0`` their base value and ``s = b0 + sum(phi)`` the native
output (checked, see :mod:`relapse_ml.explain._native`). The served risk is
``risk = g(s)`` with ``g`` the calibration map scikit-learn's
``CalibratedClassifierCV`` fitted on that same native output
(``calibrated_classifiers_[0].calibrators[0]``, see
:func:`relapse_ml.modeling.calibrate`). Then

- ``baseline_risk = g(b0)``: one constant per model;
- ``contribution_j = phi_j * (risk - baseline_risk) / sum(phi)``.

So contributions keep SHAP's signs and proportions (``g`` is increasing) and add
up exactly: ``baseline_risk + sum(contributions) == risk``. When ``|sum(phi)|``
is below ``1e-9`` the secant ``(risk - baseline_risk) / sum(phi)`` is replaced by
the slope of ``g`` at ``b0`` (its limit), and the rounding residual is shared in
proportion to ``|phi|``, so additivity still holds exactly. With an isotonic
calibrator ``g`` may be flat: then risk equals baseline and every contribution
is 0, which is what the calibrated scale says.

Preprocessed columns are summed back to their feature (a one-hot column and a
missing indicator belong to their feature), features to their mechanism group
through the catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from relapse_ml.artifact import RelapseRiskModel
from relapse_ml.explain._native import (
    ExplanationError,
    NativeExplainer,
    adopt_native_explainer,
    cached_native_explainer,
)
from relapse_ml.modeling import (
    PROBABILITY,
    calibrate,
    fitted_pipeline,
    native_space,
    preprocessed_to_feature,
)
from relapse_ml.schema import load_contract

RISK_ADDITIVITY_TOL = 1e-6
_SECANT_EPS = 1e-9
_SLOPE_STEP = 1e-4

SCALE_RULE = (
    "Contributions are exact SHAP values of the classifier in its native output space "
    "(log-odds, or probability for the random forest), computed on the preprocessed inputs "
    "and summed back to each feature (one-hot and missing-indicator columns included) and "
    "to the five mechanism groups. They are carried to the calibrated risk by one rule: "
    "with native base value b0 and native output s = b0 + sum(phi), the served risk is "
    "g(s) (g = calibration map), the baseline risk is g(b0), and each contribution is "
    "phi x (risk - baseline) / sum(phi). Signs and proportions are SHAP's; baseline plus "
    "contributions equals the risk shown, checked for every patient."
)


@dataclass(frozen=True)
class Explanation:
    """Explained risks of a batch of patients.

    Attributes
    ----------
    risk : ndarray of shape (n,)
        Served (calibrated) risk.
    baseline_risk : float
        Risk at the model's baseline (same for every patient of a model).
    feature_contributions : DataFrame (n, features)
        Contribution of each catalogue feature, probability scale.
    group_contributions : DataFrame (n, 5)
        Sums of feature contributions per mechanism group, contract order.
    feature_values : DataFrame (n, features)
        Raw feature values before imputation.
    imputed : DataFrame of bool (n, features)
        True where the value was missing and the model imputed it.
    method : str
        How the explanation was computed (for reports).
    native_base_value : float
        ``b0`` in the native output space.
    """

    risk: np.ndarray
    baseline_risk: float
    feature_contributions: pd.DataFrame
    group_contributions: pd.DataFrame
    feature_values: pd.DataFrame
    imputed: pd.DataFrame
    method: str
    native_base_value: float


def _steps(model: RelapseRiskModel):
    pipeline = fitted_pipeline(model.classifier)
    return (
        pipeline.named_steps["features"],
        pipeline.named_steps["preprocess"],
        pipeline.named_steps["classifier"],
    )


def _preprocess(preprocessor, features: pd.DataFrame) -> np.ndarray:
    return np.asarray(preprocessor.transform(features), dtype=np.float64)


def native_explainer(model: RelapseRiskModel) -> NativeExplainer:
    """The (cached) native-space explainer of the model's classifier step."""
    _, _, classifier = _steps(model)
    return cached_native_explainer(classifier, model.reference.preprocessed_means)


def adopt_explainer(model: RelapseRiskModel, explainer: NativeExplainer) -> None:
    """Explain ``model`` with ``explainer`` (built elsewhere for an equal model) in this process.

    Parameters
    ----------
    model : RelapseRiskModel
        The model this process scores with.
    explainer : NativeExplainer
        :func:`native_explainer` of a copy of ``model`` (e.g. from another process).
    """
    _, _, classifier = _steps(model)
    adopt_native_explainer(replace(explainer, classifier=classifier))


def risk_map(model: RelapseRiskModel, native: np.ndarray) -> np.ndarray:
    """``g``: native classifier output -> served calibrated risk."""
    return calibrate(model.classifier, np.asarray(native, dtype=np.float64))


def baseline_risk(model: RelapseRiskModel) -> float:
    """The model's baseline risk ``g(b0)`` (a constant per model)."""
    return float(risk_map(model, np.array([native_explainer(model).base_value]))[0])


def to_probability_scale(
    phi: np.ndarray, risk: np.ndarray, base_risk: float, slope_at_base: float
) -> np.ndarray:
    """Rescale native SHAP values so each row sums to ``risk - base_risk``.

    Parameters
    ----------
    phi : ndarray (n, p)
        Native-space SHAP values.
    risk : ndarray (n,)
        Served risks ``g(b0 + sum(phi))``.
    base_risk : float
        ``g(b0)``.
    slope_at_base : float
        ``g'(b0)``, used when ``|sum(phi)|`` is too small for a secant.

    Returns
    -------
    ndarray (n, p)
        Contributions on the probability scale.
    """
    total = phi.sum(axis=1)
    delta = np.asarray(risk, dtype=np.float64) - base_risk
    small = np.abs(total) < _SECANT_EPS
    ratio = np.where(small, slope_at_base, delta / np.where(small, 1.0, total))
    out = phi * ratio[:, None]
    if small.any():
        # Share what the slope left over in proportion to |phi|; all-zero phi
        # means s == b0, hence risk == baseline and nothing is left to share.
        residual = delta[small] - out[small].sum(axis=1)
        weight = np.abs(phi[small])
        norm = weight.sum(axis=1)
        share = np.divide(weight, norm[:, None], out=np.zeros_like(weight), where=norm[:, None] > 0)
        out[small] += share * residual[:, None]
    return out


def _slope(model: RelapseRiskModel, b0: float) -> float:
    # Central difference of g at b0; the forest's native space is [0, 1].
    h = _SLOPE_STEP
    lo, hi = b0 - h, b0 + h
    if native_space(fitted_pipeline(model.classifier)) == PROBABILITY:
        lo, hi = max(lo, 0.0), min(hi, 1.0)
    g = risk_map(model, np.array([lo, hi]))
    return float((g[1] - g[0]) / (hi - lo))


def feature_matrix(preprocessor, feature_names: list[str]) -> np.ndarray:
    """0/1 matrix (preprocessed columns x features) summing columns into their feature."""
    mapping = preprocessed_to_feature(preprocessor)
    position = {name: i for i, name in enumerate(feature_names)}
    unknown = sorted({m for m in mapping if m not in position})
    if unknown:
        raise ExplanationError(
            f"preprocessed columns map to features outside the catalogue: {unknown}"
        )
    matrix = np.zeros((len(mapping), len(feature_names)))
    matrix[np.arange(len(mapping)), [position[m] for m in mapping]] = 1.0
    return matrix


def group_matrix(model: RelapseRiskModel) -> tuple[np.ndarray, tuple[str, ...]]:
    """0/1 matrix (features x contract groups) and the groups in contract order."""
    groups = load_contract().groups
    matrix = np.zeros((len(model.catalogue), len(groups)))
    for i, spec in enumerate(model.catalogue):
        if spec.group not in groups:
            raise ExplanationError(f"feature {spec.name!r} has unknown group {spec.group!r}")
        matrix[i, groups.index(spec.group)] = 1.0
    return matrix, groups


def explain_patients(model: RelapseRiskModel, model_input: pd.DataFrame) -> Explanation:
    """Explain the served risk of each patient on the probability scale.

    Parameters
    ----------
    model : RelapseRiskModel
        The served artifact.
    model_input : DataFrame
        ``model.model_input(patients, measurements)``: one row per patient.

    Returns
    -------
    Explanation
        ``baseline_risk + feature_contributions.sum(axis=1) == risk`` (within
        1e-6) and ``group_contributions`` are the per-group sums.

    Raises
    ------
    ExplanationError
        The SHAP values do not add up to the classifier's output, or the
        probability-scale contributions do not add up to the served risk.
    """
    feature_step, preprocessor, _ = _steps(model)
    names = [s.name for s in model.catalogue]
    features = feature_step.transform(model_input)
    if not isinstance(features, pd.DataFrame):
        features = pd.DataFrame(features, columns=names)
    features = features.reset_index(drop=True)
    explainer = native_explainer(model)
    if len(features) == 0:  # sklearn refuses empty input; an empty batch explains to nothing
        phi_columns, native = np.zeros((0, len(preprocessed_to_feature(preprocessor)))), np.zeros(0)
    else:
        phi_columns, native = explainer.explain(_preprocess(preprocessor, features))
    phi = phi_columns @ feature_matrix(preprocessor, names)
    b0 = explainer.base_value
    risk = risk_map(model, native)
    base_risk = float(risk_map(model, np.array([b0]))[0])
    contributions = to_probability_scale(phi, risk, base_risk, _slope(model, b0))
    gap = np.abs(base_risk + contributions.sum(axis=1) - risk)
    if len(gap) and (not np.isfinite(gap).all() or gap.max() > RISK_ADDITIVITY_TOL):
        raise ExplanationError(
            f"contributions do not add up to the served risk (off by {gap.max():.3g})"
        )
    groups_m, groups = group_matrix(model)
    return Explanation(
        risk=risk,
        baseline_risk=base_risk,
        feature_contributions=pd.DataFrame(contributions, columns=names),
        group_contributions=pd.DataFrame(contributions @ groups_m, columns=list(groups)),
        feature_values=features,
        imputed=features.isna(),
        method=f"{explainer.method}. {SCALE_RULE}",
        native_base_value=b0,
    )
