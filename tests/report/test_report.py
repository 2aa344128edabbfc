"""The clinician report: content, escaping, self-containment, errors."""

from __future__ import annotations

import json
import re

import pytest

from relapse_ml.errors import ContractError, UserError
from relapse_ml.report import esc, group_chart_svg
from relapse_ml.workflows.explain import run_explain

# The site name tests/report/conftest.py writes for the first patient.
HOSTILE_SITE = "<script>alert(1)</script>"


def test_report_content_and_escaping(report_setup, tmp_path):
    data_dir, model_path, ids = report_setup
    chosen = [ids[0], ids[1]]
    content = run_explain(
        data_dir, str(model_path), chosen, tmp_path / "r.html", tmp_path / "r.json"
    )
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    on_disk = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert on_disk == json.loads(json.dumps(content))
    # The hostile site shows as text, never as markup; the page has no script at all.
    assert HOSTILE_SITE not in page and "<script" not in page.lower()
    assert esc(HOSTILE_SITE) in page
    assert on_disk["patients"][0]["site"] == HOSTILE_SITE
    # Self-contained: no external URL is loaded.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "@import" not in page and "url(" not in page
    # Per patient: risk, interval, band, groups, drivers, missing, OOD status.
    for patient in on_disk["patients"]:
        assert patient["patient_id"] in page
        low, high = patient["risk_interval"]
        assert low <= patient["risk"] <= high
        total = patient["baseline_risk"] + sum(
            g["contribution"] for g in patient["group_contributions"]
        )
        assert total == pytest.approx(patient["risk"], abs=1e-6)
        assert len(patient["drivers"]) == 5 and all(
            d["sentence"] in json.dumps(on_disk) for d in patient["drivers"]
        )
        assert f"{round(100 * patient['risk'])}%" in page
        assert patient["band"] in ("low", "intermediate", "high")
    assert on_disk["patients"][0]["patient_id"] == ids[0]
    for heading in (
        "Risk over time",
        "Mechanism groups",
        "Main drivers",
        "Missing and imputed values",
        "Intended use",
        "Limitations",
        "Methods",
    ):
        assert heading in page
    assert "g(b0)" in on_disk["methods"]["explanation"]
    assert on_disk["model"]["trained_at"] and on_disk["model"]["trained_at"] in page


def test_unknown_and_rejected_patients_are_named(report_setup, tmp_path):
    data_dir, model_path, ids = report_setup
    with pytest.raises(UserError, match="'NOPE-1' is not in the patients table"):
        run_explain(data_dir, str(model_path), ["NOPE-1"], tmp_path / "r.html")
    with pytest.raises(UserError, match=rf"'{ids[5]}' cannot be explained: .*age_years"):
        run_explain(data_dir, str(model_path), [ids[5]], tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_structural_problem_is_a_contract_error(report_setup, tmp_path):
    _, model_path, _ = report_setup
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "patients.csv").write_text("patient_id\nP1\n", encoding="utf-8")
    with pytest.raises(ContractError):
        run_explain(tmp_path / "data", str(model_path), ["P1"], tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_group_chart_escapes_labels_and_scales_bars():
    svg = group_chart_svg(
        0.4, [{"label": "<b>x</b>", "contribution": 0.1}, {"label": "y", "contribution": -0.05}]
    )
    assert "<b>" not in svg and "&lt;b&gt;x&lt;/b&gt;" in svg
    widths = [float(w) for w in re.findall(r'<rect [^>]*width="([\d.]+)"', svg)]
    assert widths[0] == pytest.approx(2 * widths[1])


def test_report_compares_with_percentiles_not_single_patients(report_setup, tmp_path):
    """The model keeps no training minimum/maximum; the report says what it compares with."""
    data_dir, model_path, ids = report_setup
    content = run_explain(data_dir, str(model_path), [ids[1]], tmp_path / "r.html", None)
    method = content["methods"]["out_of_distribution"]
    assert "1st-99th percentile range" in method and "minimum-maximum" not in method
    comparisons = [d["comparison"] for p in content["patients"] for d in p["drivers"]]
    # Every comparison names the training median it uses (the disease's, or all patients').
    assert all("training median" in c for c in comparisons if c)
