"""Plain-language drivers: each patient's largest contributions as sentences.

A driver reads, for example::

    CAR T cells in blood (transgene qPCR): expansion peak by day 28: 1,200 copies/ug,
    low for B-ALL (training median 24,000 copies/ug): +9.1 points

"low"/"high"/"typical" compare the value with the training patients of the same
disease: below the disease's 25th percentile is low, above its 75th high (when
the model's reference holds the quartiles, see
``TrainingReference.quartiles_by_disease``); otherwise, with only medians
in the reference, a value is low or high when it lies more than 10% of the
training 1st-99th percentile span from the disease median or, for a positive
median, below half or above twice it. The model keeps no median of fewer than
10 patients: for a rarer disease the comparison is with the median of all
training patients and says so ("training median, all patients"). A missing
value reads "not measured (imputed as ...)", because the model did use the
imputed value.

Drivers rank and phrase facts, not features: the forms of one measurement (a
value and its ``log10(1 + x)``, e.g. the CAR T exposure and its log; see
:func:`relapse_ml.features.catalogue.measurement_facts`) are one driver whose
contribution is the sum of theirs, named once by its most readable member (the
value on its measured scale). Feature and mechanism-group contributions are not
changed: facts never span two groups, and the facts' contributions add up to the
same ``risk - baseline_risk``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from relapse_ml.artifact import RelapseRiskModel
from relapse_ml.artifact.reference import TrainingReference
from relapse_ml.explain.display import display_label, format_points, with_unit
from relapse_ml.explain.explanation import Explanation
from relapse_ml.features import FeatureSpec
from relapse_ml.features.catalogue import measurement_facts
from relapse_ml.modeling import fitted_pipeline

_TYPICAL_SPAN = 0.10


@dataclass(frozen=True)
class Driver:
    """One fact's contribution to one patient's risk, with what a clinician needs to read it.

    ``feature`` is the fact's key: the member that states it (its label and value
    are shown); ``contribution`` is the sum over the fact's features.
    """

    feature: str
    label: str
    group: str
    contribution: float
    value: str
    imputed: bool
    comparison: str
    sentence: str

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict."""
        return asdict(self)


def imputation_values(model: RelapseRiskModel) -> dict[str, float]:
    """The value the fitted preprocessor puts in for a missing numeric or binary feature."""
    preprocessor = fitted_pipeline(model.classifier).named_steps["preprocess"]
    out: dict[str, float] = {}
    for _name, transformer, columns in preprocessor.transformers_:
        step = (
            transformer.named_steps["impute"] if isinstance(transformer, Pipeline) else transformer
        )
        statistics = getattr(step, "statistics_", None)
        if statistics is None:
            continue
        out.update({str(c): float(v) for c, v in zip(columns, statistics, strict=True)})
    return out


def _comparison_band(
    spec: FeatureSpec, disease: str | None, reference: TrainingReference
) -> tuple[float, float, str] | None:
    """(low, high, " for <disease> (training median ...)") of one feature, or None."""
    numeric = reference.numeric.get(spec.name, {})
    by_disease = reference.median_by_disease.get(spec.name, {})
    median = by_disease.get(disease) if disease is not None else None
    who = f" for {disease}" if median is not None else ""
    overall = ""
    if median is None:
        # The model file keeps no median of fewer than 10 patients of a disease.
        median = numeric.get("median")
        overall = ", all patients" if disease is not None else ""
    if median is None or not np.isfinite(median):
        return None
    quartiles = reference.quartiles_by_disease.get(spec.name, {}).get(disease)
    if quartiles is not None:
        low, high = quartiles
    else:
        span = numeric.get("q99", np.nan) - numeric.get("q01", np.nan)
        span = span if np.isfinite(span) else 0.0
        low, high = median - _TYPICAL_SPAN * span, median + _TYPICAL_SPAN * span
        if median > 0:  # skewed positive quantities: beyond half or twice the median
            low, high = max(low, median / 2), min(high, 2 * median)
    return low, high, f"{who} (training median{overall} {with_unit(spec, median)})"


def _comparison(
    spec: FeatureSpec,
    value: float,
    disease: str | None,
    reference: TrainingReference,
    bands: dict | None = None,
) -> str:
    # The band depends only on (feature, disease): computed once per batch via ``bands``.
    key = (spec.name, disease)
    if bands is not None and key in bands:
        band = bands[key]
    else:
        band = _comparison_band(spec, disease, reference)
        if bands is not None:
            bands[key] = band
    if band is None:
        return ""
    low, high, text = band
    word = "low" if value < low else "high" if value > high else "typical"
    return f"{word}{text}"


def describe_value(
    spec: FeatureSpec,
    value: object,
    imputed_as: float | None,
    disease: str | None,
    reference: TrainingReference,
    bands: dict | None = None,
) -> tuple[str, str, bool]:
    """Return (value text, comparison text, imputed?) of one feature value.

    ``bands`` is an optional cache of the per-(feature, disease) comparison bands.
    """
    missing = (
        value is None or (isinstance(value, float) and not np.isfinite(value)) or pd.isna(value)
    )
    if missing:
        if spec.kind == "categorical":
            return "not recorded (treated as its own category)", "", True
        if imputed_as is None or not np.isfinite(imputed_as):
            return "not measured", "", True
        shown = (
            ("yes" if imputed_as >= 0.5 else "no")
            if spec.kind == "binary"
            else with_unit(spec, imputed_as)
        )
        return f"not measured (imputed as {shown})", "", True
    if spec.kind == "categorical":
        return str(value), "", False
    if spec.kind == "binary":
        return ("yes" if float(value) >= 0.5 else "no"), "", False
    number = float(value)
    return with_unit(spec, number), _comparison(spec, number, disease, reference, bands), False


