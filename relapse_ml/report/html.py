"""Render the clinician report as ONE self-contained HTML page.

No external resources: the CSS is inlined from the package template, charts are
inline SVG, and a Content-Security-Policy forbids scripts and remote loads.
Every string that comes from data or from the model passes through
:func:`html.escape` (``esc`` below), including numbers formatted as text.
"""

from __future__ import annotations

import html
import math
from importlib import resources
from string import Template

from relapse_ml.explain.display import format_points

_BAND_CLASSES = {"low", "intermediate", "high"}
_UP, _DOWN, _AXIS = "#c0392b", "#1f6fb2", "#5b6b7b"
_RELAPSE, _DEATH = "#b03a2e", "#97a3af"


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


def _scale_top(largest: float) -> tuple[float, float]:
    """A round top of the y axis above ``largest`` and its tick step (at most 5 ticks)."""
    for step in (0.02, 0.05, 0.1, 0.2, 0.25):
        if largest <= 5 * step:
            break
    return min(1.0, max(step, math.ceil(largest / step - 1e-9) * step)), step


def incidence_chart_svg(curve: list[dict[str, object]], landmark_day: int, width: int = 460) -> str:
    """Stacked bars of the cumulative incidence of relapse and of death without relapse.

    Parameters
    ----------
    curve : list of dict
        The report's ``curve`` of one patient (``horizon_days``, ``relapse``, ``death``,
        ``primary``); horizons without a relapse incidence are left out.
    landmark_day : int
        The landmark day the incidences start from (named on the x axis).
    width : int
        Width in pixels.

    Returns
    -------
    str
        Inline SVG (class ``incidence-chart``), or "" when no horizon has a relapse
        incidence.
    """
    points = [c for c in curve if c.get("relapse") is not None]
    if not points:
        return ""
    death_known = any(c.get("death") is not None for c in points)
    totals = [float(c["relapse"]) + float(c.get("death") or 0.0) for c in points]
    y_top, step = _scale_top(max([*totals, 0.01]))
    left, right, top, plot_h = 64, width - 16, 44, 170
    bottom = top + plot_h
    height = bottom + 84
    slot = (right - left) / len(points)
    bar_w = min(56.0, 0.5 * slot)
    death_word = " death" if slot >= 90 else ""  # room for the word under each bar's value

    def y(p: float) -> float:
        return bottom - plot_h * min(p, y_top) / y_top

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="incidence-chart" width="{width}" '
        f'height="{height}" role="img" aria-label="{esc("Cumulative incidence of relapse and of death without relapse by day after infusion")}">'
    ]
    for k in range(round(y_top / step) + 1):
        tick = k * step
        parts.append(
            f'<line x1="{left}" y1="{y(tick):.1f}" x2="{right}" y2="{y(tick):.1f}" stroke="#e3e8ee"/>'
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" font-size="11" text-anchor="end" fill="{_AXIS}">{esc(f"{100 * tick:.0f}%")}</text>'
        )
    for k, point in enumerate(points):
        cx = left + slot * (k + 0.5)
        relapse, death = float(point["relapse"]), point.get("death")
        stack = relapse + float(death or 0.0)
        x0 = cx - bar_w / 2
        title = f"by day {point['horizon_days']}: relapse {_pct(relapse)}" + (
            f", death without relapse {_pct(float(death))}" if death is not None else ""
        )
        if point.get("primary"):
            parts.append(
                f'<rect class="primary-horizon" x="{cx - slot / 2 + 4:.1f}" y="{top - 40}" width="{slot - 8:.1f}" '
                f'height="{plot_h + 40}" fill="none" stroke="{_AXIS}" stroke-dasharray="4,3"/>'
            )
        parts.append(f"<g><title>{esc(title)}</title>")
        parts.append(
            f'<rect class="relapse" x="{x0:.1f}" y="{y(relapse):.1f}" width="{bar_w:.1f}" '
            f'height="{max(bottom - y(relapse), 1):.1f}" fill="{_RELAPSE}"/>'
        )
        if death is not None:
            parts.append(
                f'<rect class="death" x="{x0:.1f}" y="{y(stack):.1f}" width="{bar_w:.1f}" '
                f'height="{max(y(relapse) - y(stack), 1):.1f}" fill="{_DEATH}"/>'
            )
        parts.append("</g>")
        parts.append(
            f'<text x="{cx:.1f}" y="{y(stack) - 20:.1f}" font-size="12" font-weight="700" text-anchor="middle" fill="{_RELAPSE}">{esc(_pct(relapse))}</text>'
        )
        if death is not None:
            parts.append(
                f'<text x="{cx:.1f}" y="{y(stack) - 6:.1f}" font-size="11" text-anchor="middle" fill="{_AXIS}">{esc(f"+{_pct(float(death))}{death_word}")}</text>'
            )
        weight = ' font-weight="700"' if point.get("primary") else ""
        day = f"day {point['horizon_days']}"
        parts.append(
            f'<text x="{cx:.1f}" y="{bottom + 16}" font-size="12" text-anchor="middle"{weight}>{esc(day)}</text>'
        )
        if point.get("primary"):
            parts.append(
                f'<text x="{cx:.1f}" y="{bottom + 30}" font-size="10" text-anchor="middle" fill="{_AXIS}">primary horizon</text>'
            )
    parts.append(
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="{_AXIS}"/>'
        f'<text x="{(left + right) / 2:.1f}" y="{bottom + 48}" font-size="11" text-anchor="middle" fill="{_AXIS}">'
        f"{esc(f'horizon, days after infusion (relapse-free at day {landmark_day})')}</text>"
        f'<text transform="rotate(-90)" x="{-(top + plot_h / 2):.1f}" y="16" font-size="11" text-anchor="middle" fill="{_AXIS}">cumulative incidence</text>'
    )
    legend_y = bottom + 66
    death_label = "death without relapse" if death_known else "death without relapse: not known"
    parts.append(
        f'<rect x="{left}" y="{legend_y}" width="12" height="12" fill="{_RELAPSE}"/>'
        f'<text x="{left + 17}" y="{legend_y + 10}" font-size="11">relapse or progression</text>'
        f'<rect x="{left + 170}" y="{legend_y}" width="12" height="12" fill="{_DEATH if death_known else "none"}" stroke="{_DEATH}"/>'
        f'<text x="{left + 187}" y="{legend_y + 10}" font-size="11">{esc(death_label)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def trajectory_table_html(trajectory: list[dict[str, object]]) -> str:
    """The risk at each trained landmark up to the report's, with what changed, as a table."""
    horizons = {int(t["horizon_days"]) for t in trajectory}
    head = f"risk by day {horizons.pop()}" if len(horizons) == 1 else "risk"
    rows = []
    for t in trajectory:
        band = str(t["risk_band"])
        band_class = f"band-{band}" if band in _BAND_CLASSES else "band-other"
        risk = _pct(float(t["risk"]))
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
        f"Of the {_pct(float(patient['risk']))} risk of relapse by day {block['horizon_days']}: "
        f"{_pct(negative)} antigen-negative and {_pct(positive)} antigen-positive."
    )
    basis = (
        f"Main drivers of the expected kind, in points of the antigen-negative share (baseline "
        f"{_pct(float(block['baseline_share']))}):"
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
