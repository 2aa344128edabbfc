"""Drivers rank and phrase facts: the forms of one measurement are one driver."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from relapse_ml.explain import driver_sentences, explain_patients, patient_drivers
from relapse_ml.explain.display import display_label, display_unit, format_points
from relapse_ml.explain.drivers import describe_value, fact_contributions, imputation_values
from relapse_ml.features import FeatureSpec
from relapse_ml.features.catalogue import measurement_facts
from relapse_ml.features.config import FeatureConfig
from relapse_ml.features.transformers import feature_catalogue

FAMILIES = ("hist_gradient_boosting", "random_forest", "logistic")
_LOG_UNIT = re.compile(r"log10\(1 \+ (.+)\)")


def _explained(model, data, n: int | None = None):
    patients = data.patients if n is None else data.patients.iloc[:n].reset_index(drop=True)
    return explain_patients(model, model.model_input(patients, data.measurements))


@pytest.mark.parametrize("day", [7, 28, 90, 180])
def test_facts_cover_the_catalogue_and_merge_exactly_the_log_forms(day):
    catalogue = feature_catalogue(FeatureConfig.from_dict({"landmark_day": day}))
    facts = measurement_facts(catalogue)
    names = [s.name for s in catalogue]
    # One fact per feature; every fact is stated by one of its own features.
    assert len(facts) == len(catalogue) and set(facts) <= set(names)
    assert all(facts[names.index(f)] == f for f in facts)
    merged = {n: f for n, f in zip(names, facts, strict=True) if n != f}
    assert merged == {
        f"car_auc_0_{day}_log": f"car_auc_0_{day}",
        f"car_cells_auc_0_{day}_log": f"car_cells_auc_0_{day}",
    }
    by_name = dict(zip(names, catalogue, strict=True))
    for spec, fact in zip(catalogue, facts, strict=True):
        stated = by_name[fact]
        # A fact never spans two mechanism groups (group contributions stay what they are)
        # and is stated on the measured scale, in the unit shown to a clinician.
        assert stated.group == spec.group and stated.sources == spec.sources
        assert display_unit(stated) == stated.unit or fact == spec.name
        # No missed pair: a log form with a same-source feature of its measured unit is merged.
        match = _LOG_UNIT.fullmatch(spec.unit)
        twins = [
            s.name
            for s in catalogue
            if match and s.sources == spec.sources and s.unit == match.group(1)
        ]
        assert not twins or fact in twins, (spec.name, twins)


def test_a_catalogue_that_contradicts_itself_is_refused():
    src = ("marker:car_transgene",)
    auc = FeatureSpec("auc", "persistence", "numeric", "copies/ug x day", "AUC", src)
    log = FeatureSpec("auc_log", "persistence", "numeric", "log10(1 + copies/ug x day)", "", src)
    assert measurement_facts((auc, log)) == ("auc", "auc")
    # A lone log form (its value is no feature) is a fact of its own.
    assert measurement_facts((log,)) == ("auc_log",)
    for wrong in (
        dataclasses.replace(log, unit="log10(1 + copies/ug)"),  # another quantity
        dataclasses.replace(log, sources=("marker:car_t_cells",)),  # another marker
        dataclasses.replace(log, group="tme"),
    ):
        with pytest.raises(ValueError, match="named as the log form of 'auc'"):
            measurement_facts((auc, wrong))


def test_a_value_and_its_log_are_one_driver_with_the_summed_contribution(
    trained_model, simulated_data
):
    model = trained_model("hist_gradient_boosting")
    explanation = _explained(model, simulated_data, 20)
    contributions = explanation.feature_contributions.copy()
    # Patient 0's two largest contributions: the CAR T exposure (+5 points) and its log (+4).
    row = contributions.iloc[0].to_numpy()
    row = 0.03 * row / np.abs(row).max()  # every other feature at most 3 points
    names = list(contributions.columns)
    row[names.index("car_auc_0_28")], row[names.index("car_auc_0_28_log")] = 0.05, 0.04
    contributions.iloc[0] = row
    explanation = dataclasses.replace(explanation, feature_contributions=contributions)

    drivers = patient_drivers(model, explanation, 0, top_k=3)
    first, second = drivers[0], drivers[1]
    assert first.feature == "car_auc_0_28" and first.contribution == pytest.approx(0.09)
    # Named once, by the value on its measured scale (not its log).
    spec = model.catalogue[names.index("car_auc_0_28")]
    value = explanation.feature_values["car_auc_0_28"].iloc[0]
    fill = imputation_values(model).get(spec.name)
    disease = explanation.feature_values["disease"].iloc[0]
    shown, comparison, _ = describe_value(spec, value, fill, disease, model.reference)
    assert first.label == display_label(spec) and first.value == shown
    detail = f", {comparison}" if comparison else ""
    assert first.sentence == f"{display_label(spec)}: {shown}{detail}: +9.0 points"
    # The next driver is another fact: the largest remaining contribution.
    others = np.abs(row).copy()
    others[[names.index("car_auc_0_28"), names.index("car_auc_0_28_log")]] = 0
    assert second.feature == names[int(np.argmax(others))]
    assert second.feature not in {"car_auc_0_28", "car_auc_0_28_log"}
    assert sum("exposure" in d.sentence for d in drivers) == 1
    # The batch sentences say the same.
    assert driver_sentences(model, explanation, top_k=3)[0] == [d.sentence for d in drivers]


def _fact_of_sentence(catalogue, facts):
    """sentence -> fact key, through the label that opens it (the longest that fits)."""
    labels = sorted(
        ((display_label(s), f) for s, f in zip(catalogue, facts, strict=True)),
        key=lambda lf: -len(lf[0]),
    )

    def fact(sentence: str) -> str:
        return next(f for label, f in labels if sentence.startswith(f"{label}: "))

    return fact


@pytest.mark.parametrize("family", FAMILIES)
def test_no_patient_has_one_fact_twice_among_its_drivers(trained_model, simulated_data, family):
    model = trained_model(family)
    explanation = _explained(model, simulated_data)
    facts = measurement_facts(model.catalogue)
    fact_of = _fact_of_sentence(model.catalogue, facts)
    top_k = 10  # deep enough that a random forest's split exposure shows up twice
    sentences = driver_sentences(model, explanation, top_k=top_k)
    assert len(sentences) == len(simulated_data.patients)
    named = [[fact_of(s) for s in row if s] for row in sentences]
    twice = [(i, row) for i, row in enumerate(sentences) if len(named[i]) > len(set(named[i]))]
    assert not twice, f"{len(twice)} patients name one fact twice, e.g. {twice[0]}"
    # Ranked by the size of the summed contribution, which each sentence states.
    summed = fact_contributions(model, explanation).to_numpy()
    for i, row in enumerate(sentences):
        expected = sorted(summed[i], key=lambda c: -abs(c))[: len(named[i])]
        assert [s.rsplit(": ", 1)[1] for s in row if s] == [format_points(c) for c in expected]


@pytest.mark.parametrize("family", FAMILIES)
def test_facts_leave_the_explanation_additive(trained_model, simulated_data, family):
    model = trained_model(family)
    explanation = _explained(model, simulated_data)
    summed = fact_contributions(model, explanation)
    features = explanation.feature_contributions
    assert list(summed.columns) == list(dict.fromkeys(measurement_facts(model.catalogue)))
    # Each fact is the sum of its features, and all facts add up to the served risk.
    facts = measurement_facts(model.catalogue)
    for key in summed.columns:
        members = [s.name for s, f in zip(model.catalogue, facts, strict=True) if f == key]
        np.testing.assert_allclose(summed[key], features[members].sum(axis=1), atol=1e-15)
    total = explanation.baseline_risk + summed.sum(axis=1).to_numpy()
    assert np.abs(total - explanation.risk).max() < 1e-6
    # Mechanism groups are sums of whole facts, unchanged.
    group_of = {s.name: s.group for s in model.catalogue}
    for group in explanation.group_contributions.columns:
        keys = [k for k in summed.columns if group_of[k] == group]
        np.testing.assert_allclose(
            explanation.group_contributions[group], summed[keys].sum(axis=1), atol=1e-12
        )
