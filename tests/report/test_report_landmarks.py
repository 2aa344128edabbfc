"""The report over time: the cumulative-incidence curve and the landmark trajectory."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relapse_ml.report import (
    LANDMARK_FINDINGS,
    esc,
    incidence_chart_svg,
    trajectory_table_html,
)
from relapse_ml.validation import validate_folder
from relapse_ml.workflows.explain import build_report, run_explain, select_patients

FAMILY = "hist_gradient_boosting"  # the model of tests/report/conftest.py


@pytest.fixture(scope="module")
def report_data(report_setup, landmark_models):
    """(models, canonical patients, their measurements) of four valid patients."""
    data_dir, _, ids = report_setup
    data = validate_folder(data_dir, include_outcomes=False)
    patients, measurements = select_patients(data, [ids[1], ids[2], ids[3], ids[4]])
    return landmark_models(FAMILY), patients, measurements


def _trajectory_rows(page: str) -> list[str]:
    return re.findall(r'<tr class="trajectory-row">(.*?)</tr>', page)


def test_curve_and_trajectory_follow_each_landmark_model(report_data):
    models, patients, measurements = report_data
    model_input = models.primary.model_input(patients, measurements)
    assert len(models.landmarks_days) >= 2
    for landmark in models.landmarks_days:
        content, page = build_report(models, patients, measurements, landmark=landmark)
        model = models.at(landmark)
        risk = model.risk(model_input)
        relapse, death = model.incidences(model.features(model_input), risk)
        after = [k for k, h in enumerate(model.horizons_days) if h > landmark]
        earlier = [m for m in models.models if m.landmark_day <= landmark]
        assert content["model"]["landmarks_days"] == list(models.landmarks_days)
        for i, patient in enumerate(content["patients"]):
            assert patient["landmark_day"] == landmark
            assert f"alive and relapse-free at day {landmark}" in patient["assumption"]
            assert f"data known by day {landmark}" in patient["assumption"]
            assert esc(patient["assumption"]) in page
            # The curve: every horizon after L, the model's incidences, the primary flagged.
            curve = patient["curve"]
            assert [c["horizon_days"] for c in curve] == [model.horizons_days[k] for k in after]
            for c, k in zip(curve, after, strict=True):
                assert c["relapse"] == pytest.approx(relapse[i, k], rel=1e-12)
                if np.isnan(death[i, k]):
                    assert c["death"] is None
                else:
                    assert c["death"] == pytest.approx(death[i, k], rel=1e-12)
                assert c["primary"] is (model.horizons_days[k] == model.horizon_days)
            (primary,) = [c for c in curve if c["primary"]]
            assert primary["relapse"] == pytest.approx(patient["risk"], rel=1e-9)
            # The trajectory: each trained landmark up to L, that landmark's model's risk.
            steps = patient["trajectory"]
            assert [t["landmark_day"] for t in steps] == [m.landmark_day for m in earlier]
            for step, m in zip(steps, earlier, strict=True):
                own = m.risk(model_input)[i]
                assert step["risk"] == pytest.approx(own, rel=1e-9)
                assert step["risk_band"] == m.risk_bands.assign(np.array([own]))[0]
                assert step["what_changed"] and all(
                    isinstance(w, str) for w in step["what_changed"]
                )
            assert steps[-1]["risk"] == pytest.approx(patient["risk"], rel=1e-9)
        # One trajectory row per landmark per patient in the page.
        assert len(_trajectory_rows(page)) == len(earlier) * len(patients)
        assert page.count('class="incidence-chart"') == len(patients)


def test_what_changed_names_every_finding_that_turned(report_data):
    """Whenever a finding's landmark features differ between two landmarks, it is named."""
    models, patients, measurements = report_data
    model_input = models.primary.model_input(patients, measurements)
    content, _ = build_report(models, patients, measurements, landmark=models.landmarks_days[-1])
    frames = [m.features(model_input) for m in models.models]
    seen_change = False
    for i, patient in enumerate(content["patients"]):
        for k in range(1, len(models.models)):
            before, now = frames[k - 1].iloc[i].to_dict(), frames[k].iloc[i].to_dict()
            changed = patient["trajectory"][k]["what_changed"]
            for finding in LANDMARK_FINDINGS:
                old, new = finding.state(before), finding.state(now)
                if new is not None and old is not None and old != new:
                    seen_change = True
                    assert (finding.gained if new else finding.lost) in changed
                if new is not None and old == new:
                    assert (finding.gained if new else finding.lost) not in changed
    assert seen_change, "no finding changed between landmarks: pick other patients"


