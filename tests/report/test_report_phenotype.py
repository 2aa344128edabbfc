"""The report's kind of relapse to expect: headline, the risk's split, drivers, meaning."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from relapse_ml.explain import ExplanationError, explain_patients, patient_drivers
from relapse_ml.report import esc
from relapse_ml.report import phenotype as phenotype_module
from relapse_ml.report.phenotype import headline, meaning
from relapse_ml.workflows.explain import build_report

FAMILY = "hist_gradient_boosting"  # the report's model (tests/report/conftest.py)
N_REPORTED = 40


@pytest.fixture(scope="module")
def cohort(landmark_models, simulated_data):
    """(models, all patients, measurements, the first N_REPORTED patients) of the shared cohort."""
    patients = simulated_data.patients.reset_index(drop=True)
    return (
        landmark_models(FAMILY),
        patients,
        simulated_data.measurements,
        patients.iloc[:N_REPORTED].reset_index(drop=True),
    )


def _percent(text: str) -> int:
    found = re.search(r"\((\d+)%\)$", text)
    assert found, text
    return int(found.group(1))


@pytest.mark.parametrize(
    ("q", "kind", "percent"),
    [
        (0.62, "antigen-negative", 62),
        (0.2, "antigen-positive", 80),
        (0.999, "antigen-negative", 100),
    ],
)
def test_headline_names_the_more_likely_kind_and_its_share(q, kind, percent):
    more_likely, text, share = headline(q)
    assert more_likely == kind and share == pytest.approx(max(q, 1 - q))
    assert text == f"If relapse occurs, it is more likely {kind} ({percent}%)"


@pytest.mark.parametrize("q", [0.5, 0.503, 0.497])
def test_headline_of_a_tie_names_neither_kind(q):
    _, text, _ = headline(q)
    assert "more likely" not in text and _percent(text) == 50


def test_meaning_is_information_for_the_products_target():
    cd19 = meaning("antigen-negative", "CD19")
    assert "CD22" in cd19 and "dual-target" in cd19 and "exon-2" in cd19
    assert "both CD19 and CD22" in meaning("antigen-negative", "CD19/CD22")
    assert "CD19" in meaning("antigen-negative", "CD22") and "BCMA" in meaning(
        "antigen-negative", "BCMA"
    )
    positive = meaning("antigen-positive", "CD19")
    assert all(
        w in positive for w in ("persist", "exhausted", "re-infusion", "checkpoint", "transplant")
    )
    for text in (cd19, positive, meaning("antigen-negative", None)):
        assert not re.search(r"\b(should|must|recommend\w*|give|start|stop)\b", text, re.I), text
        assert text.endswith(".") and text.count(". ") <= 1  # one or two sentences


def test_kind_follows_the_reports_landmark_model(cohort):
    models, _, measurements, patients = cohort
    first = models.at(None)
    seen = set()
    for landmark in models.landmarks_days:
        content, page = build_report(models, patients, measurements, landmark=landmark)
        model = models.at(landmark)
        assert model.phenotype is not None, model.phenotype_note
        model_input = model.model_input(patients, measurements)
        q = model.antigen_negative_share(model.features(model_input))
        if model is not first:  # the check below tells the landmarks' models apart
            other = first.antigen_negative_share(first.features(model_input))
            assert np.abs(other - q).max() > 1e-3
        assert page.count('class="phenotype-headline"') == len(patients)
        for i, patient in enumerate(content["patients"]):
            block = patient["phenotype"]
            assert block["available"] is True
            assert block["antigen_negative_share"] == pytest.approx(q[i], rel=1e-12, abs=1e-15)
            likely = max(q[i], 1 - q[i])
            assert _percent(block["headline"]) == round(100 * likely)
            kind = "antigen-negative" if q[i] > 0.5 else "antigen-positive"
            other_kind = ({"antigen-negative", "antigen-positive"} - {kind}).pop()
            if round(100 * likely) != 50:
                assert f"more likely {kind} (" in block["headline"]
                assert other_kind not in block["headline"]
            assert block["more_likely"] == kind
            seen.add(kind)
            # The two kinds split the report's risk exactly.
            negative, positive = block["risk_antigen_negative"], block["risk_antigen_positive"]
            assert abs(negative + positive - patient["risk"]) <= 1e-9
            assert negative == pytest.approx(patient["risk"] * q[i], rel=1e-12, abs=1e-15)
            assert 0 <= negative <= patient["risk"] and 0 <= positive <= patient["risk"]
            assert block["meaning"].startswith(f"An {kind} relapse")
            assert esc(block["headline"]) in page and esc(block["meaning"]) in page
    assert seen == {"antigen-negative", "antigen-positive"}  # both branches were checked


def test_drivers_are_the_phenotype_models(cohort):
    models, everyone, measurements, patients = cohort
    for landmark in models.landmarks_days:
        content, page = build_report(models, patients, measurements, landmark=landmark)
        model = models.at(landmark)
        view = model.phenotype_view()
        model_input = model.model_input(patients, measurements)
        why = explain_patients(view, model_input)
        q = model.antigen_negative_share(model.features(model_input))
        # The explanation adds up to q, from a baseline that is the share of an average
        # training patient: inside the range of q over the whole training cohort.
        total = why.baseline_risk + why.feature_contributions.sum(axis=1).to_numpy()
        np.testing.assert_allclose(total, q, atol=1e-6)
        all_input = model.model_input(everyone, measurements)
        cohort_q = model.antigen_negative_share(model.features(all_input))
        assert cohort_q.min() <= why.baseline_risk <= cohort_q.max(), (landmark, why.baseline_risk)
        differ = 0
        for i, patient in enumerate(content["patients"]):
            block = patient["phenotype"]
            assert block["drivers_note"] == ""
            assert block["baseline_share"] == pytest.approx(why.baseline_risk, rel=1e-12)
            expected = [d.to_dict() for d in patient_drivers(view, why, i, 5)]
            assert expected, "the phenotype model has no non-zero contribution"
            got = block["drivers"]
            assert [{k: v for k, v in d.items() if k != "toward"} for d in got] == expected
            for d in got:
                assert d["toward"] == (
                    "antigen-negative" if d["contribution"] > 0 else "antigen-positive"
                )
                assert esc(d["sentence"].rpartition(": ")[0]) in page
            groups = {g["group"]: g["contribution"] for g in block["group_contributions"]}
            for g, value in groups.items():
                assert value == pytest.approx(float(why.group_contributions[g].iloc[i]), abs=1e-12)
            risk_drivers = [(d["feature"], d["contribution"]) for d in patient["drivers"]]
            differ += risk_drivers != [(d["feature"], d["contribution"]) for d in got]
        assert differ > 0


def test_model_without_the_part_gives_the_reason(cohort):
    models, _, measurements, patients = cohort
    note = "phenotype part skipped at landmark day 28: <b>fewer than 30</b> relapses & one kind"
    bare = dataclasses.replace(models.at(None), phenotype=None, phenotype_note=note)
    content, page = build_report(bare, patients.iloc[:3].reset_index(drop=True), measurements)
    for patient in content["patients"]:
        assert patient["phenotype"] == {"available": False, "reason": note}
    assert esc(note) in page and "<b>fewer" not in page
    assert page.count("Not available for this model: ") == 3
    assert 'class="phenotype-headline"' not in page and "If relapse occurs" not in page
    # Without a note, the report still says why.
    content, _ = build_report(
        dataclasses.replace(bare, phenotype_note=""),
        patients.iloc[:1].reset_index(drop=True),
        measurements,
    )
    assert content["patients"][0]["phenotype"]["reason"]


def test_a_failed_phenotype_explanation_keeps_the_kind(cohort, monkeypatch):
    models, _, measurements, patients = cohort

    def broken(model, model_input):
        raise ExplanationError("contributions do not add up")

    monkeypatch.setattr(phenotype_module, "explain_patients", broken)
    content, page = build_report(models, patients.iloc[:2].reset_index(drop=True), measurements)
    for patient in content["patients"]:
        block = patient["phenotype"]
        assert block["available"] and block["drivers"] == [] and block["baseline_share"] is None
        assert "contributions do not add up" in block["drivers_note"]
        assert esc(block["headline"]) in page
    assert page.count("Drivers not available: ") == 2