def _sentence(label: str, value: str, comparison: str, contribution: float) -> str:
    detail = f", {comparison}" if comparison else ""
    return f"{label}: {value}{detail}: {format_points(contribution)}"


def _top_indices(contributions: np.ndarray, top_k: int) -> np.ndarray:
    # Stable sort on -|c| keeps catalogue order among ties (determinism).
    return np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :top_k]


@dataclass(frozen=True)
class _Facts:
    """The catalogue's facts: keys in order of their first feature, and who states each."""

    keys: tuple[str, ...]
    of_feature: np.ndarray  # (features,) index of each feature's fact
    shown: np.ndarray  # (facts,) catalogue index of the feature that states the fact


def _facts(catalogue: tuple[FeatureSpec, ...]) -> _Facts:
    keys_of = measurement_facts(catalogue)
    keys = tuple(dict.fromkeys(keys_of))
    position = {k: f for f, k in enumerate(keys)}
    index = {s.name: j for j, s in enumerate(catalogue)}
    return _Facts(
        keys,
        np.array([position[k] for k in keys_of], dtype=np.intp),
        np.array([index[k] for k in keys], dtype=np.intp),
    )


def _sum_by_fact(contributions: np.ndarray, facts: _Facts) -> np.ndarray:
    out = np.zeros((contributions.shape[0], len(facts.keys)), dtype=np.float64)
    for j, f in enumerate(facts.of_feature):
        out[:, f] += contributions[:, j]  # a one-feature fact keeps its value exactly
    return out


def fact_contributions(model: RelapseRiskModel, explanation: Explanation) -> pd.DataFrame:
    """Contributions summed over the forms of each measurement (what drivers rank).

    Parameters
    ----------
    model : RelapseRiskModel
        The model explained (its catalogue defines the facts).
    explanation : Explanation
        Its explanation of a batch of patients.

    Returns
    -------
    DataFrame (n, facts)
        One column per fact, named by its key (see
        :func:`relapse_ml.features.catalogue.measurement_facts`), in catalogue order
        of the fact's first feature; rows add up to ``risk - baseline_risk``.
    """
    facts = _facts(model.catalogue)
    contributions = explanation.feature_contributions.to_numpy(dtype=np.float64)
    return pd.DataFrame(
        _sum_by_fact(contributions, facts),
        index=explanation.feature_contributions.index,
        columns=list(facts.keys),
    )


def _disease_of(explanation: Explanation, i: int) -> str | None:
    if "disease" not in explanation.feature_values:
        return None
    value = explanation.feature_values["disease"].iloc[i]
    return None if pd.isna(value) else str(value)


def patient_drivers(
    model: RelapseRiskModel, explanation: Explanation, row: int, top_k: int | None = 3
) -> list[Driver]:
    """The ``top_k`` largest fact contributions (by size) of patient ``row`` (all when None).

    The forms of one measurement are one driver (see the module docstring).
    Contributions that are exactly 0 are left out.
    """
    facts = _facts(model.catalogue)
    contributions = _sum_by_fact(
        explanation.feature_contributions.to_numpy(dtype=np.float64)[row : row + 1], facts
    )
    k = contributions.shape[1] if top_k is None else top_k
    specs = model.catalogue
    fill = imputation_values(model)
    disease = _disease_of(explanation, row)
    drivers = []
    for f in _top_indices(contributions, k)[0]:
        c = float(contributions[0, f])
        if c == 0.0:
            continue
        j = facts.shown[f]
        spec = specs[j]
        raw = explanation.feature_values.iloc[row, j]
        value, comparison, imputed = describe_value(
            spec, raw, fill.get(spec.name), disease, model.reference
        )
        label = display_label(spec)
        drivers.append(
            Driver(
                spec.name,
                label,
                spec.group,
                c,
                value,
                imputed,
                comparison,
                _sentence(label, value, comparison, c),
            )
        )
    return drivers


def driver_sentences(
    model: RelapseRiskModel, explanation: Explanation, top_k: int = 3
) -> list[list[str]]:
    """Driver sentences of every patient: ``top_k`` per patient ("" where fewer are non-zero).

    Sentence ``k`` of a patient is :func:`patient_drivers`' ``k``-th sentence: one per
    fact, so the forms of one measurement are never two drivers.
    """
    n = len(explanation.feature_contributions)
    if n == 0 or top_k <= 0:
        return [[""] * max(top_k, 0) for _ in range(n)]
    facts = _facts(model.catalogue)
    contributions = _sum_by_fact(
        explanation.feature_contributions.to_numpy(dtype=np.float64), facts
    )
    top = _top_indices(contributions, top_k)
    specs = model.catalogue
    labels = [display_label(s) for s in specs]
    fill = imputation_values(model)
    values = explanation.feature_values
    columns = {j: values.iloc[:, j].to_numpy(dtype=object) for j in facts.shown[np.unique(top)]}
    bands: dict = {}
    disease = (
        values["disease"].astype(object).where(values["disease"].notna(), None).to_numpy()
        if "disease" in values
        else np.full(n, None, dtype=object)
    )
    out = []
    for i in range(n):
        row = []
        for f in top[i]:
            c = float(contributions[i, f])
            if c == 0.0:
                row.append("")
                continue
            j = facts.shown[f]
            spec = specs[j]
            value, comparison, _ = describe_value(
                spec, columns[j][i], fill.get(spec.name), disease[i], model.reference, bands
            )
            row.append(_sentence(labels[j], value, comparison, c))
        out.append(row + [""] * (top_k - len(row)))
    return out
