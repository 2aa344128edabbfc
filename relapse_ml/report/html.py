"""Render the clinician report as ONE self-contained HTML page.

No external resources: the CSS is inlined from the package template, charts are
inline SVG, and a Content-Security-Policy forbids scripts and remote loads.
Every string that comes from data or from the model passes through
:func:`html.escape` (``esc``, in :mod:`relapse_ml.report.charts` with the SVG charts),
including numbers formatted as text.
"""

from __future__ import annotations

from importlib import resources
from string import Template

from relapse_ml.report.charts import esc, group_chart_svg, incidence_chart_svg, pct, risk_bar_svg

_BAND_CLASSES = {"low", "intermediate", "high"}


def _template(name: str) -> str:
    return (
        resources.files("relapse_ml.report").joinpath("templates", name).read_text(encoding="utf-8")
    )


def trajectory_table_html(trajectory: list[dict[str, object]]) -> str:
    """The risk at each trained landmark up to the report's, with what changed, as a table."""
    horizons = {int(t["horizon_days"]) for t in trajectory}
    head = f"risk by day {horizons.pop()}" if len(horizons) == 1 else "risk"
    rows = []
    for t in trajectory:
        band = str(t["risk_band"])
        band_class = f"band-{band}" if band in _BAND_CLASSES else "band-other"
        risk = pct(float(t["risk"]))
        if head == "risk":
            risk = f"{risk} by day {t['horizon_days']}"
        day = f"day {t['landmark_day']}"
        rows.append(
            f'<tr class="trajectory-row"><td>{esc(day)}</td>'
            f'<td class="trajectory-risk">{esc(risk)}</td>'
            f'<td><span class="band band-small {band_class}">{esc(band)}</span></td>'
            f"<td>{esc(', '.join(str(c) for c in t['what_changed']))}</td></tr>"
        )
    return (
        '<table class="trajectory"><tr><th>landmark</th>'
        f"<th>{esc(head)}</th><th>band</th><th>what changed</th></tr>{''.join(rows)}</table>"
        '<p class="small">Each landmark\'s risk comes from the model of that landmark and the '
        "data known by that day.</p>"
    )


def _over_time_html(patient: dict[str, object]) -> str:
    chart = incidence_chart_svg(patient["curve"], int(patient["landmark_day"]))
    if not chart:
        chart = '<p class="small">The risk over time is not available for this model.</p>'
    return (
        '<div class="over-time"><div>'
        f"{chart}</div><div>{trajectory_table_html(patient['trajectory'])}</div></div>"
    )


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _drivers_html(drivers: list[dict[str, object]], toward: bool = False) -> str:
    """Driver sentences, the points coloured by direction (``toward``: the kind of relapse)."""
    if not drivers:
        what = "expected kind of relapse" if toward else "risk"
        return f"<p>No feature moved this patient's {what} away from the baseline.</p>"
    items = []
    for d in drivers:
        up = float(d["contribution"]) > 0
        cls = ("to-negative" if up else "to-positive") if toward else ("up" if up else "down")
        kind = f' <span class="{cls}">toward {esc(d["toward"])}</span>' if toward else ""
        sentence = str(d["sentence"])
        head, sep, points = sentence.rpartition(": ")
        body = (
            f'{esc(head)}{esc(sep)}<span class="{cls}">{esc(points)}</span>'
            if sep
            else esc(sentence)
        )
        items.append(f'<li>{body}{kind} <span class="small">({esc(d["group"])})</span></li>')
    return '<ul class="drivers">' + "".join(items) + "</ul>"


def _missing_html(missing: list[dict[str, str]]) -> str:
    if not missing:
        return "<p>All values the model uses were measured.</p>"
    rows = "".join(
        f"<tr><td>{esc(m['label'])}</td><td>{esc(m['group'])}</td><td>{esc(m['value'])}</td></tr>"
        for m in missing
    )
    return (
        f"<details><summary>{len(missing)} value(s) not measured by the landmark day and imputed</summary>"
        f"<table><tr><th>value</th><th>group</th><th>used as</th></tr>{rows}</table></details>"
    )


def _ood_html(patient: dict[str, object]) -> str:
    if not patient["ood"]:
        score = f"{float(patient['novelty_score']):.2f}"
        return f'<div class="ok">Within the training population (novelty score {esc(score)}).</div>'
    reasons = "".join(f"<li>{esc(r)}</li>" for r in patient["ood_reasons"])
    return (
        '<div class="warning"><strong>Out-of-distribution warning:</strong> this patient lies outside '
        "the population the model was trained on; treat the risk with caution.<ul>"
        f"{reasons}</ul></div>"
    )


