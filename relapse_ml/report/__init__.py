"""The clinician report: content as plain data (JSON) and one self-contained HTML page."""

from relapse_ml.report.content import (
    CURVE_METHOD,
    LIMITATIONS,
    OOD_METHOD,
    intended_use,
    report_content,
)
from relapse_ml.report.html import (
    esc,
    group_chart_svg,
    incidence_chart_svg,
    render_html,
    risk_bar_svg,
    trajectory_table_html,
)
from relapse_ml.report.trajectory import (
    LANDMARK_FINDINGS,
    landmark_assumption,
    landmark_findings,
    what_changed,
)

__all__ = [
    "CURVE_METHOD",
    "LANDMARK_FINDINGS",
    "LIMITATIONS",
    "OOD_METHOD",
    "esc",
    "group_chart_svg",
    "incidence_chart_svg",
    "intended_use",
    "landmark_assumption",
    "landmark_findings",
    "render_html",
    "report_content",
    "risk_bar_svg",
    "trajectory_table_html",
    "what_changed",
]
