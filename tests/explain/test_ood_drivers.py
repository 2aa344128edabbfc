"""Out-of-distribution rules and plain-language drivers, on hand-built references."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from relapse_ml.artifact.reference import TrainingReference, build_training_reference
from relapse_ml.explain import (
    assess_ood,
    driver_sentences,
    explain_patients,
    patient_drivers,
)
from relapse_ml.explain.display import display_label, format_points, format_value, with_unit
from relapse_ml.explain.drivers import describe_value, fact_contributions
from relapse_ml.features import FeatureSpec

AGE = FeatureSpec("age_years", "clinical", "numeric", "years", "Age", ("patients.age_years",))
LDH = FeatureSpec(
    "ldh_u_per_l_log10",
    "antigen",
    "numeric",
    "log10(1 + U/L)",
    "LDH at lymphodepletion, log10 scale",
    ("patients.ldh_u_per_l",),
)
DISEASE = FeatureSpec(
    "disease",
    "clinical",
    "categorical",
    "",
    "Disease",
    ("patients.disease",),
    ("B-ALL", "LBCL", "MM"),
)
CMAX = FeatureSpec(
    "car_cmax",
    "persistence",
    "numeric",
    "copies/ug",
    "CAR T expansion peak (copies/ug)",
    ("marker:car_transgene",),
)


def reference_of(parts: dict) -> TrainingReference:
    """A training reference with ``parts`` and every other summary empty."""
    empty = {"numeric": {}, "median_by_disease": {}, "categories": {}, "psi_edges": {},
             "psi_shares": {}}  # fmt: skip
    return TrainingReference(**{**empty, **parts})


def _stub(reference: dict, catalogue=(AGE, DISEASE)) -> SimpleNamespace:
    return SimpleNamespace(catalogue=catalogue, reference=reference_of(reference))


REFERENCE = {
    "numeric": {
        "age_years": {
            "median": 50.0,
            "q01": 30.0,
            "q99": 70.0,
            "missing_rate": 0.0,
        }
    },
    "categories": {"disease": ["B-ALL", "LBCL"]},
    "median_by_disease": {"age_years": {"B-ALL": 30.0}},
}


def test_ood_rules_by_hand():
    # The 1st-99th percentile range widened by 50% of q99 - q01 = 40 -> [10, 90].
    frame = pd.DataFrame(
        {
            "age_years": [50.0, 89.0, 91.0, np.nan, 9.0],
            "disease": ["B-ALL", "LBCL", "B-ALL", "MM", None],
        }
    )
    ood, reasons, novelty = assess_ood(_stub(REFERENCE), frame)
    assert ood.tolist() == [False, False, True, True, True]
    assert reasons[0] == "" and reasons[1] == ""
    assert (
        "Age 91 years far outside the training range (1st-99th percentile 30-70 years)"
        in reasons[2]
    )
    assert reasons[3] == "disease MM was not seen in training"
    # Novelty: share of measured numeric values outside [q01, q99]; 89 and 91 and 9 are.
    np.testing.assert_allclose(novelty, [0.0, 1.0, 1.0, 0.0, 1.0])


def test_novelty_alone_flags_a_patient():
    specs = tuple(FeatureSpec(f"x{i}", "tme", "numeric", "", f"X{i}", ()) for i in range(10))
    reference = {"numeric": {s.name: {"median": 5.0, "q01": 1.0, "q99": 9.0} for s in specs}}
    # Values just outside q01-q99 but inside the range: 3 of 10 (0.3 > 0.2) flags, 2 of 10 does not.
    rows = [[9.5, 0.5, 9.5] + [5.0] * 7, [9.5, 0.5] + [5.0] * 8, [9.5, 0.5] + [np.nan] * 8]
    frame = pd.DataFrame(rows, columns=[s.name for s in specs])
    ood, reasons, novelty = assess_ood(_stub(reference, specs), frame)
    np.testing.assert_allclose(novelty, [0.3, 0.2, 1.0])
    # The third patient has only 2 measured values: too few for the novelty rule alone.
    assert ood.tolist() == [True, False, False]
    assert reasons[0].startswith("novelty score 0.30: 3 of 10 measured values")


def test_feature_measured_in_too_few_training_patients_is_flagged():
    # The reference keeps no percentiles of fewer than 10 values (NaN): any value is unsupported.
    reference = {"numeric": {"age_years": {"median": np.nan, "q01": np.nan, "q99": np.nan}}}
    frame = pd.DataFrame({"age_years": [50.0, np.nan], "disease": ["B-ALL", "B-ALL"]})
    ood, reasons, _ = assess_ood(_stub(reference), frame)
    assert ood.tolist() == [True, False]
    assert reasons[0] == "Age 50 years: measured in too few training patients (under 10)"


def test_display_helpers():
    assert format_value(24000.0) == "24,000"
    assert format_value(12.54) == "12.5"
    assert format_value(0.03412) == "0.0341"
    assert format_points(0.0912) == "+9.1 points"
    assert format_points(-0.0004) == "-<0.1 points"
    # log10(1 + x) features read on the measured scale: log10(1 + 999) = 3 -> 999 U/L.
    assert with_unit(LDH, 3.0) == "999 U/L"
    assert display_label(LDH) == "LDH at lymphodepletion"
    assert display_label(CMAX) == "CAR T expansion peak"


def test_describe_value_compares_with_the_disease():
    parts = {
        "numeric": {"car_cmax": {"median": 20000.0, "q01": 100.0, "q99": 300000.0}},
        "median_by_disease": {"car_cmax": {"B-ALL": 24000.0}},
        "quartiles_by_disease": {"car_cmax": {"B-ALL": [9000.0, 60000.0]}},
    }
    reference = reference_of(parts)
    value, comparison, imputed = describe_value(CMAX, 1200.0, None, "B-ALL", reference)
    assert (value, comparison, imputed) == (
        "1,200 copies/ug",
        "low for B-ALL (training median 24,000 copies/ug)",
        False,
    )
    assert describe_value(CMAX, 30000.0, None, "B-ALL", reference)[1].startswith(
        "typical for B-ALL"
    )
    # Without quartiles: beyond twice the median is high; other diseases use the overall median.
    reference = reference_of({**parts, "quartiles_by_disease": {}})
    assert describe_value(CMAX, 50000.0, None, "B-ALL", reference)[1].startswith("high for B-ALL")
    assert (
        describe_value(CMAX, 50000.0, None, "MM", reference)[1]
        == "high (training median, all patients 20,000 copies/ug)"
    )
    # Missing values say what the model used instead.
    assert describe_value(CMAX, np.nan, 18000.0, "B-ALL", reference) == (
        "not measured (imputed as 18,000 copies/ug)",
        "",
        True,
    )
    assert describe_value(DISEASE, None, None, None, reference)[0].startswith("not recorded")


def test_the_reference_keeps_disease_quartiles_of_20_or_more_values():
    features = pd.DataFrame(
        {"age_years": np.arange(40, dtype=float), "disease": ["B-ALL"] * 20 + ["MM"] * 19 + [None]}
    )
    out = build_training_reference(features, (AGE, DISEASE), features["disease"])
    assert out.quartiles_by_disease["age_years"]["B-ALL"] == pytest.approx([4.75, 14.25])
    assert "MM" not in out.quartiles_by_disease["age_years"]  # 19 values: too few


def test_driver_sentences_on_a_trained_model(trained_model, simulated_data):
    model = trained_model("hist_gradient_boosting")
    explanation = explain_patients(
        model, model.model_input(simulated_data.patients, simulated_data.measurements)
    )
    sentences = driver_sentences(model, explanation, top_k=3)
    assert len(sentences) == len(simulated_data.patients) and all(len(s) == 3 for s in sentences)
    pattern = re.compile(r"^.+: .+: [+-](\d+\.\d|<0\.1) points$")
    assert all(pattern.match(s) for row in sentences for s in row if s)
    # The first driver is the largest fact (a value and its log summed), sign and size.
    facts = fact_contributions(model, explanation)
    for i in (0, 7, 99):
        row = facts.iloc[i]
        j = int(np.argmax(np.abs(row.to_numpy())))
        points = f"{100 * row.iloc[j]:+.1f} points"
        assert sentences[i][0].endswith(points)
        drivers = patient_drivers(model, explanation, i, top_k=3)
        assert drivers[0].feature == facts.columns[j] and drivers[0].sentence == sentences[i][0]
    imputed_sentences = [s for row in sentences for s in row if "not measured" in s]
    assert imputed_sentences and all("imputed as" in s for s in imputed_sentences)