def test_explain_at_day_90_shows_days_28_and_90_but_not_180(report_setup, tmp_path):
    data_dir, model_path, ids = report_setup
    content = run_explain(data_dir, str(model_path), [ids[1]], tmp_path / "r.html", landmark=90)
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    (patient,) = content["patients"]
    assert {28, 90, 180} <= set(content["model"]["landmarks_days"])
    assert [t["landmark_day"] for t in patient["trajectory"]] == [28, 90]
    rows = _trajectory_rows(page)
    assert len(rows) == 2
    assert "day 28" in rows[0] and "day 90" in rows[1]
    assert not any("day 180" in row for row in rows)
    # Horizons up to L are not on the curve; the primary one is.
    assert all(c["horizon_days"] > 90 for c in patient["curve"])
    assert any(c["primary"] for c in patient["curve"])
    assert "alive and relapse-free at day 90" in page


def _later_rows(measurements: pd.DataFrame, landmark: int, shifts, factors, flips) -> pd.DataFrame:
    """Copies of measurement rows moved after ``landmark``, values scaled, qualifiers flipped."""
    n = min(len(shifts), len(measurements))
    rows = measurements.iloc[:n].copy()
    rows["day"] = [landmark + 1 + s for s in shifts[:n]]
    rows["value"] = rows["value"].to_numpy() * np.asarray(factors[:n])
    rows["qualifier"] = [
        ("" if q == "<" else "<") if f else q
        for q, f in zip(rows["qualifier"], flips[:n], strict=True)
    ]
    return rows


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    pick=st.integers(0, 10),
    shifts=st.lists(st.integers(0, 900), min_size=1, max_size=25),
    factors=st.lists(st.floats(0.01, 100.0), min_size=25, max_size=25),
    flips=st.lists(st.booleans(), min_size=25, max_size=25),
)
def test_measurements_after_the_landmark_never_change_the_report(
    report_data, pick, shifts, factors, flips
):
    models, patients, measurements = report_data
    landmark = models.landmarks_days[pick % len(models.landmarks_days)]
    known = measurements[measurements["day"] <= landmark].reset_index(drop=True)
    shuffled = measurements.sample(frac=1.0, random_state=pick).reset_index(drop=True)
    later = _later_rows(shuffled, landmark, shifts, factors, flips)
    changed = pd.concat([known, later], ignore_index=True).astype(measurements.dtypes)
    base, _ = build_report(models, patients, known, landmark=landmark)
    for other in (measurements, changed):
        content, _ = build_report(models, patients, other, landmark=landmark)
        assert content["patients"] == base["patients"]
        assert content["model"] == base["model"]


def test_chart_stacks_death_on_relapse_marks_the_primary_and_escapes():
    curve = [
        {"horizon_days": 180, "relapse": 0.1, "death": 0.05, "primary": False},
        {"horizon_days": 365, "relapse": 0.2, "death": 0.1, "primary": True},
    ]
    svg = incidence_chart_svg(curve, 28)
    heights = {
        cls: [float(h) for h in re.findall(rf'<rect class="{cls}" [^>]*height="([\d.]+)"', svg)]
        for cls in ("relapse", "death")
    }
    assert heights["relapse"][1] == pytest.approx(2 * heights["relapse"][0], rel=0.02)
    assert heights["death"][0] == pytest.approx(heights["relapse"][0] / 2, rel=0.02)
    # The death bar sits right on top of the relapse bar.
    ys = [float(y) for y in re.findall(r'<rect class="(?:relapse|death)" [^>]*y="([\d.]+)"', svg)]
    death_height = heights["death"][1]
    assert ys[3] + death_height == pytest.approx(ys[2], abs=0.2)
    assert svg.count('class="primary-horizon"') == 1 and "primary horizon" in svg
    for text in ("20%", "10%", "cumulative incidence", "relapse or progression", "day 365"):
        assert text in svg
    # Unknown deaths: no death bars, and the legend says so.
    unknown = incidence_chart_svg([{**c, "death": None} for c in curve], 28)
    assert 'class="death"' not in unknown and "death without relapse: not known" in unknown
    assert incidence_chart_svg([{**c, "relapse": None} for c in curve], 28) == ""
    table = trajectory_table_html(
        [
            {
                "landmark_day": 28,
                "horizon_days": 365,
                "risk": 0.41,
                "risk_band": "<b>",
                "what_changed": ["<script>x</script>"],
            }
        ]
    )
    assert "<script>" not in table and "&lt;script&gt;" in table and "<b>" not in table
    assert "41%" in table
