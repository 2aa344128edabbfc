"""The clinician report: content as plain data (JSON) and one self-contained HTML page."""

from relapse_ml.report.content import LIMITATIONS, OOD_METHOD, intended_use, report_content
from relapse_ml.report.html import esc, group_chart_svg, render_html, risk_bar_svg

__all__ = [
    "LIMITATIONS",
    "OOD_METHOD",
    "esc",
    "group_chart_svg",
    "intended_use",
    "render_html",
    "report_content",
    "risk_bar_svg",
]