def phenotype_html(patient: dict[str, object]) -> str:
    """The kind of relapse to expect (``templates/phenotype.html``), or why it is not given."""
    block = patient.get("phenotype") or {"reason": "not part of this report (format before 3)"}
    if not block.get("available"):
        reason = f"Not available for this model: {block.get('reason', '')}"
        return f'<div class="phenotype"><p class="phenotype-unavailable">{esc(reason)}</p></div>'
    negative, positive = (
        float(block["risk_antigen_negative"]),
        float(block["risk_antigen_positive"]),
    )
    split = (
        f"Of the {pct(float(patient['risk']))} risk of relapse by day {block['horizon_days']}: "
        f"{pct(negative)} antigen-negative and {pct(positive)} antigen-positive."
    )
    basis = (
        f"Main drivers of the expected kind, in points of the antigen-negative share (baseline "
        f"{pct(float(block['baseline_share']))}):"
        if block.get("baseline_share") is not None
        else f"Drivers not available: {block.get('drivers_note', '')}"
    )
    return Template(_template("phenotype.html")).substitute(
        kind="negative" if block["more_likely"] == "antigen-negative" else "positive",
        headline=esc(block["headline"]),
        split=esc(split),
        basis=esc(basis),
        drivers="" if block.get("drivers_note") else _drivers_html(block["drivers"], toward=True),
        meaning=esc(block["meaning"]),
        note=esc(block["note"]),
    )


def _patient_html(patient: dict[str, object]) -> str:
    band = str(patient["band"])
    band_class = f"band-{band}" if band in _BAND_CLASSES else "band-other"
    interval = patient.get("risk_interval")
    interval_text = (
        f"uncertainty interval {esc(pct(interval[0]))} to {esc(pct(interval[1]))}"
        if interval
        else "uncertainty interval not available"
    )
    where = " · ".join(
        esc(v)
        for v in (f"site {patient['site']}" if patient["site"] else None, patient["disease"])
        if v
    )
    return f"""
<section class="patient">
<h2>Patient {esc(patient["patient_id"])}</h2>
<p class="sub">{where}</p>
<div class="headline">
<div><div class="risk">{esc(pct(float(patient["risk"])))}</div><div class="interval">{interval_text}</div></div>
<div><span class="band {band_class}">{esc(band)} risk</span></div>
</div>
<p class="assumption">{esc(patient["assumption"])}</p>
{risk_bar_svg(patient)}
<details><summary>Why these bands</summary><p class="small">{esc(patient["rationale"])}</p></details>
{_ood_html(patient)}
<h3>Risk over time</h3>
{_over_time_html(patient)}
<h3>Mechanism groups</h3>
{group_chart_svg(float(patient["baseline_risk"]), patient["group_contributions"])}
<h3>Main drivers</h3>
{_drivers_html(patient["drivers"])}
<h3>Kind of relapse to expect</h3>
{phenotype_html(patient)}
<h3>Missing and imputed values</h3>
{_missing_html(patient["missing_values"])}
</section>"""


def _model_html(model: dict[str, object]) -> str:
    metrics = "".join(
        "<tr><td>{}</td><td>{} ({} to {})</td></tr>".format(
            esc(name), esc(_num(m["value"])), esc(_num(m["ci_low"])), esc(_num(m["ci_high"]))
        )
        for name, m in model["test_metrics"].items()
    )
    rows = [
        ("model", f"{model['name']} version {model['version'] or 'unregistered'}"),
        ("trained", model["trained_at"]),
        ("family / calibration", f"{model['family']} / {model['calibration_method']}"),
        ("task", f"landmark day {model['landmark_day']}, relapse by day {model['horizon_days']}"),
        ("trained landmarks", ", ".join(f"day {d}" for d in model.get("landmarks_days", []))),
        (
            "data contract / package",
            f"schema v{model['schema_version']} / relapse-ml {model['package_version']}",
        ),
        ("source", model["uri"]),
    ]
    table = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return (
        f'<section class="card"><h3>Model</h3><table>{table}</table>'
        f'<p class="small">Held-out test performance (95% CI):</p><table>{metrics}</table></section>'
    )


def render_html(content: dict[str, object]) -> str:
    """Render :func:`relapse_ml.report.content.report_content` output as one HTML page."""
    model = content["model"]
    methods = content["methods"]
    use = (
        f'<section class="card"><h3>Intended use</h3><p>{esc(content["intended_use"])}</p>'
        "<h3>Limitations</h3><ul>"
        + "".join(f"<li>{esc(x)}</li>" for x in content["limitations"])
        + "</ul></section>"
    )
    method_html = (
        '<section class="card"><h3>Methods</h3>'
        f"<p><strong>Explanations.</strong> {esc(methods['explanation'])}</p>"
        f"<p><strong>Uncertainty interval.</strong> {esc(methods['uncertainty_interval'])}</p>"
        f"<p><strong>Out-of-distribution check.</strong> {esc(methods['out_of_distribution'])}</p>"
        f"<p><strong>Risk over time.</strong> {esc(methods.get('risk_over_time', ''))}</p>"
        f"<p><strong>Kind of relapse.</strong> {esc(methods.get('kind_of_relapse', ''))}</p>"
        "</section>"
    )
    page = Template(_template("report.html"))
    return page.substitute(
        title=esc("Relapse risk after CAR T-cell therapy"),
        subtitle=esc(
            f"Probability of relapse by day {model['horizon_days']} given the data known at day "
            f"{model['landmark_day']} · generated {content['generated_at']}"
        ),
        css=_template("report.css"),
        patients="".join(_patient_html(p) for p in content["patients"]),
        model=_model_html(model),
        use=use,
        methods=method_html,
    )
