"""Inline SVG charts of the clinician report: risk bar, mechanism groups, cumulative incidence.

Every text drawn passes through :func:`esc`; no external resources.
"""

from __future__ import annotations

import html
import math

from relapse_ml.explain.display import format_points

_UP, _DOWN, _AXIS = "#c0392b", "#1f6fb2", "#5b6b7b"
_RELAPSE, _DEATH = "#b03a2e", "#97a3af"


def esc(value: object) -> str:
    """Escape any value for HTML text and attribute context."""
    return html.escape(str(value), quote=True)


def pct(p: float) -> str:
    """A probability as a percentage (no decimals from 9.5% up, one below)."""
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
        f"baseline {esc(pct(baseline))}: left lowers, right raises the risk</text>"
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
            f'<text x="{x(threshold):.1f}" y="{top + 32}" font-size="10" text-anchor="middle" fill="{_AXIS}">{esc(pct(threshold))}</text>'
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
        title = f"by day {point['horizon_days']}: relapse {pct(relapse)}" + (
            f", death without relapse {pct(float(death))}" if death is not None else ""
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
            f'<text x="{cx:.1f}" y="{y(stack) - 20:.1f}" font-size="12" font-weight="700" text-anchor="middle" fill="{_RELAPSE}">{esc(pct(relapse))}</text>'
        )
        if death is not None:
            parts.append(
                f'<text x="{cx:.1f}" y="{y(stack) - 6:.1f}" font-size="11" text-anchor="middle" fill="{_AXIS}">{esc(f"+{pct(float(death))}{death_word}")}</text>'
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
