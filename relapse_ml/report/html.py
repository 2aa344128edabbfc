"""Render the clinician report as ONE self-contained HTML page.

No external resources: the CSS is inlined from the package template, charts are
inline SVG, and a Content-Security-Policy forbids scripts and remote loads.
Every string that comes from data or from the model passes through
:func:`html.escape` (``esc`` below), including numbers formatted as text.
"""

from __future__ import annotations

import html
from importlib import resources
from string import Template

from relapse_ml.explain.display import format_points

_BAND_CLASSES = {"low", "intermediate", "high"}
_UP, _DOWN, _AXIS = "#c0392b", "#1f6fb2", "#5b6b7b"


def esc(value: object) -> str:
    """Escape any value for HTML text and attribute context."""
    return html.escape(str(value), quote=True)


def _template(name: str) -> str:
    return (
        resources.files("relapse_ml.report").joinpath("templates", name).read_text(encoding="utf-8")
    )


def _pct(p: float) -> str:
    return f"{100 * p:.0f}%" if 100 * p >= 9.5 else f"{100 * p:.1f}%"


def group_chart_svg(baseline: float, groups: list[dict[str, object]], width: int = 640) -> str:
    """Diverging horizontal bars of the group contributions (percentage points), as inline SVG."""
    # Room for the value text on both sides of the bars, so nothing is clipped.
    row_h, label_w, pad, value_w = 30, 260, 12, 92
    height = row_h * len(groups) + 44
    largest = max([abs(float(g["contribution"])) for g in groups] + [0.01])
    half = (width - label_w - 2 * pad - 2 * value_w) / 2
    zero = label_w + pad + value_w + half
    scale = half / largest
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="Contribution of each mechanism group to the risk">',
        f'<line x1="{zero:.1f}" y1="6" x2="{zero:.1f}" y2="{height - 30}" stroke="{_AXIS}" stroke-width="1"/>',
    ]
    for k, group in enumerate(groups):
        c = float(group["contribution"])
        y = 10 + k * row_h
        w = abs(c) * scale
        x = zero if c >= 0 else zero - w
        colour = _UP if c >= 0 else _DOWN
        parts.append(
            f'<text x="{label_w}" y="{y + 15}" font-size="12" text-anchor="end">{esc(group["label"])}</text>'
        )
        parts.append(
            f'<rect x="{x:.1f}" y="{y + 2}" width="{max(w, 1):.1f}" height="18" fill="{colour}" rx="2"/>'
        )
        tx = x + w + 4 if c >= 0 else x - 4
        anchor = "start" if c >= 0 else "end"
        parts.append(
            f'<text x="{tx:.1f}" y="{y + 15}" font-size="11" text-anchor="{anchor}">{esc(format_points(c))}</text>'
        )
    parts.append(
        f'<text x="{zero:.1f}" y="{height - 10}" font-size="11" text-anchor="middle" fill="{_AXIS}">'
        f"baseline {esc(_pct(baseline))}: left lowers, right raises the risk</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def risk_bar_svg(patient: dict[str, object], width: int = 640) -> str:
    """The risk on a 0-100% bar with band thresholds and the uncertainty interval."""
    left, right, top = 20, width - 20, 18
    span = right - left

    def x(p: float) -> float:
        return left + span * min(max(p, 0.0), 1.0)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="64" role="img" aria-label="Risk on a 0 to 100% scale">',
        f'<rect x="{left}" y="{top}" width="{span}" height="14" fill="#e3e8ee" rx="3"/>',
    ]
    for threshold in patient["thresholds"]:
        parts.append(
            f'<line x1="{x(threshold):.1f}" y1="{top - 4}" x2="{x(threshold):.1f}" y2="{top + 18}" stroke="{_AXIS}" stroke-dasharray="3,2"/>'
        )
        parts.append(
            f'<text x="{x(threshold):.1f}" y="{top + 32}" font-size="10" text-anchor="middle" fill="{_AXIS}">{esc(_pct(threshold))}</text>'
        )
    interval = patient.get("risk_interval")
    if interval:
        parts.append(
            f'<rect x="{x(interval[0]):.1f}" y="{top + 3}" width="{max(x(interval[1]) - x(interval[0]), 1):.1f}" height="8" fill="#8aa4c8"/>'
        )
    parts.append(f'<circle cx="{x(patient["risk"]):.1f}" cy="{top + 7}" r="7" fill="#1d2733"/>')
    parts.append(f'<text x="{left}" y="{top + 44}" font-size="10" fill="{_AXIS}">0%</text>')
    parts.append(
        f'<text x="{right}" y="{top + 44}" font-size="10" text-anchor="end" fill="{_AXIS}">100%</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _drivers_html(drivers: list[dict[str, object]]) -> str:
    if not drivers:
        return "<p>No feature moved this patient's risk away from the baseline.</p>"
    items = []
    for d in drivers:
        cls = "up" if float(d["contribution"]) > 0 else "down"
        sentence = str(d["sentence"])
        head, sep, points = sentence.rpartition(": ")
        body = (
            f'{esc(head)}{esc(sep)}<span class="{cls}">{esc(points)}</span>'
            if sep
            else esc(sentence)
        )
        items.append(f'<li>{body} <span class="small">({esc(d["group"])})</span></li>')
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


def _patient_html(patient: dict[str, object]) -> str:
    band = str(patient["band"])
    band_class = f"band-{band}" if band in _BAND_CLASSES else "band-other"
    interval = patient.get("risk_interval")
    interval_text = (
        f"uncertainty interval {esc(_pct(interval[0]))} to {esc(_pct(interval[1]))}"
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
<div><div class="risk">{esc(_pct(float(patient["risk"])))}</div><div class="interval">{interval_text}</div></div>
<div><span class="band {band_class}">{esc(band)} risk</span></div>
</div>
{risk_bar_svg(patient)}
<details><summary>Why these bands</summary><p class="small">{esc(patient["rationale"])}</p></details>
{_ood_html(patient)}
<h3>Mechanism groups</h3>
{group_chart_svg(float(patient["baseline_risk"]), patient["group_contributions"])}
<h3>Main drivers</h3>
{_drivers_html(patient["drivers"])}
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
        f"<p><strong>Out-of-distribution check.</strong> {esc(methods['out_of_distribution'])}</p></section>"
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
