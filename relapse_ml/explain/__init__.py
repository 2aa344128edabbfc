"""SHAP explanations of the served risk, grouped by mechanism; OOD checks; plain-language drivers.

The only module of the project that imports ``shap``. Typical use::

    explanation = explain_patients(model, model.model_input(patients, measurements))
    ood, reasons, novelty = assess_ood(model, explanation.feature_values)
    sentences = driver_sentences(model, explanation, top_k=3)
"""

from relapse_ml.explain._native import (
    NATIVE_ADDITIVITY_TOL,
    ExplanationError,
    build_native_explainer,
    check_native_additivity,
)
from relapse_ml.explain.cohort import (
    cohort_explanations,
    dependence_figures,
    global_importance,
    group_importance,
    importance_figure,
)
from relapse_ml.explain.drivers import (
    Driver,
    driver_sentences,
    fact_contributions,
    patient_drivers,
)
from relapse_ml.explain.explanation import (
    RISK_ADDITIVITY_TOL,
    SCALE_RULE,
    Explanation,
    adopt_explainer,
    baseline_risk,
    explain_patients,
    native_explainer,
    to_probability_scale,
)
from relapse_ml.explain.ood import NOVELTY_THRESHOLD, RANGE_MARGIN, assess_ood
from relapse_ml.explain.uncertainty import INTERVAL_METHOD, risk_interval

__all__ = [
    "INTERVAL_METHOD",
    "NATIVE_ADDITIVITY_TOL",
    "NOVELTY_THRESHOLD",
    "RANGE_MARGIN",
    "RISK_ADDITIVITY_TOL",
    "SCALE_RULE",
    "Driver",
    "Explanation",
    "ExplanationError",
    "adopt_explainer",
    "assess_ood",
    "baseline_risk",
    "build_native_explainer",
    "check_native_additivity",
    "cohort_explanations",
    "dependence_figures",
    "driver_sentences",
    "explain_patients",
    "fact_contributions",
    "global_importance",
    "group_importance",
    "importance_figure",
    "native_explainer",
    "patient_drivers",
    "risk_interval",
    "to_probability_scale",
]
