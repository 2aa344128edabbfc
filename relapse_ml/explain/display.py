"""How feature values read to a clinician: labels, units, numbers, points."""

from __future__ import annotations

import math
import re

from relapse_ml.features import FeatureSpec

_LOG_UNIT = re.compile(r"log10\(1 \+ (?P<unit>.+)\)")
_LOG_LABEL = re.compile(r",? log10 scale$")
# Units that read better in front of the number ("day 9", "grade 2").
_PREFIX_UNITS = {"day", "grade"}
_NO_UNIT = {"", "ratio"}


def format_value(value: float) -> str:
    """A number as a clinician reads it: ``24,000``, ``12.5``, ``0.034``."""
    if value is None or not math.isfinite(value):
        return "n/a"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    if value == 0:
        return "0"
    return f"{value:.3g}"


def format_points(contribution: float) -> str:
    """A probability contribution as signed percentage points (``+9.1 points``)."""
    points = 100.0 * contribution
    if abs(points) < 0.05:
        return f"{'+' if points >= 0 else '-'}<0.1 points"
    return f"{points:+.1f} points"


def is_log_feature(spec: FeatureSpec) -> bool:
    """True when the feature holds ``log10(1 + x)`` of a measured quantity."""
    return bool(_LOG_UNIT.fullmatch(spec.unit))


def display_unit(spec: FeatureSpec) -> str:
    """The unit shown to a clinician (the measured unit for log-scale features)."""
    match = _LOG_UNIT.fullmatch(spec.unit)
    return match.group("unit") if match else spec.unit


def display_label(spec: FeatureSpec) -> str:
    """The catalogue label without a trailing ", log10 scale" or " (unit)"."""
    label = _LOG_LABEL.sub("", spec.label)
    unit = display_unit(spec)
    if unit and label.endswith(f" ({unit})"):
        label = label[: -len(unit) - 3]
    return label


def natural_value(spec: FeatureSpec, value):
    """The value (float or array) on the measured scale (``10**v - 1`` for log-scale features)."""
    # NaN stays NaN through the power, so arrays need no special case.
    return 10.0**value - 1.0 if is_log_feature(spec) else value


def with_unit(spec: FeatureSpec, value: float) -> str:
    """``1,200 copies/ug``, ``45%``, ``day 9``, ``grade 2``, ``1.3`` (ratio)."""
    text = format_value(natural_value(spec, value))
    unit = display_unit(spec)
    if unit in _NO_UNIT:
        return text
    if unit == "%":
        return f"{text}%"
    if unit in _PREFIX_UNITS:
        return f"{unit} {text}"
    return f"{text} {unit}"


def display_value(spec: FeatureSpec, value: float) -> tuple[str, str]:
    """``(number, " unit")`` on the measured scale, for "from-to unit" phrases."""
    text = format_value(natural_value(spec, value))
    unit = display_unit(spec)
    if unit in _NO_UNIT:
        return text, ""
    return text, unit if unit == "%" else f" {unit}"
